import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { getSession } from "@portcullis/client/server";
import { signOutAction } from "./actions";
import { Passkeys } from "./passkeys";
import { DeleteAccount } from "./delete-account";

// The secure check: ask Portcullis on every render, with the browser's cookies.
export const dynamic = "force-dynamic";

export default async function Dashboard() {
  const session = await getSession((await headers()).get("cookie"), { baseUrl: process.env.PORTCULLIS_URL });
  if (!session) redirect("/login?next=/dashboard");
  const { user } = session;
  return (
    <>
      <h1 id="greeting">Hello, {user.name}</h1>
      <p>
        Signed in as <strong id="email">{user.email}</strong> ({user.role}
        {user.emailVerified ? ", verified" : ""}). This page was rendered on the server at{" "}
        {new Date().toISOString().slice(11, 19)} UTC.
      </p>
      <Passkeys />
      <form action={signOutAction}>
        <button type="submit" id="sign-out">Sign out</button>
      </form>
      <DeleteAccount />
    </>
  );
}
