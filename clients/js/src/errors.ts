import type { components } from "./openapi.js";

type ErrorBody = components["schemas"]["ErrorBody"];

/**
 * Every failure the client reports: Portcullis's error envelope, with the
 * HTTP status and, for 429 and 503, how many seconds to wait (Retry-After).
 * A request that never got an answer has status 0 and code "network_error".
 */
export class PortcullisError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Record<string, string[]>;
  readonly requestId: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    fields?: Record<string, string[]>;
    requestId?: string;
    retryAfter?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "PortcullisError";
    this.status = init.status;
    this.code = init.code;
    this.fields = init.fields ?? {};
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
  }

  /** Reads the error envelope of a failed response (its body is consumed). */
  static async from(res: Response): Promise<PortcullisError> {
    let body: { error?: Partial<ErrorBody>; error_description?: string } | undefined;
    try {
      body = (await res.json()) as typeof body;
    } catch {
      body = undefined;
    }
    const e = body?.error;
    const retry = res.headers.get("Retry-After");
    const retryAfter = retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined;
    if (e && typeof e === "object") {
      return new PortcullisError({
        status: res.status,
        code: e.code ?? "unknown",
        message: e.message ?? `request failed (${res.status})`,
        fields: e.fields,
        requestId: e.requestId ?? res.headers.get("X-Request-ID") ?? undefined,
        retryAfter,
      });
    }
    // The OAuth endpoints answer {error: "invalid_grant", error_description}.
    return new PortcullisError({
      status: res.status,
      code: typeof body?.error === "string" ? body.error : "unknown",
      message: body?.error_description ?? `request failed (${res.status})`,
      requestId: res.headers.get("X-Request-ID") ?? undefined,
      retryAfter,
    });
  }
}

/** Reads the error code of a response without consuming it. */
export async function errorCode(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as { error?: { code?: string } };
    return body?.error?.code;
  } catch {
    return undefined;
  }
}
