// npm registry activities: the one module that talks to a registry. Each write reads the current
// state first and writes only what differs, so a retried or replayed activity changes nothing twice.
import { Context, ApplicationFailure } from '@temporalio/activity';
import npmFetch from 'npm-registry-fetch';
import { packageStateFromPackument, type PackageState } from '../core/package-state';
import { nerfDart } from '../core/registry-url';

export interface RegistryCredentials {
  /** The token for a registry, or undefined to go anonymous; resolved in the worker only. */
  tokenFor(registry: string): string | undefined;
}

export interface RegistryTarget {
  registry: string;
  name: string;
}

export interface DeprecateInput extends RegistryTarget {
  versions: string[];
  message: string;
  /** A version whose message already contains this is left as it is. */
  marker: string;
}

export interface DistTagInput extends RegistryTarget {
  tag: string;
  /**
   * Where the plan read the tag: it is written only if it still points there (compare-and-set), so a
   * maintainer's move since our read is never overwritten. Absent only in calls of the v1 workflow.
   */
  from?: string;
  /** null removes the tag. */
  version: string | null;
}

export interface WriteResult {
  changed: string[];
  unchanged: string[];
  /** The tag was not where the plan read it: nothing was written. */
  conflict?: { tag: string; expected: string; found: string | null };
}

function escapedName(name: string): string {
  return name.startsWith('@') ? name.replace('/', '%2f') : name;
}

interface RegistryHttpError {
  statusCode?: number;
  code?: string;
  headers?: { get?(name: string): string | null } | Record<string, unknown>;
  body?: unknown;
  message?: string;
}

function header(err: RegistryHttpError, name: string): string | undefined {
  const headers = err.headers;
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return Array.isArray(value) ? value.join(', ') : typeof value === 'string' ? value : undefined;
}

/**
 * Whether the registry refused because the account wants a one-time password: npm-registry-fetch's
 * EOTP (401 with `www-authenticate: OTP`), or a 401/403 whose headers or words ask for one.
 */
export function asksForOtp(err: RegistryHttpError): boolean {
  if (err.code === 'EOTP') return true;
  if (err.statusCode !== 401 && err.statusCode !== 403) return false;
  const authenticate = header(err, 'www-authenticate') ?? '';
  if (authenticate.split(/,\s*/).some((part) => part.trim().toLowerCase() === 'otp')) return true;
  // Not the message, nor a bare "otp" in the words: they name URLs and packages, and "otp" is a package.
  const words = [header(err, 'npm-notice') ?? '', typeof err.body === 'string' ? err.body : JSON.stringify(err.body ?? '')].join(' ');
  return /one-time pass|two-factor|\b2fa\b/i.test(words);
}

export const OTP_HINT =
  'the registry asks for a one-time password, which an unattended worker cannot give: use a granular access token with "bypass two-factor authentication" (or an automation token) for NPM_TOKEN';

