// A client a TypeScript user would write against the types openapi-typescript
// generates from openapi.yaml (schema.d.ts, written by the test beside this
// file). It is only type-checked, with tsc --strict: every line below that
// reads a field must compile without a cast.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type SignInResponse = components["schemas"]["SignInResponse"];
type ErrorCode = components["schemas"]["ErrorBody"]["code"];

// The two answers of a sign-in step are told apart by mfaRequired alone.
export function describeSignIn(r: SignInResponse): string {
  if ("mfaRequired" in r) {
    const second: true = r.mfaRequired;
    const token: string = r.mfaToken;
    const methods: ("totp" | "recovery_code" | "webauthn")[] = r.methods;
    const until: string = r.expiresAt;
    return `second step (${second}) with ${methods.join(", ")} until ${until}: ${token.length}`;
  }
  const id: string = r.user.id;
  const aal: number = r.session.aal;
  return `signed in ${id} at aal ${aal}`;
}

// Error codes are a closed list a switch can branch on.
export function advice(code: ErrorCode): string {
  switch (code) {
    case "invalid_credentials":
      return "check the email and password";
    case "rate_limited":
      return "wait for Retry-After";
    case "validation_failed":
      return "see fields";
    case "mfa_required":
    case "invalid_mfa_token":
      return "sign in again";
    default:
      return code;
  }
}

// @ts-expect-error: a code that is not in the catalogue is not an ErrorCode.
export const notACode: ErrorCode = "no_such_code";

const client = createClient<paths>({ baseUrl: "http://127.0.0.1:8080" });

export async function signIn(email: string, password: string): Promise<string> {
  const { data, error } = await client.POST("/auth/login", { body: { email, password, rememberMe: true } });
  if (error) {
    const requestId: string = error.error.requestId;
    return `${advice(error.error.code)} (request ${requestId})`;
  }
  if ("mfaRequired" in data) {
    const second = await client.POST("/auth/mfa/verify", { body: { mfaToken: data.mfaToken, code: "123456" } });
    if (second.error) {
      return advice(second.error.error.code);
    }
    return `signed in ${second.data.user.email}`;
  }
  return describeSignIn(data);
}

// @ts-expect-error: a login body takes no field the schema does not list.
export const mistyped: paths["/auth/login"]["post"]["requestBody"]["content"]["application/json"] = { email: "a@b.c", password: "x", rememberme: true };

// Sign-in with a mailed code answers the same union.
export async function signInWithCode(email: string, code: string): Promise<string> {
  const { data, error } = await client.POST("/auth/sign-in/email/verify", { body: { email, code } });
  if (error) {
    return advice(error.error.code);
  }
  return describeSignIn(data);
}
