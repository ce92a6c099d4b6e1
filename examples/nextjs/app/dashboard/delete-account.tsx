"use client";
import { useState, type FormEvent } from "react";
import { client, message } from "../../lib/portcullis";
import { useHydrated } from "../../lib/hydrated";

// "Delete my account", with step-up: the password proves the user again
// (reauthenticate; a user with a second factor would use a code or a
// passkey), then DELETE /auth/me ends every session, clears the cookies and
// deletes the account. The browser then goes to /login.
export function DeleteAccount() {
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  // Until hydrated, typing would go to the input but not to `password`,
  // and a submit would be the browser's own (a GET of this page).
  const hydrated = useHydrated();

  async function remove(e: FormEvent) {
    e.preventDefault();
    setError("");
    try {
      await client.reauthenticate({ password });
      await client.deleteAccount();
      window.location.assign("/login");
    } catch (err) {
      setError(message(err));
    }
  }

  return (
    <section>
      <h2>Delete my account</h2>
      <form onSubmit={remove}>
        <label>
          Password <input type="password" id="delete-password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required disabled={!hydrated} />
        </label>
        <button type="submit" id="delete-account" disabled={!hydrated}>Delete my account</button>
      </form>
      {error && <p className="error" id="delete-error">{error}</p>}
    </section>
  );
}
