// Which versions of a package an alert names, by OSV's own evaluation
// (https://ossf.github.io/osv-schema/#evaluation) for npm, plus the exact versions list and the npm
// semver ranges other sources give. Pure: no I/O. Everything evaluated here is attacker-controlled
// or carelessly merged feed data, so the answers err towards telling a human rather than guessing.
import * as semver from 'semver';
import type { AffectedPackage, OsvRange } from './alert';
import { printable } from './spec';

/** What an alert says about one package's versions. */
export type AffectedSpec = Pick<AffectedPackage, 'versions' | 'ranges' | 'osvRanges'>;

// A prerelease is installed by whoever asks for it (a dist-tag, an exact pin): ">=1.2.0 <1.3.0" must
// match a malicious 1.2.4-beta.0 too, which plain semver.satisfies would skip.
const WITH_PRERELEASES = { includePrerelease: true } as const;

// OSV's special values: introduced "0" sorts before every version; a limit containing "*" is infinity.
const BEGINNING = '0';
const isInfinity = (limit: string): boolean => limit.includes('*');

/** A version as npm publishes it: exact semver in canonical form (no "v", no spaces, no build metadata), as the parsers require. */
export function isExactVersion(version: string): boolean {
  return semver.valid(version) === version;
}

// An empty or blank range is "*" to semver: it must not silently mean "every version".
const isNpmRange = (range: string): boolean => range.trim() !== '' && semver.validRange(range, WITH_PRERELEASES) !== null;

const EVENT_KINDS = ['introduced', 'fixed', 'last_affected', 'limit'] as const;
type EventKind = (typeof EVENT_KINDS)[number];
interface RangeEvent {
  kind: EventKind;
  version: string;
}

/** An event's one key and value; undefined for a shape the type forbids but a hand-made event might have. */
function eventOf(event: OsvRange['events'][number]): RangeEvent | undefined {
  const [entry, ...more] = Object.entries(event);
  if (!entry || more.length > 0 || typeof entry[1] !== 'string') return undefined;
  const kind = EVENT_KINDS.find((known) => known === entry[0]);
  return kind && { kind, version: entry[1] };
}

function isValidEvent({ kind, version }: RangeEvent): boolean {
  if (kind === 'introduced' && version === BEGINNING) return true;
  if (kind === 'limit' && isInfinity(version)) return true;
  return isExactVersion(version);
}

const compareEventVersions = (a: RangeEvent, b: RangeEvent): number =>
  a.version === BEGINNING || b.version === BEGINNING ? Number(b.version === BEGINNING) - Number(a.version === BEGINNING) : semver.compare(a.version, b.version);

interface CompiledRange {
  /** introduced / fixed / last_affected, sorted by version; equal versions keep the record's order. */
  timeline: RangeEvent[];
  /** Finite limits; empty when there is none or one is "*" (no bound from above). */
  limits: string[];
}

function compileRange(range: OsvRange): CompiledRange {
  const events = range.events.map(eventOf).filter((event): event is RangeEvent => event !== undefined && isValidEvent(event));
  const limits = events.filter((event) => event.kind === 'limit').map((event) => event.version);
  return {
    // Real records list pairs out of order (ngx-bootstrap: 20.x before 19.x); the schema evaluates
    // sorted events. Array.prototype.sort is stable: [introduced X, fixed X] stays empty, and a
    // timeline [fixed X, introduced X] stays re-opened at X, as the record wrote them.
    timeline: events.filter((event) => event.kind !== 'limit').sort(compareEventVersions),
    limits: limits.some(isInfinity) ? [] : limits,
  };
}

