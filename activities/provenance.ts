// Provenance of a package's releases, for the blast-radius index. One external system: the npm
// registry (packument, then each version's dist.attestations.url). Signatures are checked offline
// (provenance-verify.ts), subjects and SLSA facts by core/provenance.ts. Returns records; the caller
// stores them (ReleaseIndexWriter.putProvenance).
//
// What a record says: `none` when the registry lists no attestations for the version; `invalid` when
// they are malformed, point off the registry, fail a signature check, name another tarball, or their
// signing certificate was issued to another build than the provenance claims (nothing of them is
// kept); `unverified` when they are well formed and match the tarball but the trust material
// does not know their signer (a key or log newer than ours), facts kept but not vouched for;
// `verified` otherwise. Registry refusals and outages are thrown as typed failures, not recorded.
import { ApplicationFailure, Context } from '@temporalio/activity';
import npmFetch from 'npm-registry-fetch';
import semver from 'semver';
import { decodeAttestations, provenanceFacts, ProvenanceError, SLSA_V02_PREDICATE, SLSA_V1_PREDICATE, subjectMatches, type DecodedAttestation } from '../core/provenance';
import { identityMismatch, type SignerIdentity } from '../core/provenance-identity';
import { nerfDart, normalizeRegistryUrl } from '../core/registry-url';
import type { ReleaseProvenance } from '../core/release-index';
import type { OfflineVerifier } from './provenance-verify';
import type { RegistryCredentials } from './registry';

export interface ProvenanceActivitiesOptions {
  /** The registry whose packuments are read; attestations are fetched only from its origin. */
  registry: string;
  /** The worker's credentials (worker/config.ts); the token goes to `registry` only. */
  credentials?: RegistryCredentials;
  verifier: OfflineVerifier;
  /** Attestation requests in flight at once (default 4). */
  concurrency?: number;
}

export interface PackageProvenanceInput {
  name: string;
}

interface HttpError {
  statusCode?: number;
  message?: string;
  headers?: { get?(name: string): string | null };
}

interface Manifest {
  dist?: { integrity?: unknown; attestations?: unknown };
}

/** A version as the packument lists it: what judging its provenance needs, and nothing fetched yet. */
export interface ListedVersion {
  name: string;
  version: string;
  manifest: Manifest;
  publishedAt?: string;
}

interface Packument {
  versions?: Record<string, Manifest>;
  time?: Record<string, unknown>;
}

const SLSA = new Set<string>([SLSA_V1_PREDICATE, SLSA_V02_PREDICATE]);

function escapedName(name: string): string {
  return name.startsWith('@') ? name.replace('/', '%2f') : name;
}