function retryAfterMs(err: RegistryHttpError): number | undefined {
  const headers = err.headers;
  const raw = headers && typeof (headers as { get?: unknown }).get === 'function'
    ? (headers as { get(name: string): string | null }).get('retry-after')
    : undefined;
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function createRegistryActivities(credentials: RegistryCredentials) {
  function redact(text: string, registry: string): string {
    const token = credentials.tokenFor(registry);
    return token ? text.split(token).join('***') : text;
  }

  /** Maps a registry answer to a failure the workflow can reason about, never echoing the token. */
  function failure(err: unknown, target: RegistryTarget, action: string): Error {
    const httpError = err as RegistryHttpError;
    const status = httpError.statusCode;
    const said = httpError.message ?? String(err);
    const withStatus = status !== undefined && !said.startsWith(String(status)) ? `HTTP ${status}: ${said}` : said;
    const message = redact(`${action} ${target.name} on ${target.registry}: ${withStatus}`, target.registry);
    if (asksForOtp(httpError)) {
      return ApplicationFailure.create({ message: `${message} (${OTP_HINT})`, type: 'RegistryOtpRequired', nonRetryable: true, details: [status ?? 401] });
    }
    if (status === 401 || status === 403) {
      const hint = credentials.tokenFor(target.registry) ? 'the token lacks the rights' : 'the worker holds no token for this registry (NPM_TOKEN)';
      return ApplicationFailure.create({ message: `${message} (${hint})`, type: 'RegistryAuthError', nonRetryable: true, details: [status] });
    }
    if (status === 404) {
      return ApplicationFailure.create({ message, type: 'PackageNotFound', nonRetryable: true, details: [status] });
    }
    if (status === 429) {
      return ApplicationFailure.create({ message, type: 'RegistryRateLimited', nextRetryDelay: retryAfterMs(httpError) ?? 5_000 });
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return ApplicationFailure.create({ message, type: 'RegistryRejected', nonRetryable: true, details: [status] });
    }
    return ApplicationFailure.create({ message, type: 'RegistryUnavailable' });
  }

  /** Keeps the activity's heartbeat going while a request is in flight, so a dead worker is noticed fast. */
  async function request<T>(target: RegistryTarget, action: string, call: (options: npmFetch.Options) => Promise<T>): Promise<T> {
    const context = Context.current();
    const beat = setInterval(() => context.heartbeat(), 1_000);
    try {
      const token = credentials.tokenFor(target.registry);
      const options: npmFetch.Options = {
        registry: target.registry,
        // Temporal owns retries: one layer, visible on the timeline.
        retry: { retries: 0 },
        preferOnline: true,
        timeout: 30_000,
        signal: context.cancellationSignal,
      } as npmFetch.Options;
      if (token) {
        // npm-registry-fetch sends a token only to the registry its nerf-darted key names.
        (options as Record<string, unknown>)[`${nerfDart(target.registry)}:_authToken`] = token;
      }
      return await call(options);
    } catch (err) {
      throw failure(err, target, action);
    } finally {
      clearInterval(beat);
    }
  }

  async function fetchPackument(target: RegistryTarget): Promise<Record<string, unknown> & { versions?: Record<string, Record<string, unknown>> }> {
    return request(target, 'read', (options) =>
      npmFetch.json(`/${escapedName(target.name)}`, { ...options, query: { write: true } }),
    ) as Promise<Record<string, unknown> & { versions?: Record<string, Record<string, unknown>> }>;
  }

  return {
    async readPackageState(target: RegistryTarget): Promise<PackageState> {
      return packageStateFromPackument(target.name, await fetchPackument(target));
    },

    async deprecateVersions(input: DeprecateInput): Promise<WriteResult> {
      const packument = await fetchPackument(input);
      const versions = packument.versions ?? {};
      const missing = input.versions.filter((v) => !versions[v]);
      if (missing.length > 0) {
        throw ApplicationFailure.create({
          message: `${input.name}@${missing.join(', ')} not on ${input.registry}`,
          type: 'PackageNotFound',
          nonRetryable: true,
        });
      }
      const changed = input.versions.filter((v) => !String(versions[v]?.deprecated ?? '').includes(input.marker));
      const unchanged = input.versions.filter((v) => !changed.includes(v));
      if (changed.length === 0) return { changed, unchanged };
      for (const v of changed) (versions[v] as Record<string, unknown>).deprecated = input.message;
      // One PUT of the whole packument for all versions, as `npm deprecate` does.
      await request(input, 'deprecate', (options) =>
        npmFetch(`/${escapedName(input.name)}`, { ...options, method: 'PUT', body: packument, ignoreBody: true }),
      );
      return { changed, unchanged };
    },

    async setDistTag(input: DistTagInput): Promise<WriteResult> {
      const path = `/-/package/${escapedName(input.name)}/dist-tags`;
      const tags = (await request(input, 'read dist-tags of', (options) => npmFetch.json(path, options))) as Record<string, string>;
      const current = tags[input.tag];
      const differs = input.version === null ? current !== undefined : current !== input.version;
      if (!differs) return { changed: [], unchanged: [input.tag] };
      // Compare-and-set as far as npm's API allows: the read above and the write below are separate
      // requests, so this narrows the window to one round trip instead of a whole attempt.
      if (input.from !== undefined && current !== input.from) {
        return { changed: [], unchanged: [], conflict: { tag: input.tag, expected: input.from, found: current ?? null } };
      }
      const tagPath = `${path}/${encodeURIComponent(input.tag)}`;
      await request(input, input.version === null ? 'remove dist-tag of' : 'move dist-tag of', (options) =>
        input.version === null
          ? npmFetch(tagPath, { ...options, method: 'DELETE', ignoreBody: true })
          : npmFetch(tagPath, {
              ...options,
              method: 'PUT',
              body: JSON.stringify(input.version),
              headers: { 'content-type': 'application/json' },
              ignoreBody: true,
            }),
      );
      return { changed: [input.tag], unchanged: [] };
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