// The schema's IncludedInRanges for one range: BeforeLimits, then a walk of the sorted events.
function inRange(version: string, { timeline, limits }: CompiledRange): boolean {
  // BeforeLimits: below any one limit is enough (several limits each widen the range).
  if (limits.length > 0 && !limits.some((limit) => semver.lt(version, limit))) return false;
  let vulnerable = false;
  for (const { kind, version: at } of timeline) {
    if (kind === 'introduced') {
      if (at === BEGINNING || semver.gte(version, at)) vulnerable = true;
    } else if (kind === 'fixed') {
      // fixed is the first good version: it closes the range before itself.
      if (semver.gte(version, at)) vulnerable = false;
    } else if (semver.gt(version, at)) {
      // last_affected is the last bad version: it closes the range after itself.
      vulnerable = false;
    }
  }
  return vulnerable;
}

/** Whether an exact version lies in one OSV range (SEMVER or ECOSYSTEM: for npm both are semver ordering). Invalid event versions are ignored. */
export function isAffectedByRange(version: string, range: OsvRange): boolean {
  return isExactVersion(version) && inRange(version, compileRange(range));
}

/** The "is this version affected" test for one package, with its ranges compiled once. */
function affectedTest(pkg: AffectedSpec): (version: string) => boolean {
  const exact = new Set(pkg.versions.filter(isExactVersion));
  const osvRanges = pkg.osvRanges.map(compileRange);
  const npmRanges = pkg.ranges.filter(isNpmRange);
  return (version) =>
    isExactVersion(version) &&
    (exact.has(version) || osvRanges.some((range) => inRange(version, range)) || npmRanges.some((range) => semver.satisfies(version, range, WITH_PRERELEASES)));
}

/** A version is affected when it is listed, or lies in any OSV range or any npm semver range (OSV: "any one of the ranges or ... the versions list"). */
export function isAffected(version: string, pkg: AffectedSpec): boolean {
  return affectedTest(pkg)(version);
}

/** The affected ones among a package's published versions, once each, in semver order (prereleases before their release). */
export function affectedAmong(published: readonly string[], pkg: AffectedSpec): string[] {
  const affected = affectedTest(pkg);
  return [...new Set(published)].filter(affected).sort(semver.compare);
}

/** Versions and ranges the evaluation ignored because they are not valid: a caller warns about them, since ignoring one can widen or narrow the answer. */
export function invalidVersionsIn(pkg: AffectedSpec): string[] {
  const invalid = [
    ...pkg.versions.filter((version) => !isExactVersion(version)),
    ...pkg.ranges.filter((range) => !isNpmRange(range)),
    ...pkg.osvRanges.flatMap((range) =>
      range.events.flatMap((raw) => {
        const event = eventOf(raw);
        // A malformed event (no key, two keys) is shown whole: it is ignored like an invalid version.
        if (!event) return [JSON.stringify(raw)];
        return isValidEvent(event) ? [] : [event.version];
      }),
    ),
  ];
  return [...new Set(invalid)];
}

// What "every version" means for a range's shape: every release from 0.0.1 up to major 100. A range
// covering all of that (`>=0.0.1`, `>0.0.0`, `<99999.0.0`, `<1.0.0 || >=1.0.0`, OSV introduced "0" or
// "0.0.1" with no fix, or fixed at 99999.0.0) names no release in particular, whatever it excludes
// beyond it; real packages almost never reach major 100.
const EVERY_PLAUSIBLE_VERSION = { lowest: '0.0.1', above: '100.0.0' } as const;

/** Whether an npm range (a union of comparator sets) contains every version of EVERY_PLAUSIBLE_VERSION. */
function coversEveryPlausibleVersion(range: string): boolean {
  const { lowest, above } = EVERY_PLAUSIBLE_VERSION;
  let parsed: semver.Range;
  try {
    parsed = new semver.Range(range, WITH_PRERELEASES);
  } catch {
    return false;
  }
  // semver.subset only matches a piece against one member of a union: cut the probe at every bound
  // the range has inside it, so that no piece straddles two members (`<1.0.0 || >=1.0.0`), and check
  // each bound itself apart (`<=1.0.0 || >1.0.0` puts 1.0.0 in one member and what follows in another).
  const cuts = parsed.set
    .flat()
    .map((comparator) => comparator.semver)
    .filter((version): version is semver.SemVer => version instanceof semver.SemVer)
    .filter((version) => semver.gt(version, lowest) && semver.lt(version, above))
    .map((version) => version.version)
    .sort(semver.compare);
  const bounds = [...new Set([lowest, ...cuts, above])];
  return bounds
    .slice(0, -1)
    .every((from, i) => semver.satisfies(from, parsed, WITH_PRERELEASES) && semver.subset(`>${from} <${bounds[i + 1]!}`, parsed, WITH_PRERELEASES));
}

