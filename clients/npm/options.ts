// What every npm client call takes, and the npm-registry-fetch options and error mapping built from it.
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import validateName from 'validate-npm-package-name';
import { nerfDart, normalizeRegistryUrl } from '../../core/registry-url';
import { RegistryError, toRegistryError } from './errors';

export interface NpmClientOptions {
  registry: string;
  /** Sent only to `registry` (npm-registry-fetch matches it by nerf dart), never elsewhere. */
  token?: string;
  /** A one-time password for writes the account guards with 2FA. */
  otp?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export function fetchOptions(opts: NpmClientOptions): npmFetch.Options {
  const registry = normalizeRegistryUrl(opts.registry);
  const options: Record<string, unknown> = {
    registry,
    // The caller (Temporal) owns retries: one layer, visible on the timeline.
    retry: { retries: 0 },
    preferOnline: true,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.otp ? { otp: opts.otp } : {}),
  };
  if (opts.token) options[`${nerfDart(registry)}:_authToken`] = opts.token;
  return options as npmFetch.Options;
}

/** The name as npm puts it in a path (`@scope%2fname`), after refusing what npm would refuse. */
export function escapedName(name: string): string {
  const verdict = validateName(name);
  if (!verdict.validForOldPackages) {
    throw new RegistryError('REJECTED', `not a package name: ${JSON.stringify(name)} (${[...(verdict.errors ?? [])].join('; ')})`);
  }
  return name.startsWith('@') ? name.replace('/', '%2f') : encodeURIComponent(name);
}

/** Runs one registry exchange; any failure comes out as a RegistryError without the token or OTP. */
export async function registryCall<T>(opts: NpmClientOptions, action: string, call: (options: npmFetch.Options) => Promise<T>): Promise<T> {
  const secrets = [opts.token, opts.otp];
  let options: npmFetch.Options;
  try {
    options = fetchOptions(opts);
  } catch (err) {
    throw new RegistryError('REJECTED', `${action}: ${(err as Error).message}`);
  }
  try {
    return await call(options);
  } catch (err) {
    throw toRegistryError(err, `${action} on ${opts.registry}`, secrets);
  }
}

/** Parses an answer with `schema`; anything else is the registry (or something before it) misbehaving. */
export function parseAnswer<T>(schema: z.ZodType<T>, body: unknown, action: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw malformed(action, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}

/** A body that is not what the API returns: the registry (or something before it) misbehaves. */
export function malformed(action: string, detail: string): RegistryError {
  return new RegistryError('UNAVAILABLE', `${action}: unexpected answer from the registry (${detail})`);
}
