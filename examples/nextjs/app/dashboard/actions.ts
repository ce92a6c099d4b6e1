"use server";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { signOut } from "@portcullis/client/server";

// Signs out on the server: Portcullis ends the session and says which
// cookies to clear; they are cleared on the response to the browser.
export async function signOutAction() {
  const cleared = await signOut((await headers()).get("cookie"), { baseUrl: process.env.PORTCULLIS_URL });
  const jar = await cookies();
  for (const c of cleared) {
    jar.set(c.name, c.value, {
      path: c.path,
      domain: c.domain,
      maxAge: c.maxAge ?? 0,
      httpOnly: c.httpOnly,
      secure: c.secure,
      sameSite: c.sameSite,
    });
  }
  redirect("/login");
}
