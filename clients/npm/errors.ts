// The closed set of ways an npm registry call can fail, as the callers must tell them apart: whether
// to retry, to wait, to ask a person for a one-time password, or to record a definite "no".
export type RegistryErrorCode =
  /** 401/403 that does not ask for an OTP: the token is missing, wrong or lacks the rights. */
  | 'AUTH'
  /** The registry wants a one-time password (EOTP, or 401/403 with `www-authenticate: OTP`). */
  | 'OTP_REQUIRED'
  | 'NOT_FOUND'
  /** 429: `retryAfterMs` says when, if the registry said. */
  | 'RATE_LIMITED'
  /** Any other 4xx (validation, "unpublish not allowed") or input refused before sending. */
  | 'REJECTED'
  /** 5xx, timeouts, network errors, an answer that is not what the API returns. */
  | 'UNAVAILABLE'
  /** 409: the registry's state moved under us. */
  | 'CONFLICT';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';

  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** Whether the same call may succeed later without anyone changing anything. */
  get retryable(): boolean {
    return this.code === 'RATE_LIMITED' || this.code === 'UNAVAILABLE';
  }
}

interface HttpErrorShape {
  statusCode?: number;
  code?: string;
  headers?: unknown;
  body?: unknown;
  message?: string;
}

/**
 * A response header from an npm-registry-fetch error: it carries `res.headers.raw()` (arrays of
 * strings by lower-case name), or a Headers object from other fetch layers.
 */
export function errorHeader(err: HttpErrorShape, name: string): string | undefined {
  const headers = err.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' ? value : undefined;
}

export function asksForOtp(err: HttpErrorShape): boolean {
  if (err.code === 'EOTP') return true;
  if (err.statusCode !== 401 && err.statusCode !== 403) return false;
  const authenticate = errorHeader(err, 'www-authenticate') ?? '';
  if (authenticate.split(/,\s*/).some((part) => part.trim().toLowerCase() === 'otp')) return true;
  // Only the registry's own words: the message names URLs and packages, and "otp" is a package name.
  const words = [errorHeader(err, 'npm-notice') ?? '', typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '')].join(' ');
  return /one-time pass|two-factor|\b2fa\b/i.test(words);
}

/** `retry-after` as delta-seconds or an HTTP date, in milliseconds from now. */
export function retryAfterMs(raw: string | undefined, now = Date.now()): number | undefined {
  if (!raw) return undefined;
  const trimmed = raw.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function codeFor(err: HttpErrorShape): RegistryErrorCode {
  const status = err.statusCode;
  if (asksForOtp(err)) return 'OTP_REQUIRED';
  if (status === 401 || status === 403) return 'AUTH';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 429) return 'RATE_LIMITED';
  if (status !== undefined && status >= 400 && status < 500 && status !== 408) return 'REJECTED';
  return 'UNAVAILABLE';
}

/** Removes every secret from a text that may reach a log, a timeline or a terminal. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let clean = text;
  for (const secret of secrets) if (secret) clean = clean.split(secret).join('***');
  return clean;
}

/** Maps whatever npm-registry-fetch threw to a RegistryError whose message holds no secret. */
export function toRegistryError(err: unknown, action: string, secrets: readonly (string | undefined)[]): RegistryError {
  if (err instanceof RegistryError) return err;
  const http = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as HttpErrorShape;
  const status = http.statusCode;
  const said = http.message ?? String(err);
  const withStatus = status !== undefined && !said.startsWith(String(status)) ? `HTTP ${status}: ${said}` : said;
  const code = codeFor(http);
  const wait = code === 'RATE_LIMITED' ? retryAfterMs(errorHeader(http, 'retry-after')) : undefined;
  return new RegistryError(code, redact(`${action}: ${withStatus}`, secrets), status, wait);
}
