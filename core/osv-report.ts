// What an on-call person's `quarantine --osv` takes from OSV records: the exact releases of ours they
// name (listed versions, and bounded ranges resolved against what the registry publishes), the ranges
// too broad to act on without a person, and the packages that are not ours. Pure: the caller reads the
// published versions. Record content is attacker-controlled: every text made here is `printable`.
import * as semver from 'semver';
import type { AlertKind, NormalizedAlert, OsvRange } from './alert';
import { isOwned } from './intake';
import { isAffectedByRange, overBroadReason } from './osv-ranges';
import { printable } from './spec';

/** What the registry said about a package: its published versions, or why they could not be read. */
export type Published = readonly string[] | { error: string };

export interface OsvRecordLine {
  id: string;
  kind: AlertKind;
  title: string;
  withdrawn: boolean;
}

/** A bounded range of ours, and the published versions it resolved to. */
export interface ResolvedRange {
  name: string;
  record: string;
  range: string;
  versions: string[];
}

/** A range of ours that names no release in particular: shown, and held for a person. */
export interface OverBroadRange {
  name: string;
  record: string;
  range: string;
  reason: string;
}

export interface ForeignPackage {
  name: string;
  records: string[];
  versions: string[];
  ranges: string[];
}

export interface OsvContainment {
  records: OsvRecordLine[];
  /** Live records that name a release of ours: the incident is theirs. */
  containing: string[];
  /** Their ids and aliases, for the deprecation message and the incident. */
  advisories: string[];
  /** Exact releases of ours, by name; versions in semver order. */
  releases: { name: string; versions: string[] }[];
  fromRanges: ResolvedRange[];
  overBroad: OverBroadRange[];
  notOurs: ForeignPackage[];
}

// No package reaches this major: a range that still holds here has no end.
const BEYOND_EVERY_RELEASE = '99999.0.0';

/** Events of one range shown at most: a record may list 200, and a hold is one line. */
const EVENTS_SHOWN = 8;

export function describeOsvRange(range: OsvRange): string {
  const events = range.events.slice(0, EVENTS_SHOWN).map((event) => {
    const [kind, version] = Object.entries(event)[0] ?? ['?', ''];
    return `{${printable(kind)}: "${printable(String(version))}"}`;
  });
  const more = range.events.length - EVENTS_SHOWN;
  return `OSV range ${events.join(' ')}${more > 0 ? ` and ${more} more events` : ''}`;
}

/**
 * Why a range names no release in particular by its shape alone, or undefined when it is bounded: it
 * begins at the first version ever (introduced "0"), or it has no end (it would take the releases that
 * fix it, and every one published later).
 */
export function overBroadShape(range: OsvRange): string | undefined {
  if (overBroadReason([], [], { versions: [], ranges: [], osvRanges: [range] }) !== undefined) return 'matches every version';
  if (range.events.some((event) => 'introduced' in event && event.introduced === '0')) return 'starts at introduced "0": every version before its end';
  if (isAffectedByRange(BEYOND_EVERY_RELEASE, range)) return 'has no end: it takes every later release too, the fixed ones included';
  return undefined;
}

const liveOwned = (alerts: readonly NormalizedAlert[], owned: readonly string[]) =>
  alerts.filter((alert) => !alert.withdrawn).flatMap((alert) => alert.packages.filter((pkg) => isOwned(pkg.name, owned)).map((pkg) => ({ alert, pkg })));

/** Packages of ours whose published versions a bounded range needs to be resolved. */
export function packagesToResolve(alerts: readonly NormalizedAlert[], owned: readonly string[]): string[] {
  const names = liveOwned(alerts, owned).filter(({ pkg }) => pkg.osvRanges.some((range) => overBroadShape(range) === undefined)).map(({ pkg }) => pkg.name);
  return [...new Set(names)].sort();
}

