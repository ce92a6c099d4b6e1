import { NextResponse, type NextRequest } from "next/server";

// The optimistic check: no access cookie, no dashboard. (The dashboard itself
// asks Portcullis: that is the secure check.) The access cookie expires with
// its token; /login then tries a refresh before it shows the form.
const accessCookies = ["__Host-session", "__Secure-session", "session"];

export function proxy(req: NextRequest) {
  if (accessCookies.some((name) => req.cookies.has(name))) return NextResponse.next();
  const login = new URL("/login", req.url);
  login.searchParams.set("next", req.nextUrl.pathname + req.nextUrl.search);
  return NextResponse.redirect(login);
}

export const config = { matcher: ["/dashboard/:path*"] };
