"use client";
import { Suspense } from "react";
import { client } from "../../lib/portcullis";
import { TokenPage } from "../token-page";

export default function ConfirmEmailChange() {
  return (
    <Suspense>
      <TokenPage title="Confirm your new email address" button="Confirm" done="Your email address is changed."
        spend={(token) => client.confirmEmailChange(token)} />
    </Suspense>
  );
}
