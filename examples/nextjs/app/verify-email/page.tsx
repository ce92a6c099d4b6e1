"use client";
import { Suspense } from "react";
import { client } from "../../lib/portcullis";
import { TokenPage } from "../token-page";

export default function VerifyEmail() {
  return (
    <Suspense>
      <TokenPage title="Confirm your email address" button="Confirm" done="Your email address is confirmed."
        spend={(token) => client.verifyEmail(token)} />
    </Suspense>
  );
}
