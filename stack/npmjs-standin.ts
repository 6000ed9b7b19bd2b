// Seeds the registry's npmjs stand-in (stack/verdaccio-plugins/verdaccio-npmjs.ts) over HTTP, for tests
// and benchmarks: trusted publishers and staged publishes through npmjs's own routes, and the facts and
// test switches npmjs has no API for through the stand-in's `/-/quarantine-standin/` routes.
import { REGISTRY_OTP } from './registry';

export interface TrustSeed {
  type: 'github' | 'gitlab' | 'circleci';
  claims: Record<string, unknown>;
  permissions?: string[];
}

async function send(registry: string, token: string, method: string, path: string, body: unknown, otp?: string): Promise<unknown> {
  const response = await fetch(new URL(path, registry), {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(otp ? { 'npm-otp': otp } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function escaped(name: string): string {
  return name.replace('/', '%2f');
}

/** Adds trusted publishers to a package (`POST /-/package/<name>/trust`, with the stand-in's OTP); returns them with their ids. */
export async function seedTrustedPublishers(registry: string, token: string, name: string, configs: TrustSeed[]): Promise<{ id: string }[]> {
  return (await send(registry, token, 'POST', `/-/package/${escaped(name)}/trust`, configs, REGISTRY_OTP)) as { id: string }[];
}

/** A GitHub Actions trusted publisher, as `npm trust github <pkg> --repo <repo> --file <file>` creates it. */
export function githubPublisher(repository: string, file = 'release.yml'): TrustSeed {
  return { type: 'github', claims: { repository, workflow_ref: { file } }, permissions: ['createPackage'] };
}

/** Stages `name@version` on the wire `npm stage publish` uses (no tarball kept); returns the stage id. */
export async function seedStagedPublish(registry: string, token: string, name: string, version: string, tag = 'latest'): Promise<string> {
  const document = { _id: name, name, 'dist-tags': { [tag]: version }, versions: { [version]: { name, version, dist: { shasum: '0'.repeat(40) } } } };
  return ((await send(registry, token, 'POST', `/-/stage/package/${escaped(name)}`, document)) as { stageId: string }).stageId;
}

/** Gives the token's user an access token the stand-in lists; returns its key and secret. */
export async function seedToken(registry: string, token: string, options: { name?: string; readonly?: boolean; cidr_whitelist?: string[] } = {}): Promise<{ key: string; token: string }> {
  return (await send(registry, token, 'POST', '/-/quarantine-standin/tokens', options)) as { key: string; token: string };
}

export async function seedDownloads(registry: string, token: string, name: string, downloads: number): Promise<void> {
  await send(registry, token, 'PUT', `/-/quarantine-standin/downloads/${escaped(name)}`, { downloads });
}

export async function seedDependents(registry: string, token: string, name: string, dependents: number): Promise<void> {
  await send(registry, token, 'PUT', `/-/quarantine-standin/dependents/${escaped(name)}`, { dependents });
}

/**
 * The next `count` requests (any route but the stand-in's own; only `methods` if given) get `status`,
 * with `retry-after` if given. A count of 0 clears the switch.
 */
export async function injectFault(
  registry: string,
  token: string,
  fault: { status: 429 | 500 | 502 | 503; count: number; retryAfter?: string; methods?: string[] },
): Promise<void> {
  await send(registry, token, 'PUT', '/-/quarantine-standin/faults', fault);
}

/** The package's owners as npmjs lists them (`maintainers`, read by `npm owner ls`): Verdaccio keeps none. */
export async function seedOwners(registry: string, token: string, name: string, owners: { name: string; email?: string }[]): Promise<void> {
  await send(registry, token, 'PUT', `/-/quarantine-standin/owners/${escaped(name)}`, { owners });
}
