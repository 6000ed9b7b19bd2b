// `quarantine --osv <file|folder>`: the on-call command, from OSV records. The exact releases of ours
// they name (QUARANTINE_OWNED_PACKAGES, as the intake reads it) become one incident's releases, named
// by the records' ids as the intake names the same advisory's incident, so that both meet in one. A
// bounded range is resolved against the versions the registry publishes; a range that names no release
// in particular is shown and held for a person; packages not ours are listed and left alone. Every
// record is read and checked before anything connects: one bad file and nothing starts.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sjson from 'secure-json-parse';
import { AlertRejection, type NormalizedAlert } from '../core/alert';
import { parseOsvAlerts } from '../core/alerts/osv';
import { advisoriesCompromiseId } from '../core/incident-id';
import { isExactVersion } from '../core/osv-ranges';
import { osvContainment, overBroadHolds, packagesToResolve, type OsvContainment, type Published } from '../core/osv-report';
import type { Policy } from '../core/playbook/policy';
import { printable } from '../core/spec';
import { ownedPatternsFromEnv } from '../server/config';
import { FileInputError, readBoundedFile } from './files';
import { terminalSafe } from './render';
import { onCallRequest, type OnCallRequest } from './report';

/** A record file larger than this is no advisory: refused before it is read. */
export const MAX_OSV_FILE_BYTES = 5 * 1024 * 1024;
/** Record files read from one folder at most. */
export const MAX_OSV_FILES = 1_000;
/** Releases one command contains at most: beyond, the records are a campaign for the intake's limits and a person. */
export const MAX_OSV_RELEASES = 5_000;
/** Packages whose versions are read at once to resolve ranges. */
const READS_AT_ONCE = 8;
const READ_TIMEOUT_MS = 15_000;

export class OsvInputError extends Error {}

export interface OsvOptions {
  path: string;
  env: NodeJS.ProcessEnv;
  registry: string;
  reason?: string;
  planOnly: boolean;
  policy: Policy;
}

export interface PreparedOsv {
  containment: OsvContainment;
  /** Files that hold no npm record (other ecosystems): skipped. */
  skipped: string[];
  /** What the records say, for people: printed before the incident is followed. */
  text: string;
  /** Undefined when no release of ours is named exactly: nothing starts. */
  built?: OnCallRequest;
}

function recordFiles(path: string): string[] {
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OsvInputError(`${printable(path)}: ${code === 'ENOENT' ? 'no such file or folder' : printable((err as Error).message)}`);
  }
  if (!isFolder) return [path];
  let names: string[];
  try {
    names = readdirSync(path).filter((name) => name.endsWith('.json'));
  } catch (err) {
    throw new OsvInputError(`${printable(path)}: ${printable((err as Error).message)}`);
  }
  if (names.length === 0) throw new OsvInputError(`${printable(path)}: no OSV records (*.json) in this folder`);
  if (names.length > MAX_OSV_FILES) throw new OsvInputError(`${printable(path)}: ${names.length} record files, more than ${MAX_OSV_FILES} in one command`);
  return names.sort().map((name) => join(path, name));
}

