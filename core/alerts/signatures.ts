// Webhook signature checks over the RAW body, before any parsing: a body that fails here is
// answered 401 and never read. Several secrets are accepted at once so they can be rotated.
// The signers sit next to the verifiers so the two definitions cannot drift apart; the docs'
// openssl commands compute the same values.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AlertRejection } from '../alert';

const SHA256_BYTES = 32;

function hmac(key: Buffer | string, ...parts: (Buffer | string)[]): Buffer {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** Compares every candidate, so the time taken says nothing about which secret matched. */
function anyEqual(received: Buffer, expected: readonly Buffer[]): boolean {
  let matched = false;
  for (const candidate of expected) {
    if (candidate.length === received.length && timingSafeEqual(candidate, received)) matched = true;
  }
  return matched;
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
export function signGithub(rawBody: Buffer, secret: string): string {
  return `sha256=${hmac(secret, rawBody).toString('hex')}`;
}

export function verifyGithubSignature(rawBody: Buffer, header: string | undefined, secrets: readonly string[]): boolean {
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header?.trim() ?? '');
  if (!match?.[1]) return false;
  const received = Buffer.from(match[1], 'hex');
  // An empty secret is a signature anyone can compute: never a secret.
  return anyEqual(
    received,
    secrets.filter((secret) => secret !== '').map((secret) => hmac(secret, rawBody)),
  );
}

/** `whsec_<base64>`: the HMAC key is the decoded base64. A malformed secret is a configuration error. */
export function standardWebhookKey(secret: string): Buffer {
  const base64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : undefined;
  const key = base64 && /^[A-Za-z0-9+/]+={0,2}$/.test(base64) ? Buffer.from(base64, 'base64') : Buffer.alloc(0);
  if (key.length < 16) throw new TypeError('a Standard Webhooks secret is "whsec_" followed by the base64 of at least 16 bytes');
  return key;
}

export interface StandardWebhookHeaders {
  id?: string;
  timestamp?: string;
  signature?: string;
}

/** Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`. */
export function signStandardWebhook(rawBody: Buffer, id: string, timestamp: number, secret: string): string {
  return `v1,${hmac(standardWebhookKey(secret), `${id}.${timestamp}.`, rawBody).toString('base64')}`;
}

/** Throws AlertRejection(401) unless one of the signatures was made with one of the secrets, recently. */
export function verifyStandardWebhook(
  rawBody: Buffer,
  headers: StandardWebhookHeaders,
  secrets: readonly string[],
  nowSeconds: number,
  toleranceSeconds = 300,
): void {
  const { id, timestamp, signature } = headers;
  if (!id) throw new AlertRejection(401, 'missing webhook-id header');
  if (!timestamp) throw new AlertRejection(401, 'missing webhook-timestamp header');
  if (!signature) throw new AlertRejection(401, 'missing webhook-signature header');
  if (!/^\d{1,12}$/.test(timestamp)) throw new AlertRejection(401, 'webhook-timestamp is not unix seconds');
  // Both directions: a future timestamp would let a captured delivery be replayed later.
  const skew = nowSeconds - Number(timestamp);
  if (skew > toleranceSeconds) throw new AlertRejection(401, 'webhook-timestamp is too old');
  if (-skew > toleranceSeconds) throw new AlertRejection(401, 'webhook-timestamp is in the future');

  const expected = secrets.map((secret) => hmac(standardWebhookKey(secret), `${id}.${timestamp}.`, rawBody));
  const received = signature
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'))
    .filter((bytes) => bytes.length === SHA256_BYTES);
  if (!received.some((bytes) => anyEqual(bytes, expected))) throw new AlertRejection(401, 'no valid webhook-signature');
}
