// Containment decisions for one package on one registry. Pure functions: the workflow calls them
// between activities, tests call them without any server.
import * as semver from 'semver';
import type { PackageState } from './package-state';
import { sha256Hex } from './sha256';

export interface TagMove {
  tag: string;
  from: string;
  /** The version the tag moves to; null removes the tag. */
  to: string | null;
}

export interface ContainmentPlan {
  name: string;
  affected: string[];
  /** The message every affected version must carry. */
  message: string;
  /** What marks a message as this incident's: a version carrying it needs no new write. */
  marker: string;
  /** Affected versions whose deprecation message is not yet the incident's. */
  deprecate: string[];
  tagMoves: TagMove[];
  /** Reasons the plan cannot contain the release; the workflow stops before writing when non-empty. */
  blockers: string[];
  /** What the plan cannot fix by itself but which does not stop the rest (a human must act). */
  unresolved: string[];
  /**
   * Why this containment is too broad to run on an alert alone (every published version, more versions
   * than the limit, `latest` with no safe target): it waits for a person, whose own report approves it.
   */
  overBroad: string[];
}

/** npm shows deprecation messages in every installer's terminal: keep them to one clean line. */
const MAX_MESSAGE_LENGTH = 300;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function oneCleanLine(text: string, maxLength = MAX_MESSAGE_LENGTH): string {
  const clean = text.replace(CONTROL_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 1)}…` : clean;
}

/**
 * Names the incident inside a deprecation message, so that a later run of it leaves the message be: a
 * fixed-length hash of the id, so that no number of versions and no name length can push it out of the
 * message (an id lists every version and the package name).
 */
export function incidentMarker(incident: string): string {
  return `qi:${sha256Hex(incident).slice(0, 8)}`;
}

// Advisory ids whose form we know exactly: nothing else of an alert reaches the public registry.
const ADVISORY_IDS: readonly { pattern: RegExp; link: (id: string) => string }[] = [
  { pattern: /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/, link: (id) => `https://github.com/advisories/${id}` },
  { pattern: /^MAL-\d{4}-\d{1,10}$/, link: (id) => `https://osv.dev/vulnerability/${id}` },
  { pattern: /^CVE-\d{4}-\d{4,10}$/, link: (id) => `https://osv.dev/vulnerability/${id}` },
];
const MAX_ADVISORIES_IN_MESSAGE = 3;

/** Whether an alert id (a source id or an alias) is an advisory id we may publish in a message. */
export function isPublishableAdvisoryId(id: string): boolean {
  return ADVISORY_IDS.some(({ pattern }) => pattern.test(id));
}

/** The advisory ids among alert ids, deduplicated, in order, at most a few: what a message names. */
export function publishableAdvisoryIds(ids: readonly string[]): string[] {
  return [...new Set(ids.filter(isPublishableAdvisoryId))].slice(0, MAX_ADVISORIES_IN_MESSAGE);
}

export interface MessageDetails {
  /** Advisory ids from the reports; only ids of a known strict form are used, the rest is dropped. */
  advisories?: readonly string[];
  /** An on-call person's own words (`--reason`); never an alert's text. */
  reason?: string;
}

/**
 * Our deprecation message: a fixed sentence, the incident marker, advisory ids with one link we build
 * ourselves, then the on-call reason if any. The marker comes before anything variable, so the length
 * cut can only shorten the reason.
 */
export function deprecationMessage(incident: string, details: MessageDetails = {}): string {
  const advisories = publishableAdvisoryIds(details.advisories ?? []);
  const first = advisories[0];
  const link = first === undefined ? undefined : ADVISORY_IDS.find(({ pattern }) => pattern.test(first))?.link(first);
  const about = [incidentMarker(incident), advisories.join(', '), link].filter((part) => part !== undefined && part !== '').join('; ');
  const reason = details.reason === undefined ? '' : oneCleanLine(details.reason);
  return oneCleanLine(`SECURITY: this release is compromised, do not install it (${about})${reason ? `: ${reason}` : ''}`);
}

/** How many versions an alert may deprecate on its own in one package; more waits for a person. */
export const DEFAULT_MAX_VERSIONS_PER_CONTAINMENT = 10;

export interface PlanOptions {
  /** More affected versions than this waits for a person (see DEFAULT_MAX_VERSIONS_PER_CONTAINMENT). */
  maxVersions?: number;
}

function isPrerelease(version: string): boolean {
  return semver.prerelease(version) !== null;
}

/**
 * The release line a version belongs to for `npm install`: its major, or for 0.x its minor, which is
 * where a caret range stops.
 */
function releaseLine(version: string): string {
  const parsed = semver.parse(version);
  if (parsed === null) return version;
  return parsed.major === 0 ? `0.${parsed.minor}` : String(parsed.major);
}

