// Request plumbing shared by the npmjs stand-in's routes: typed Verdaccio handles, JSON answers, body
// reading, scoped-name parsing and the checks every route makes (user, publish rights, OTP).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface RemoteUser {
  name?: string | null;
}
type Callback = (err: unknown, ok?: boolean) => void;
export interface Auth {
  allow_publish(pkg: { packageName: string }, user: RemoteUser, cb: Callback): void;
}
export interface Storage {
  getPackage(options: { name: string; uplinksLook: boolean; req: unknown; callback: (err: unknown, metadata?: Record<string, unknown>) => void }): void;
}
export type Req = IncomingMessage & { remote_user?: RemoteUser };
/** `standinOutcome` names why a write was refused, for the write log. */
export type Res = ServerResponse & { standinOutcome?: string; send(body: unknown): Res };
export type Next = (err?: unknown) => void;
export interface App {
  use(handler: (req: Req, res: Res, next: Next) => void): void;
}

const MAX_BODY = 8 * 1024 * 1024;

export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly outcome: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function answer(res: Res, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

export function refuse(res: Res, refusal: Refusal): void {
  res.standinOutcome = refusal.outcome;
  answer(res, refusal.status, { error: refusal.message }, refusal.headers);
}

/** Starts reading at once: Verdaccio's request logger already listens to 'data', so the body flows now. */
export function readBody(req: Req): Promise<string> {
  const text = new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Refusal(413, 'invalid', 'body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
  text.catch(() => undefined);
  return text;
}

export async function jsonBody(body: Promise<string>): Promise<unknown> {
  const text = await body;
  try {
    return JSON.parse(text);
  } catch {
    throw new Refusal(400, 'invalid', 'body is not JSON');
  }
}

/**
 * Splits path segments into a package name and the rest. npm escapes a scoped name as one segment
 * (`@scope%2fname`); other clients send it as two (`@scope/name`): both name the same package.
 */
export function nameAndRest(segments: string[]): { name: string; rest: string[] } | null {
  const decoded = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return null;
    }
  });
  if (decoded.some((segment) => segment === null) || !decoded[0]) return null;
  const parts = decoded as string[];
  const first = parts[0]!;
  const scopedInTwo = first.startsWith('@') && !first.includes('/');
  const name = scopedInTwo ? `${first}/${parts[1] ?? ''}` : first;
  if (!/^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name)) return null;
  return { name, rest: parts.slice(scopedInTwo ? 2 : 1) };
}

export function userOf(req: Req): string {
  const name = req.remote_user?.name;
  if (!name) throw new Refusal(401, 'unauthenticated', 'authentication required');
  return name;
}

export function mayPublish(auth: Auth, name: string, req: Req): Promise<boolean> {
  return new Promise((resolve) => auth.allow_publish({ packageName: name }, req.remote_user ?? {}, (err, ok) => resolve(!err && ok === true)));
}

export async function requirePublish(auth: Auth, name: string, req: Req, user: string): Promise<void> {
  if (!(await mayPublish(auth, name, req))) throw new Refusal(403, 'forbidden', `user ${user} may not publish ${name}`);
}

export function packumentOf(storage: Storage, name: string, req: Req): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) =>
    storage.getPackage({ name, uplinksLook: false, req, callback: (err, metadata) => resolve(err ? undefined : metadata) }),
  );
}

export async function requirePackage(storage: Storage, name: string, req: Req): Promise<Record<string, unknown>> {
  const packument = await packumentOf(storage, name, req);
  if (!packument) throw new Refusal(404, 'not-found', `no such package: ${name}`);
  return packument;
}

/** npmjs's 2FA answer: npm-registry-fetch turns a 401 with `www-authenticate: OTP` into EOTP. */
export function requireOtp(req: Req, validOtps: readonly string[]): void {
  const given = req.headers['npm-otp'];
  if (typeof given === 'string' && validOtps.includes(given)) return;
  throw new Refusal(401, given ? 'otp-invalid' : 'otp-required', 'this operation requires a one-time password', { 'www-authenticate': 'OTP' });
}

/** What a route gets: the request, its path after the route's prefix, and the plugin's handles. */
export interface RouteContext {
  req: Req;
  method: string;
  segments: string[];
  query: URLSearchParams;
  body: Promise<string>;
  auth: Auth;
  storage: Storage;
  folder: string;
  otps: readonly string[];
}

/** A route's answer: status and JSON body (none for 204). */
export interface Reply {
  status: number;
  body?: unknown;
}

export function packageIn(segments: string[]): { name: string; rest: string[] } {
  const parsed = nameAndRest(segments);
  if (!parsed) throw new Refusal(400, 'invalid', 'not a valid package name');
  return parsed;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function methodNotAllowed(): never {
  throw new Refusal(405, 'invalid', 'method not allowed');
}

export function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}