/**
 * The npm range an OSV range denotes (the schema's evaluation: sorted events, any one finite limit
 * bounding it), or undefined when it denotes nothing.
 */
function osvRangeAsNpmRange({ timeline, limits }: CompiledRange): string | undefined {
  const pieces: string[] = [];
  let from: string | undefined;
  for (const { kind, version } of timeline) {
    if (kind === 'introduced') from ??= version === BEGINNING ? '>=0.0.0-0' : `>=${version}`;
    else if (from !== undefined) {
      pieces.push(`${from} ${kind === 'fixed' ? '<' : '<='}${version}`);
      from = undefined;
    }
  }
  if (from !== undefined) pieces.push(from);
  const below = limits.length > 0 ? ` <${[...limits].sort(semver.compare).at(-1)!}` : '';
  return pieces.length > 0 ? pieces.map((piece) => `${piece}${below}`).join(' || ') : undefined;
}

// An OSV range that names no release in particular on its own. Decided from its shape, not by
// probing published versions; a record that covers everything with abutting pieces is caught too.
function matchesEveryVersion(range: CompiledRange): boolean {
  const npmRange = osvRangeAsNpmRange(range);
  return npmRange !== undefined && coversEveryPlausibleVersion(npmRange);
}

const describeOsvRange = (range: OsvRange): string =>
  `OSV range ${range.events
    .map(eventOf)
    .map((event) => (event ? `{${event.kind}: "${printable(event.version)}"}` : '{}'))
    .join(' ')}`;

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;

/**
 * Why acting on this alert automatically would hit too much, or undefined when it would not: a range
 * that alone matches every version (checked only when `pkg` is given), or an affected set that is every
 * published version. Deprecating a whole package is a human's call.
 */
export function overBroadReason(published: readonly string[], affected: readonly string[], pkg?: AffectedSpec): string | undefined {
  if (pkg) {
    const everything = [
      ...pkg.osvRanges.filter((range) => matchesEveryVersion(compileRange(range))).map(describeOsvRange),
      ...pkg.ranges.filter((range) => isNpmRange(range) && coversEveryPlausibleVersion(range)).map((range) => `range "${printable(range)}"`),
    ];
    if (everything.length > 0) {
      const exactVersions = pkg.versions.filter(isExactVersion).length;
      const narrowerRanges = pkg.osvRanges.length + pkg.ranges.filter(isNpmRange).length - everything.length;
      const narrower = [exactVersions > 0 && plural(exactVersions, 'exact version'), narrowerRanges > 0 && plural(narrowerRanges, 'narrower range')].filter(Boolean);
      // Feeds that merge a record's revisions keep the first import's {introduced: "0"} beside the
      // narrowed data: the narrow part is likely what the source means, but only a human can say.
      const leftover = narrower.length > 0 ? `, beside ${narrower.join(' and ')}: likely a leftover of an earlier revision` : '';
      return `${everything.join(', ')} alone matches every version${leftover}`;
    }
  }
  const releases = [...new Set(published.filter(isExactVersion))];
  const hit = new Set(affected);
  if (releases.length > 0 && releases.every((version) => hit.has(version))) {
    return releases.length === 1 ? 'the only published version is affected' : `all ${releases.length} published versions are affected`;
  }
  return undefined;
}

/** True when the containment must escalate to a human instead of acting: see overBroadReason. */
export function isOverBroad(published: readonly string[], affected: readonly string[], pkg?: AffectedSpec): boolean {
  return overBroadReason(published, affected, pkg) !== undefined;
}