function addTo(map: Map<string, Set<string>>, key: string, values: Iterable<string>): void {
  const set = map.get(key) ?? new Set<string>();
  for (const value of values) set.add(value);
  map.set(key, set);
}

/**
 * Sorts what the records say into what to contain now, what waits for a person, and what is not ours.
 * Withdrawn records contain nothing. A bounded range is contained as the published versions it holds,
 * unless those are every published version: deprecating a whole package is a person's call.
 */
export function osvContainment(alerts: readonly NormalizedAlert[], owned: readonly string[], published: ReadonlyMap<string, Published>): OsvContainment {
  const exact = new Map<string, Set<string>>();
  const containing = new Set<string>();
  const advisories = new Set<string>();
  const fromRanges: ResolvedRange[] = [];
  const overBroad: OverBroadRange[] = [];
  for (const { alert, pkg } of liveOwned(alerts, owned)) {
    const contain = (versions: readonly string[]) => {
      if (versions.length === 0) return;
      addTo(exact, pkg.name, versions);
      containing.add(alert.sourceId);
      for (const id of [alert.sourceId, ...alert.aliases]) advisories.add(id);
    };
    contain(pkg.versions);
    for (const osvRange of pkg.osvRanges) {
      const range = describeOsvRange(osvRange);
      const held = (reason: string) => overBroad.push({ name: pkg.name, record: alert.sourceId, range, reason });
      const shape = overBroadShape(osvRange);
      if (shape !== undefined) {
        held(shape);
        continue;
      }
      const known = published.get(pkg.name);
      if (known === undefined || 'error' in known) {
        held(`could not be resolved to releases: ${known === undefined ? 'its published versions were not read' : known.error}`);
        continue;
      }
      const versions = known.filter((version) => isAffectedByRange(version, osvRange)).sort(semver.compare);
      const everything = overBroadReason(known, versions);
      if (everything !== undefined) {
        held(`resolves to every published version (${everything})`);
        continue;
      }
      fromRanges.push({ name: pkg.name, record: alert.sourceId, range, versions });
      contain(versions);
    }
  }
  const foreign = new Map<string, { records: Set<string>; versions: Set<string>; ranges: Set<string> }>();
  for (const alert of alerts) {
    for (const pkg of alert.packages.filter((p) => !isOwned(p.name, owned))) {
      const entry = foreign.get(pkg.name) ?? { records: new Set(), versions: new Set(), ranges: new Set() };
      entry.records.add(alert.sourceId);
      for (const version of pkg.versions) entry.versions.add(version);
      for (const range of pkg.osvRanges) entry.ranges.add(describeOsvRange(range));
      foreign.set(pkg.name, entry);
    }
  }
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    records: alerts.map((alert) => ({ id: alert.sourceId, kind: alert.kind, title: alert.title, withdrawn: alert.withdrawn })),
    containing: [...containing].sort(),
    advisories: [...advisories].sort(),
    releases: [...exact].map(([name, versions]) => ({ name, versions: [...versions].sort(semver.compare) })).sort(byName),
    fromRanges,
    overBroad,
    notOurs: [...foreign]
      .map(([name, entry]) => ({ name, records: [...entry.records].sort(), versions: [...entry.versions].sort(semver.compare), ranges: [...entry.ranges] }))
      .sort(byName),
  };
}

/** At most this many over-broad ranges are held one by one on the incident; the rest in one line. */
export const MAX_HELD_RANGES = 50;

/** The incident's holds for the over-broad ranges (Compromise.overBroad): each waits for a person. */
export function overBroadHolds(containment: Pick<OsvContainment, 'overBroad'>): string[] {
  const lines = containment.overBroad
    .slice(0, MAX_HELD_RANGES)
    .map((held) => `${held.name}: ${held.range} in ${held.record} ${held.reason}; a person decides which of its releases to contain`);
  const rest = containment.overBroad.length - MAX_HELD_RANGES;
  return rest > 0 ? [...lines, `and ${rest} more over-broad ranges (the command's output lists them)`] : lines;
}
