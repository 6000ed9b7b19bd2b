// Frozen copy of core/plan.ts as incidentWorkflow v1 used it (commit 6d6756c): incidents started by that
// code replay and carry on with the decisions (and the deprecation marker) they started with. Never edit.
import * as semver from 'semver';
import type { PackageState } from '../../core/package-state';

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
}

/** npm shows deprecation messages in every installer's terminal: keep them to one clean line. */
const MAX_MESSAGE_LENGTH = 300;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function oneCleanLine(text: string, maxLength = MAX_MESSAGE_LENGTH): string {
  const clean = text.replace(CONTROL_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > maxLength ? `${clean.slice(0, maxLength - 1)}…` : clean;
}

/** Names the incident inside a deprecation message, so that a later run of it leaves the message be. */
export function incidentMarker(incident: string): string {
  return `(quarantine incident ${incident})`;
}

export function deprecationMessage(incident: string, reason: string): string {
  return oneCleanLine(`SECURITY: this release is compromised, do not install it ${incidentMarker(incident)}: ${reason}`);
}

/**
 * The highest release a dist-tag may safely point at: not affected, not deprecated, not a prerelease.
 * Undefined when the package has none.
 */
export function highestSafeVersion(state: PackageState, affected: readonly string[]): string | undefined {
  const candidates = state.versions.filter(
    (v) => semver.valid(v) !== null && !affected.includes(v) && !(v in state.deprecated) && semver.prerelease(v) === null,
  );
  return semver.rsort(candidates)[0];
}

export function planContainment(
  state: PackageState,
  affectedVersions: readonly string[],
  message: string,
  marker: string = message,
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
  for (const [tag, version] of Object.entries(state.distTags).sort(([a], [b]) => a.localeCompare(b))) {
    if (!affected.includes(version)) continue;
    if (tag === 'latest') {
      // The registry refuses to drop `latest`: it has to point somewhere safe.
      const safe = highestSafeVersion(state, affected);
      if (safe === undefined) {
        // Deprecating still warns every installer: do it, and leave latest to a human (publish a clean release).
        unresolved.push(`latest stays on ${state.name}@${version}: no unaffected, undeprecated release to move it to; publish a clean release`);
      } else {
        tagMoves.push({ tag, from: version, to: safe });
      }
    } else {
      tagMoves.push({ tag, from: version, to: null });
    }
  }
  return { name: state.name, affected, message, marker, deprecate, tagMoves, blockers, unresolved };
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
