// Whether npm would let us unpublish one version (docs.npmjs.com/policies/unpublish): within 72 hours
// of publishing when no other public package depends on it; after that only with no dependents, fewer
// than 300 downloads last week and a single owner. Planned per version; when npm would refuse, the
// plan deprecates and moves tags instead and says which condition failed.
import type { PackageFacts } from './action';

export const UNPUBLISH_GRACE_MS = 72 * 60 * 60 * 1000;
export const UNPUBLISH_MAX_WEEKLY_DOWNLOADS = 300;

export type UnpublishEligibility = { eligible: true; why: string } | { eligible: false; why: string };

export function unpublishEligibility(facts: PackageFacts, version: string, now: Date): UnpublishEligibility {
  const spec = `${facts.name}@${version}`;
  if (!facts.state.versions.includes(version)) return { eligible: false, why: `${spec} is not on the registry` };
  if (facts.dependents === undefined) return { eligible: false, why: `the number of packages depending on ${facts.name} is unknown, and npm refuses an unpublish when there are any` };
  if (facts.dependents > 0) return { eligible: false, why: `${facts.dependents} public package${facts.dependents === 1 ? ' depends' : 's depend'} on ${facts.name}` };
  const publishedAt = Date.parse(facts.published[version] ?? '');
  if (Number.isNaN(publishedAt)) return { eligible: false, why: `the registry gives no publish time for ${spec}` };
  const age = now.getTime() - publishedAt;
  if (age < UNPUBLISH_GRACE_MS) return { eligible: true, why: `${spec} was published ${hours(age)} ago (within 72 hours) and nothing depends on it` };
  const problems: string[] = [];
  if (facts.downloadsLastWeek === undefined) problems.push('last week\'s downloads are unknown');
  else if (facts.downloadsLastWeek >= UNPUBLISH_MAX_WEEKLY_DOWNLOADS) problems.push(`${facts.downloadsLastWeek} downloads last week (npm allows fewer than ${UNPUBLISH_MAX_WEEKLY_DOWNLOADS})`);
  if (facts.maintainers.length !== 1) problems.push(`${facts.maintainers.length} owners (npm allows a single one)`);
  if (problems.length > 0) return { eligible: false, why: `${spec} is older than 72 hours and ${problems.join(' and ')}` };
  return { eligible: true, why: `${spec} is older than 72 hours, but has no dependents, ${facts.downloadsLastWeek} downloads last week and one owner` };
}

function hours(ms: number): string {
  const h = Math.max(0, Math.floor(ms / 3_600_000));
  return h === 0 ? 'less than an hour' : `${h} hour${h === 1 ? '' : 's'}`;
}
