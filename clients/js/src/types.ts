// The client's public types, taken from the generated OpenAPI types so that a
// change in the API breaks this package's build, not its users.
import type { components, operations } from "./openapi.js";

type Schemas = components["schemas"];
type JSONBody<Op extends keyof operations> = operations[Op] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : operations[Op] extends { requestBody?: { content: { "application/json": infer B } } }
    ? B
    : never;

export type User = Schemas["User"];
export type Session = Schemas["Session"];
export type SessionInfo = Schemas["SessionInfo"];
export type Factor = Schemas["Factor"];
export type AdminUser = Schemas["AdminUser"];
export type AuditEvent = Schemas["AuditEvent"];
export type ActivityEvent = Schemas["ActivityEvent"];
export type Passkey = Schemas["Passkey"];
export type PasskeyRegistration = Schemas["PasskeyRegistration"];
export type Provider = Schemas["Provider"];
export type Identity = Schemas["Identity"];
export type WebhookDelivery = Schemas["WebhookDelivery"];
/** GET /auth/settings: what a sign-in page needs, never a secret. */
export type Settings = Schemas["SettingsResponse"];
/** GET /auth/me/export: the user's data, never a secret. */
export type AccountExport = Schemas["ExportResponse"];
/** A passkey's answer with its ceremony's flowId, as Portcullis takes it. */
export type WebAuthnProof = Schemas["WebAuthnProof"];

/** A signed-in user and their session (the cookies are set). */
export interface SignedIn {
  user: User;
  session: Session;
}

/** The second step: the password (or link, or code) was right, and the account has a second factor. */
export interface MFAChallenge {
  mfaRequired: true;
  /** Spend it with verifyMfa; it stays in this tab and is never broadcast. */
  mfaToken: string;
  methods: ("totp" | "recovery_code" | "webauthn")[];
  expiresAt: string;
}

/** What signIn and signInWithCode return; narrow with `'mfaRequired' in r`. */
export type SignInResult = SignedIn | MFAChallenge;

/** What signUp returns: signed in, or (AUTH_EMAIL_VERIFICATION=required) a link is mailed first. */
export type SignUpResult = SignedIn | { status: "accepted"; verificationRequired: true };

export type SignUpInput = JSONBody<"register">;
export type SignInInput = JSONBody<"login">;
export type VerifyMfaInput = JSONBody<"verifyMFA">;
export type UpdateUserInput = JSONBody<"updateMe">;
export type ChangePasswordInput = JSONBody<"changePassword">;
export type ResetPasswordInput = JSONBody<"resetPassword">;
export type SignInWithCodeInput = JSONBody<"signInWithEmail">;
export type ChangeEmailInput = JSONBody<"changeEmail">;
export type EnrollTotpInput = JSONBody<"enrollTOTP">;
export type ReauthenticateInput = JSONBody<"reauthenticate">;
export type UpdateAdminUserInput = JSONBody<"updateUser">;
export type CreateUserInput = JSONBody<"createUser">;

export type TotpEnrollment = Schemas["TOTPEnrollment"];
export type FactorResult = Schemas["FactorResponse"];
export type FactorsResult = Schemas["FactorsResponse"];

/**
 * Where navigator.credentials lives: the browser's by default; a test, or a
 * runtime with its own WebAuthn, may pass one (ClientOptions.credentials).
 */
export interface PasskeyCredentials {
  create(options: CredentialCreationOptions): Promise<Credential | null>;
  get(options: CredentialRequestOptions): Promise<Credential | null>;
}

/** Which sessions signOut ends: this one (default), the others, or all. */
export type SignOutScope = "local" | "others" | "global";

/** The events onAuthStateChange delivers. */
export type AuthEvent =
  | "INITIAL_SESSION"
  | "SIGNED_IN"
  | "SIGNED_OUT"
  | "TOKEN_REFRESHED"
  | "USER_UPDATED"
  | "MFA_REQUIRED"
  | "PASSWORD_RECOVERY";

/** What the client knows of the session: never a token, the cookies carry it. */
export interface AuthState {
  user: User | null;
  session: Session | null;
  /** Only with MFA_REQUIRED, only in the tab that received it. */
  mfa?: MFAChallenge;
}
