import type { ReactNode } from "react";
import "./style.css";

export const metadata = { title: "Portcullis + Next.js" };

// No next/font: nothing is fetched from the network at build time.
export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <main>{children}</main>
      </body>
    </html>
  );
}
