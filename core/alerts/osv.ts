// OSV records (https://ossf.github.io/osv-schema/), one or a batch, into normalised alerts. Ranges
// are kept exactly as given: evaluating them (introduced "0", last_affected, unsorted events) is the
// blast-radius code's job, with OSV's own semantics.
import { z } from 'zod';
import * as semver from 'semver';
import type { AffectedPackage, AlertSeverity, NormalizedAlert, OsvRange } from '../alert';
import { printable } from '../spec';
import { found, parseOrReject, rejectField, type ParsedDelivery } from './parse-result';
import { LIMITS, aliasId, exactVersion, httpLinks, packageName, shortTitle, toSeverity, unique } from './validate';

const MALICIOUS_CODE_CWE = 'CWE-506';
type Path = (string | number)[];

const osvId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be an OSV id such as MAL-2024-11183');
const timestamp = z.string().max(100).refine((t) => !Number.isNaN(Date.parse(t)), 'must be an RFC 3339 timestamp');
// database_specific is free-form by the schema: read, never required to have any shape.
const freeForm = z.record(z.string(), z.unknown()).nullish();

// Entries of other ecosystems are skipped, so they are only required to say which ecosystem they are.
const anyAffected = z.object({ package: z.object({ ecosystem: z.string().max(100) }) });

const osvRecord = z.object({
  id: osvId,
  modified: timestamp,
  withdrawn: timestamp.nullish(),
  summary: z.string().max(100_000).nullish(),
  aliases: z.array(aliasId).max(LIMITS.aliases).default([]),
  severity: z.array(z.object({ type: z.string().max(50), score: z.string().max(500) })).max(20).nullish(),
  affected: z.array(z.unknown()).max(LIMITS.packagesPerAlert).default([]),
  references: z.array(z.object({ url: z.string() })).max(1_000).default([]),
  database_specific: freeForm,
});

const npmAffected = z.object({
  package: z.object({ ecosystem: z.literal('npm'), name: packageName, purl: z.string().max(LIMITS.urlChars).nullish() }),
  versions: z.array(exactVersion).max(LIMITS.versionsPerPackage).default([]),
  ranges: z.array(z.object({ type: z.string().max(50), events: z.array(z.unknown()) })).max(LIMITS.rangesPerPackage).default([]),
  database_specific: freeForm,
});

const eventVersion = (allowed: string) =>
  z
    .string()
    .max(LIMITS.versionChars)
    .refine((v) => v === allowed || semver.valid(v) === v, { error: (issue) => `"${printable(String(issue.input))}" is not an exact semver version` });

const osvEvent = z
  .strictObject({
    introduced: eventVersion('0').optional(),
    fixed: exactVersion.optional(),
    last_affected: exactVersion.optional(),
    limit: eventVersion('*').optional(),
  })
  .refine((event) => Object.keys(event).length === 1, 'an event has exactly one of introduced, fixed, last_affected, limit');
const osvEvents = z.array(osvEvent).min(1).max(200);

/** "pkg:npm/%40scope/name@1.0.0" names @scope/name: a purl naming another package is a forgery or a bug. */
function purlName(purl: string): string | undefined {
  if (!purl.startsWith('pkg:npm/')) return undefined;
  const path = purl.slice('pkg:npm/'.length).split(/[?#]/)[0] ?? '';
  const segments = path.split('/');
  const last = segments.pop() ?? '';
  const at = last.indexOf('@', 1);
  segments.push(at === -1 ? last : last.slice(0, at));
  try {
    return segments.map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

function cweIds(databaseSpecific: Record<string, unknown> | null | undefined): string[] {
  if (!databaseSpecific) return [];
  const { cwes, cwe_ids: ids } = databaseSpecific;
  const fromObjects = Array.isArray(cwes) ? cwes.map((cwe: unknown) => (cwe as { cweId?: unknown } | null)?.cweId) : [];
  const fromIds = Array.isArray(ids) ? ids : [];
  return [...fromObjects, ...fromIds].filter((id): id is string => typeof id === 'string').map((id) => id.toUpperCase());
}

function osvRanges(ranges: z.output<typeof npmAffected>['ranges'], path: Path): OsvRange[] {
  return ranges.flatMap((range, index) => {
    // GIT ranges speak commits, not npm versions.
    if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') return [];
    const events = parseOrReject(osvEvents, range.events, [...path, 'ranges', index, 'events']);
    return [{ type: range.type, events: events as OsvRange['events'] }];
  });
}

function mergeByName(packages: AffectedPackage[]): AffectedPackage[] {
  const byName = new Map<string, AffectedPackage>();
  for (const pkg of packages) {
    const seen = byName.get(pkg.name);
    byName.set(
      pkg.name,
      seen ? { ...seen, versions: unique([...seen.versions, ...pkg.versions]), osvRanges: [...seen.osvRanges, ...pkg.osvRanges] } : pkg,
    );
  }
  return [...byName.values()];
}

// A record may say how bad it is; malicious code needs no rating: whoever installed it ran it.
function severityOf(record: z.output<typeof osvRecord>, malware: boolean): AlertSeverity {
  const stated = record.database_specific?.severity;
  if (typeof stated === 'string' && toSeverity(stated) !== 'unknown') return toSeverity(stated);
  // Qualitative scores (e.g. type "Ubuntu": "high") map; CVSS vectors are not scored here.
  for (const entry of record.severity ?? []) if (toSeverity(entry.score) !== 'unknown') return toSeverity(entry.score);
  return malware ? 'critical' : 'unknown';
}

function parseRecord(body: unknown, prefix: Path): NormalizedAlert | undefined {
  const record = parseOrReject(osvRecord, body, prefix);
  const packages: AffectedPackage[] = [];
  const cwes = cweIds(record.database_specific);
  record.affected.forEach((entry, index) => {
    const path = [...prefix, 'affected', index];
    if (parseOrReject(anyAffected, entry, path).package.ecosystem !== 'npm') return;
    const affected = parseOrReject(npmAffected, entry, path);
    const { name, purl } = affected.package;
    if (purl && purlName(purl) !== name) throw rejectField([...path, 'package', 'purl'], `"${printable(purl)}" does not name ${name}`);
    cwes.push(...cweIds(affected.database_specific));
    packages.push({ name, versions: unique(affected.versions), ranges: [], osvRanges: osvRanges(affected.ranges, path) });
  });
  if (packages.length === 0) return undefined;
  const malware = record.id.startsWith('MAL-') || cwes.includes(MALICIOUS_CODE_CWE);
  return {
    source: 'osv',
    sourceId: record.id,
    kind: malware ? 'malware' : 'vulnerability',
    severity: severityOf(record, malware),
    title: shortTitle(record.summary || record.id),
    packages: mergeByName(packages),
    aliases: unique(record.aliases.filter((alias) => alias !== record.id)),
    evidence: httpLinks(record.references.map((ref) => ref.url)),
    withdrawn: !!record.withdrawn,
  };
}

/** One OSV record, or an array of them; records naming no npm package are skipped. */
export function parseOsvAlerts(body: unknown): ParsedDelivery {
  const records = Array.isArray(body) ? body : [body];
  if (records.length > LIMITS.alertsPerBatch) throw rejectField([], `at most ${LIMITS.alertsPerBatch} records per delivery`);
  const alerts = records.flatMap((record, index) => parseRecord(record, Array.isArray(body) ? [index] : []) ?? []);
  return found(alerts, 'no affected npm package in the OSV record(s)');
}