/** The activity context when running as an activity; undefined when called directly (tests, scripts). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function bySemver(a: string, b: string): number {
  const [va, vb] = [semver.valid(a), semver.valid(b)];
  if (va && vb) return semver.compare(va, vb);
  return va ? -1 : vb ? 1 : a.localeCompare(b);
}

export async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  });
  await Promise.all(runners);
  return out;
}

export function createProvenanceActivities(options: ProvenanceActivitiesOptions) {
  const registry = normalizeRegistryUrl(options.registry);
  const origin = new URL(registry).origin;
  const token = options.credentials?.tokenFor(registry);
  const concurrency = options.concurrency ?? 4;

  const redact = (text: string) => (token ? text.split(token).join('***') : text);

  /** Registry answers that are not provenance findings: typed failures, as activities/registry.ts types them. */
  function failure(err: unknown, name: string, action: string): Error {
    const status = (err as HttpError).statusCode;
    const said = (err as HttpError).message ?? String(err);
    const message = redact(`${action} ${name} on ${registry}: ${status !== undefined && !said.startsWith(String(status)) ? `HTTP ${status}: ` : ''}${said}`);
    if (status === 401 || status === 403) {
      const hint = token ? 'the token lacks the rights' : 'the worker holds no token for this registry (NPM_TOKEN)';
      return ApplicationFailure.create({ message: `${message} (${hint})`, type: 'RegistryAuthError', nonRetryable: true, details: [status] });
    }
    if (status === 404) return ApplicationFailure.create({ message, type: 'PackageNotFound', nonRetryable: true, details: [status] });
    if (status === 429) {
      const seconds = Number((err as HttpError).headers?.get?.('retry-after'));
      return ApplicationFailure.create({ message, type: 'RegistryRateLimited', nextRetryDelay: Number.isFinite(seconds) ? seconds * 1000 : 5_000 });
    }
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return ApplicationFailure.create({ message, type: 'RegistryRejected', nonRetryable: true, details: [status] });
    }
    return ApplicationFailure.create({ message, type: 'RegistryUnavailable' });
  }

  function fetchOptions(): npmFetch.Options {
    const context = activityContext();
    const opts: Record<string, unknown> = {
      registry,
      // Temporal owns retries.
      retry: { retries: 0 },
      preferOnline: true,
      timeout: 30_000,
      ...(context ? { signal: context.cancellationSignal } : {}),
    };
    // npm-registry-fetch sends the token only to URLs under this nerf dart.
    if (token) opts[`${nerfDart(registry)}:_authToken`] = token;
    return opts as npmFetch.Options;
  }

  /** GET of a same-origin attestations URL; null when the registry answers 404. */
  async function fetchAttestations(url: string, name: string): Promise<{ json: unknown } | { notJson: true } | null> {
    let text: string;
    try {
      const response = await npmFetch(url, fetchOptions());
      text = await response.text();
    } catch (err) {
      if ((err as HttpError).statusCode === 404) return null;
      throw failure(err, name, 'read attestations of');
    }
    try {
      return { json: JSON.parse(text) };
    } catch {
      return { notJson: true };
    }
  }

  async function judge(name: string, version: string, manifest: Manifest, publishedAt: string | undefined): Promise<ReleaseProvenance> {
    const base = { release: { name, version }, ...(publishedAt ? { publishedAt } : {}) };
    const invalid = (reason: string): ReleaseProvenance => ({ ...base, status: 'invalid', reason });
    const listed = manifest.dist?.attestations;
    if (listed === undefined || listed === null) return { ...base, status: 'none', reason: 'the registry lists no attestations for this release' };

    const rawUrl = typeof listed === 'object' ? (listed as { url?: unknown }).url : undefined;
    if (typeof rawUrl !== 'string') return invalid('dist.attestations has no url');
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      return invalid(`dist.attestations.url ${JSON.stringify(rawUrl)} is not a URL`);
    }
    // The packument chooses this URL: never follow it (with or without the token) off the registry.
    if (url.origin !== origin || url.username || url.password) {
      return invalid(`dist.attestations.url points to ${url.origin}, not to the registry ${origin}: not fetched`);
    }
    const integrity = manifest.dist?.integrity;
    if (typeof integrity !== 'string') return invalid('no dist.integrity to match the attestations with');

    const fetched = await fetchAttestations(url.toString(), name);
    if (fetched === null) return invalid(`the registry has no attestations at ${url.pathname} although the packument lists them`);
    if ('notJson' in fetched) return invalid('the attestations response is not JSON');

    let decoded: DecodedAttestation[];
    try {
      decoded = decodeAttestations(fetched.json);
    } catch (err) {
      if (err instanceof ProvenanceError) return invalid(err.message);
      throw err;
    }
    if (decoded.length === 0) return invalid('the attestations response holds no attestations');
    const provenance = decoded.filter((a) => SLSA.has(a.predicateType));
    if (provenance.length > 1) return invalid(`${provenance.length} SLSA provenance attestations, expected one`);

    const slsa = provenance[0];
    // Every bundle: a known signer that fails is invalid; an unknown one leaves the release unverified.
    let unchecked: string | undefined;
    let signer: SignerIdentity | undefined;
    for (const a of decoded) {
      const result = options.verifier.verifyBundle(a.bundle);
      if (a === slsa) signer = result.identity;
      if (result.ok) continue;
      if (!result.unknownSigner) return invalid(`${a.predicateType} attestation: signature check failed: ${result.reason}`);
      unchecked ??= `${a.predicateType} attestation: ${result.reason}`;
    }
    for (const a of decoded) {
      if (!subjectMatches(a.statement, name, version, integrity)) {
        const names = a.subjects.map((s) => s.name).join(', ');
        return invalid(`${a.predicateType} attestation: subject ${names} does not match ${name}@${version} and its dist.integrity`);
      }
    }
    if (!slsa) return { ...base, status: 'none', reason: `no SLSA build provenance among its attestations (${decoded.map((a) => a.predicateType).join(', ')})` };

    let facts;
    try {
      facts = provenanceFacts(slsa.statement);
    } catch (err) {
      if (err instanceof ProvenanceError) return invalid(err.message);
      throw err;
    }
    // The signature says who signed, the statement what was built: believed only if they are the same
    // build. Checked for an unknown signer too: a certificate naming another build contradicts it outright.
    const mismatch = identityMismatch(signer, facts);
    if (mismatch) return invalid(`${slsa.predicateType} attestation: ${mismatch}`);
    return {
      ...base,
      status: unchecked ? 'unverified' : 'verified',
      ...(unchecked ? { reason: `signature not checked, the trust root does not know the signer: ${unchecked}` } : {}),
      repository: facts.repository,
      workflowPath: facts.workflowPath,
      ref: facts.ref,
      commit: facts.commit,
      runId: facts.runId,
      runAttempt: facts.runAttempt,
      builderId: facts.builderId,
      predicateType: facts.predicateType,
    };
  }

  /** The package's versions in semver order, each with what judging its provenance needs. One registry request. */
  async function listPackageVersions(name: string): Promise<ListedVersion[]> {
    let packument: Packument;
    try {
      packument = (await npmFetch.json(`/${escapedName(name)}`, fetchOptions())) as Packument;
    } catch (err) {
      throw failure(err, name, 'read');
    }
    const versions = packument.versions ?? {};
    const time = packument.time ?? {};
    return Object.keys(versions)
      .sort(bySemver)
      .map((version) => {
        const published = time[version];
        return { name, version, manifest: versions[version] ?? {}, ...(typeof published === 'string' ? { publishedAt: published } : {}) };
      });
  }

  return {
    listPackageVersions,

    /** The provenance record of one listed version: at most one registry request (its attestations). */
    judgeVersion(listed: ListedVersion): Promise<ReleaseProvenance> {
      return judge(listed.name, listed.version, listed.manifest, listed.publishedAt);
    },

    /** One record per version of the package, in semver order. */
    async readPackageProvenance(input: PackageProvenanceInput): Promise<ReleaseProvenance[]> {
      const context = activityContext();
      const beat = context ? setInterval(() => context.heartbeat(), 1_000) : undefined;
      try {
        const listed = await listPackageVersions(input.name);
        return await pool(listed, concurrency, (entry) => judge(entry.name, entry.version, entry.manifest, entry.publishedAt));
      } finally {
        if (beat) clearInterval(beat);
      }
    },
  };
}

export type ProvenanceActivities = ReturnType<typeof createProvenanceActivities>;