/**
 * The highest release a dist-tag may safely point at: not affected, not deprecated, not a prerelease,
 * and, when `sameLineAs` is given, in that version's release line (moving `latest` to a higher major
 * would push a breaking upgrade to every `npm install`). Undefined when the package has none.
 */
export function highestSafeVersion(state: PackageState, affected: readonly string[], sameLineAs?: string): string | undefined {
  const candidates = state.versions.filter(
    (v) =>
      semver.valid(v) !== null &&
      !affected.includes(v) &&
      !(v in state.deprecated) &&
      !isPrerelease(v) &&
      (sameLineAs === undefined || releaseLine(v) === releaseLine(sameLineAs)),
  );
  return semver.rsort(candidates)[0];
}

export function planContainment(
  state: PackageState,
  affectedVersions: readonly string[],
  message: string,
  marker: string = message,
  options: PlanOptions = {},
): ContainmentPlan {
  const affected = [...new Set(affectedVersions)].sort(semver.compare);
  const blockers: string[] = [];
  const missing = affected.filter((v) => !state.versions.includes(v));
  if (missing.length > 0) {
    blockers.push(`${missing.map((v) => `${state.name}@${v}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not on the registry`);
  }
  if (affected.length === 0) blockers.push('no affected version was named');

  const deprecate = affected.filter((v) => state.versions.includes(v) && !state.deprecated[v]?.includes(marker));

  const tagMoves: TagMove[] = [];
  const unresolved: string[] = [];
  const overBroad: string[] = [];
  for (const [tag, version] of Object.entries(state.distTags).sort(([a], [b]) => a.localeCompare(b))) {
    if (!affected.includes(version)) continue;
    if (tag === 'latest') {
      // The registry refuses to drop `latest`: it has to point somewhere safe, in the same release line.
      const safe = highestSafeVersion(state, affected, version);
      if (safe === undefined) {
        // Deprecating still warns every installer: do it, and leave latest to a human (publish a clean release).
        const line = releaseLine(version);
        unresolved.push(`latest stays on ${state.name}@${version}: no unaffected, undeprecated release in ${line.startsWith('0.') ? line : `${line}.x`} to move it to; publish a clean release`);
        overBroad.push(`latest (${version}) would have no safe release to move to`);
      } else {
        tagMoves.push({ tag, from: version, to: safe });
      }
    } else {
      tagMoves.push({ tag, from: version, to: null });
    }
  }
  // The same rule as osv-ranges' overBroadReason, kept here because workflow code may not load what
  // that module imports (spec parsing pulls in node's module list).
  const published = state.versions.filter((v) => semver.valid(v) !== null);
  if (published.length > 0 && published.every((v) => affected.includes(v))) {
    overBroad.unshift(`${published.length === 1 ? 'the only published version is' : `all ${published.length} published versions are`} affected: the whole package would be deprecated`);
  }
  const limit = options.maxVersions ?? DEFAULT_MAX_VERSIONS_PER_CONTAINMENT;
  if (affected.length > limit) overBroad.push(`${affected.length} versions, more than the limit of ${limit} for one containment`);
  return { name: state.name, affected, message, marker, deprecate, tagMoves, blockers, unresolved, overBroad };
}

/** Whether carrying out the plan would write anything: what drift looks like on a contained incident. */
export function planWrites(plan: ContainmentPlan): boolean {
  return plan.deprecate.length > 0 || plan.tagMoves.length > 0;
}

export interface VerificationCheck {
  check: string;
  ok: boolean;
  expected: string;
  actual: string;
}

/** Reads the containment back: every affected version deprecated, no dist-tag left on one. */
export function verifyContainment(plan: ContainmentPlan, state: PackageState): VerificationCheck[] {
  const checks: VerificationCheck[] = plan.affected.map((version) => ({
    check: `${plan.name}@${version} deprecated`,
    ok: state.deprecated[version]?.includes(plan.marker) ?? false,
    expected: plan.message,
    actual: state.deprecated[version] ?? '(not deprecated)',
  }));
  for (const [tag, version] of Object.entries(state.distTags)) {
    const move = plan.tagMoves.find((m) => m.tag === tag);
    checks.push({
      check: `dist-tag ${tag}`,
      ok: !plan.affected.includes(version) && (move?.to === undefined || move.to === null || move.to === version),
      expected: move?.to ?? 'an unaffected version',
      actual: version,
    });
  }
  for (const move of plan.tagMoves.filter((m) => m.to === null)) {
    if (!(move.tag in state.distTags)) {
      checks.push({ check: `dist-tag ${move.tag}`, ok: true, expected: '(removed)', actual: '(removed)' });
    }
  }
  return checks;
}
