// WebAuthn speaks ArrayBuffers, Portcullis base64url strings: the only place
// that converts, for both ceremonies.

/** What Portcullis's options endpoints answer: a flowId and {publicKey: …} in JSON. */
export interface CeremonyOptions {
  flowId: string;
  options: { publicKey: Record<string, unknown> };
}

export function toBuffer(s: string): ArrayBuffer {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer;
}

export function fromBuffer(b: ArrayBuffer | ArrayBufferView): string {
  const bytes = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  let s = "";
  for (const x of bytes) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

type Descriptor = { id: string } & Record<string, unknown>;

/** Portcullis's options → what navigator.credentials.create and .get take. */
export function toBrowser({ publicKey }: CeremonyOptions["options"]): { publicKey: Record<string, unknown> } {
  const pk: Record<string, unknown> = { ...publicKey, challenge: toBuffer(publicKey.challenge as string) };
  const user = publicKey.user as { id: string } | undefined;
  if (user) pk.user = { ...user, id: toBuffer(user.id) };
  for (const list of ["excludeCredentials", "allowCredentials"]) {
    const ds = publicKey[list] as Descriptor[] | undefined;
    if (ds) pk[list] = ds.map((d) => ({ ...d, id: toBuffer(d.id) }));
  }
  return { publicKey: pk };
}

interface BrowserCredential {
  id: string;
  rawId: ArrayBuffer;
  type: string;
  authenticatorAttachment?: string | null;
  getClientExtensionResults?: () => unknown;
  response: {
    clientDataJSON: ArrayBuffer;
    attestationObject?: ArrayBuffer;
    getTransports?: () => string[];
    authenticatorData?: ArrayBuffer;
    signature?: ArrayBuffer;
    userHandle?: ArrayBuffer | null;
  };
}

/** The browser's PublicKeyCredential → the JSON Portcullis takes (registration and assertion alike). */
export function fromBrowser(credential: Credential): Record<string, unknown> {
  const cred = credential as unknown as BrowserCredential;
  const r = cred.response;
  const response: Record<string, unknown> = { clientDataJSON: fromBuffer(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = fromBuffer(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = fromBuffer(r.authenticatorData!);
    response.signature = fromBuffer(r.signature!);
    if (r.userHandle) response.userHandle = fromBuffer(r.userHandle);
  }
  return {
    id: cred.id,
    rawId: fromBuffer(cred.rawId),
    type: cred.type,
    ...(cred.authenticatorAttachment ? { authenticatorAttachment: cred.authenticatorAttachment } : {}),
    clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
    response,
  };
}
