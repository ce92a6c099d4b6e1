"use client";
import { useEffect, useState } from "react";
import type { Passkey } from "@portcullis/client";
import { client, message } from "../../lib/portcullis";
import { useHydrated } from "../../lib/hydrated";

// The user's passkeys, and a button that adds one (navigator.credentials,
// through @portcullis/client). A first factor comes with recovery codes, shown once.
export function Passkeys() {
  const [passkeys, setPasskeys] = useState<Passkey[]>([]);
  const [codes, setCodes] = useState<string[]>([]);
  const [error, setError] = useState("");
  const hydrated = useHydrated();
  const load = () => client.listPasskeys().then(setPasskeys, (err) => setError(message(err)));
  useEffect(() => void load(), []);

  async function add() {
    setError("");
    try {
      const r = await client.registerPasskey({ name: `Passkey on ${navigator.platform}` });
      setCodes(r.recoveryCodes ?? []);
      await load();
    } catch (err) {
      setError(err instanceof DOMException ? `No passkey added (${err.name}).` : message(err));
    }
  }

  return (
    <section>
      <h2>Passkeys</h2>
      <ul id="passkeys">
        {passkeys.map((p) => (
          <li key={p.id}>
            {p.name} · added {new Date(p.createdAt).toLocaleDateString()}
          </li>
        ))}
      </ul>
      <button type="button" id="passkey-add" onClick={add} disabled={!hydrated}>
        Add a passkey
      </button>
      {codes.length > 0 && (
        <>
          <p>Recovery codes (shown once; keep them safe):</p>
          <ul id="recovery-codes">
            {codes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </>
      )}
      {error && <p className="error">{error}</p>}
    </section>
  );
}
