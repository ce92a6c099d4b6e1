"use client";
import { useSearchParams } from "next/navigation";
import { useState } from "react";
import { message } from "../lib/portcullis";

// A page a mailed link opens: opening it spends nothing; the button does.
export function TokenPage({ title, button, done, spend }: {
  title: string;
  button: string;
  done: string;
  spend: (token: string) => Promise<unknown>;
}) {
  const token = useSearchParams().get("token") ?? "";
  const [state, setState] = useState<{ ok?: boolean; text?: string }>({});
  async function submit() {
    try {
      await spend(token);
      setState({ ok: true, text: done });
    } catch (err) {
      setState({ ok: false, text: message(err) });
    }
  }
  return (
    <>
      <h1>{title}</h1>
      {!state.ok && (
        <form action={submit}>
          <button type="submit">{button}</button>
        </form>
      )}
      {state.text && <p className={state.ok ? "" : "error"}>{state.text}</p>}
    </>
  );
}
