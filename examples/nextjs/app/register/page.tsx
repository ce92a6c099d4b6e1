"use client";
import Link from "next/link";
import { useState } from "react";
import { client, message } from "../../lib/portcullis";

export default function RegisterPage() {
  const [error, setError] = useState("");
  const [sent, setSent] = useState(false);
  async function submit(form: FormData) {
    setError("");
    try {
      const r = await client.signUp({
        name: String(form.get("name")),
        email: String(form.get("email")),
        password: String(form.get("password")),
      });
      if ("status" in r) setSent(true);
      else window.location.assign("/dashboard");
    } catch (err) {
      setError(message(err));
    }
  }
  if (sent) return <p>Check your inbox: confirm your address, then sign in.</p>;
  return (
    <>
      <h1>Create an account</h1>
      <form action={submit}>
        <input name="name" id="name" placeholder="Name" autoComplete="name" required />
        <input name="email" id="email" type="email" placeholder="Email" autoComplete="username" required />
        <input name="password" id="password" type="password" placeholder="Password (15 characters or more)" autoComplete="new-password" required />
        <button type="submit" id="register-submit">Create account</button>
        {error && <p className="error">{error}</p>}
      </form>
      <p className="muted">
        Have an account? <Link href="/login">Sign in</Link>
      </p>
    </>
  );
}
