import path from "node:path";
import type { NextConfig } from "next";

// Portcullis's URL as the Next.js server reaches it. Rewrites are fixed at
// build time: build with the PORTCULLIS_URL the server will use.
const portcullis = process.env.PORTCULLIS_URL ?? "http://localhost:8080";

const config: NextConfig = {
  // The browser talks to /auth/* on this origin, so Portcullis's cookies are
  // first-party; Next.js passes the requests on (start Portcullis with
  // AUTH_TRUSTED_PROXIES naming this server, so its limits see the browser's
  // address, and AUTH_APP_URL naming this origin, so mailed links land here).
  async rewrites() {
    return [{ source: "/auth/:path*", destination: `${portcullis}/auth/:path*` }];
  },
  // @portcullis/client is linked from clients/js in this repository.
  turbopack: { root: path.join(import.meta.dirname, "../..") },
  outputFileTracingRoot: path.join(import.meta.dirname, "../.."),
};

export default config;