/** Every record of every file, or the first file's problem as one line. */
export function readOsvRecords(path: string): { alerts: NormalizedAlert[]; skipped: string[] } {
  const alerts: NormalizedAlert[] = [];
  const skipped: string[] = [];
  for (const file of recordFiles(path)) {
    let text: string;
    try {
      text = readBoundedFile(file, MAX_OSV_FILE_BYTES);
    } catch (err) {
      if (err instanceof FileInputError) throw new OsvInputError(err.message);
      throw err;
    }
    let body: unknown;
    try {
      body = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (err) {
      throw new OsvInputError(`${printable(file)}: not JSON (${printable((err as Error).message)})`);
    }
    try {
      const parsed = parseOsvAlerts(body);
      if (parsed.outcome === 'ignored') skipped.push(file);
      else alerts.push(...parsed.alerts);
    } catch (err) {
      if (err instanceof AlertRejection) throw new OsvInputError(`${printable(file)}: not a valid OSV record: ${err.message}`);
      throw err;
    }
  }
  if (alerts.length === 0) throw new OsvInputError(`${printable(path)}: no OSV record here names an npm package`);
  return { alerts, skipped };
}

/** The versions each package publishes, read as `npm view` reads them; a failure is kept, not thrown. */
async function publishedVersions(names: readonly string[], registry: string): Promise<Map<string, Published>> {
  const found = new Map<string, Published>();
  if (names.length === 0) return found;
  const npmFetch = (await import('npm-registry-fetch')).default;
  const { escapedName, registryCall } = await import('../clients/npm/options');
  const queue = [...names];
  const reader = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const packageName = name;
      try {
        // The abbreviated document: what `npm install` reads, every published version in it.
        const body = await registryCall({ registry, timeoutMs: READ_TIMEOUT_MS }, `read ${packageName}`, (options) =>
          npmFetch.json(`/${escapedName(packageName)}`, { ...options, headers: { accept: 'application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8' } }),
        );
        const versions = (body as { versions?: unknown }).versions;
        if (typeof versions !== 'object' || versions === null) throw new Error(`read ${packageName}: the registry's answer lists no versions`);
        found.set(packageName, Object.keys(versions).filter(isExactVersion));
      } catch (err) {
        found.set(packageName, { error: printable((err as Error).message) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, names.length) }, reader));
  return found;
}

const listed = (name: string, versions: readonly string[]) => `${name}@${versions.join(',')}`;

export function renderOsv(containment: OsvContainment, skipped: readonly string[]): string {
  const lines = [
    ...containment.records.map((r) => `OSV ${r.id} (${r.kind}${r.withdrawn ? ', WITHDRAWN: not contained' : ''}): ${r.title}`),
    ...skipped.map((file) => `skipped   ${file}: names no npm package`),
    ...containment.releases.map((r) => `contain   ${listed(r.name, r.versions)}`),
    ...containment.fromRanges.map((r) => `  range   ${r.name} ${r.range} (${r.record}): ${r.versions.length > 0 ? r.versions.join(', ') : 'no published version'}`),
    ...containment.overBroad.map((r) => `HELD      ${r.name} ${r.range} (${r.record}) ${r.reason}: a person decides`),
    ...containment.notOurs.map((p) => `not ours  ${[...(p.versions.length > 0 ? [listed(p.name, p.versions)] : [p.name]), ...p.ranges].join(' ')} (${p.records.join(', ')}): left to the blast radius`),
    ...(containment.releases.length === 0 ? ['nothing to contain: the records name no exact release of ours'] : []),
  ];
  return lines.map(terminalSafe).join('\n');
}

/**
 * Reads and checks every record, resolves the bounded ranges of ours, and builds the incident; throws an
 * OsvInputError (one line) on bad input, or the owned-package setting's own error.
 */
export async function osvOnCallRequest(options: OsvOptions): Promise<PreparedOsv> {
  let owned: string[];
  try {
    owned = ownedPatternsFromEnv(options.env.QUARANTINE_OWNED_PACKAGES);
  } catch (err) {
    throw new OsvInputError(`--osv contains only our packages: ${(err as Error).message}`);
  }
  const { alerts, skipped } = readOsvRecords(options.path);
  const published = await publishedVersions(packagesToResolve(alerts, owned), options.registry);
  const containment = osvContainment(alerts, owned, published);
  const total = containment.releases.reduce((sum, r) => sum + r.versions.length, 0);
  if (total > MAX_OSV_RELEASES) throw new OsvInputError(`the records name ${total} releases of ours, more than ${MAX_OSV_RELEASES} in one command`);
  const prepared: PreparedOsv = { containment, skipped, text: renderOsv(containment, skipped) };
  if (containment.releases.length === 0) return prepared;
  const built = onCallRequest({
    incident: advisoriesCompromiseId(options.registry, 'osv', containment.containing, options.planOnly),
    registry: options.registry,
    releases: containment.releases,
    ...(options.reason === undefined ? {} : { reason: options.reason }),
    planOnly: options.planOnly,
    policy: options.policy,
    advisories: containment.advisories,
    overBroad: overBroadHolds(containment),
    osv: { ...containment, skipped },
  });
  return { ...prepared, built };
}
