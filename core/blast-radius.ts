// Which of our releases an alert reaches: by the components they ship (SBOM), by the build that made
// them (provenance), or by who published them. Plain functions over a ReleaseIndexReader: no I/O of
// their own, so they answer the same in a test, the CLI and the incident workflow's activity.
//
// An answer that would hit too much is marked over-broad, never trimmed: deciding to deprecate most
// of what we ship is a human's call.
import * as semver from 'semver';
import type { AffectedSpec } from './osv-ranges';
import { affectedAmong, invalidVersionsIn, isOverBroad, overBroadReason } from './osv-ranges';
import { printable } from './spec';
import { releaseKey, type ComponentOccurrence, type ProvenanceStatus, type ReleaseIndexReader, type ReleaseProvenance, type ReleaseRef } from './release-index';

/** Why a release is in the blast radius. */
export type AffectedReason =
  | { kind: 'component'; component: { name: string; version: string; purl: string }; direct: boolean; path: string[] }
  | { kind: 'build'; matched: string[]; provenance: ReleaseProvenance }
  | { kind: 'publisher'; finding: string; provenance: ReleaseProvenance };

export interface AffectedRelease extends ReleaseRef {
  reasons: AffectedReason[];
}

export interface BlastRadius {
  /** What was asked, in words, for people and the timeline. */
  query: string;
  releases: AffectedRelease[];
  /** Set when acting on this answer automatically would hit too much: escalate to a human. */
  overBroad?: string;
  /** Input that was reported and not trusted (bad versions, bad ranges). */
  warnings: string[];
  /** How many releases the index knows: the denominator of "most of our releases". */
  indexedReleases: number;
  /** Set when the answer is too large to carry dependency paths (each component's path is then empty). */
  pathsOmitted?: string;
  /**
   * Packages of ours of which the answer names every indexed release, and why: containing them would
   * deprecate the whole package, so a person decides (the containment of the other packages goes on).
   */
  wholePackages?: { name: string; reason: string }[];
}

/** The packages of an answer whose every indexed release it names (overBroadReason per package). */
function wholePackagesOf(index: ReleaseIndexReader, releases: readonly AffectedRelease[]): { name: string; reason: string }[] {
  if (releases.length === 0) return [];
  const affected = new Map<string, string[]>();
  for (const release of releases) affected.set(release.name, [...(affected.get(release.name) ?? []), release.version]);
  const indexed = new Map<string, string[]>();
  for (const release of index.releases()) if (affected.has(release.name)) indexed.set(release.name, [...(indexed.get(release.name) ?? []), release.version]);
  return [...affected.entries()].flatMap(([name, versions]) => {
    const all = indexed.get(name) ?? versions;
    if (!isOverBroad(all, versions)) return [];
    const reason = all.length === 1 ? `${printable(name)}: its only indexed release is affected` : `${printable(name)}: all ${all.length} indexed releases are affected`;
    return [{ name, reason }];
  });
}

/**
 * Our own releases an alert about a "dependency" names exactly: a package the index has releases of
 * is ours even when QUARANTINE_OWNED_PACKAGES does not say so, and the release itself is what is
 * compromised, not only the releases that ship it. Ranges on our own package are never acted on
 * blindly (the intake sends them to review): they only raise a warning here.
 */
function ownReleasesNamed(index: ReleaseIndexReader, queries: readonly ComponentQuery[], warnings: string[]): { release: ReleaseRef; reason: AffectedReason }[] {
  const names = new Set(queries.map((query) => query.name));
  const ours = new Map<string, string[]>();
  for (const release of index.releases()) if (names.has(release.name)) ours.set(release.name, [...(ours.get(release.name) ?? []), release.version]);
  return queries.flatMap((query) => {
    const versions = ours.get(query.name);
    if (!versions) return [];
    const named = new Set(query.versions);
    const exact = versions.filter((version) => named.has(version));
    const byRange = affectedAmong(versions, { versions: [], ranges: query.ranges, osvRanges: query.osvRanges }).filter((version) => !named.has(version));
    if (byRange.length > 0) {
      warnings.push(`${printable(query.name)} is one of our packages: its ranges take ${byRange.length} of our releases, never contained automatically (confirm them and run quarantine ${printable(query.name)}@<version>)`);
    }
    return exact.map((version) => ({
      release: { name: query.name, version },
      reason: {
        kind: 'component' as const,
        component: { name: query.name, version, purl: `pkg:npm/${query.name.replace('@', '%40')}@${version}` },
        direct: true,
        path: [`${query.name}@${version}`],
      },
    }));
  });
}

/**
 * Above this many component occurrences an answer lists the releases without dependency paths: the
 * paths of thousands of releases help nobody, cost most of the query's time, and would swell the
 * activity result the incident workflow keeps in its history.
 */
export const PATH_DETAIL_LIMIT = 1_000;

// An answer naming more than half of everything we ship is not a containment plan.
const MOST_OF_OUR_RELEASES = 0.5;

function mostOfOurReleases(affected: number, total: number): string | undefined {
  if (affected < 2 || affected <= total * MOST_OF_OUR_RELEASES) return undefined;
  return `${affected} of our ${total} releases are affected: more than half of what we ship`;
}

const PLAIN_VERSION = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/;

/**
 * A string that sorts like the version, for plain x.y.z (almost every release); undefined for a
 * prerelease or anything else, which semver compares. Answers can name thousands of releases.
 */
function versionSortKey(version: string): string | undefined {
  const m = PLAIN_VERSION.exec(version);
  return m ? `${m[1]!.padStart(9, '0')}.${m[2]!.padStart(9, '0')}.${m[3]!.padStart(9, '0')}` : undefined;
}

function compareVersions(a: { version: string; key: string | undefined }, b: { version: string; key: string | undefined }): number {
  if (a.key !== undefined && b.key !== undefined) return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  const va = semver.valid(a.version);
  const vb = semver.valid(b.version);
  if (va && vb) return semver.compare(va, vb);
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

function collect(entries: { release: ReleaseRef; reason: AffectedReason }[]): AffectedRelease[] {
  const map = new Map<string, { release: AffectedRelease; version: string; key: string | undefined }>();
  for (const { release, reason } of entries) {
    const id = releaseKey(release);
    let found = map.get(id);
    if (!found) map.set(id, (found = { release: { name: release.name, version: release.version, reasons: [] }, version: release.version, key: versionSortKey(release.version) }));
    found.release.reasons.push(reason);
  }
  return [...map.values()]
    .sort((a, b) => (a.release.name !== b.release.name ? (a.release.name < b.release.name ? -1 : 1) : compareVersions(a, b)))
    .map((entry) => entry.release);
}

/** One package an alert names, with the versions it names (exact, npm ranges, OSV ranges). */
export interface ComponentQuery extends AffectedSpec {
  name: string;
}

function describeComponentQuery(query: ComponentQuery): string {
  const parts = [
    ...query.versions.map((v) => printable(v)),
    ...query.ranges.map((r) => `"${printable(r)}"`),
    ...query.osvRanges.map((r) => `${r.type} ${r.events.map((e) => Object.entries(e).map(([k, v]) => `${k} ${printable(String(v))}`).join('')).join(', ')}`),
  ];
  return `${printable(query.name)} ${parts.join(' | ') || '(no versions)'}`;
}

const occurrenceReason = ({ component }: ComponentOccurrence): AffectedReason => ({
  kind: 'component',
  component: { name: component.name, version: component.version, purl: component.purl },
  direct: component.direct,
  path: component.path,
});

/** Our releases that contain any of the named packages at a named version (OSV semantics: versions ∪ ranges). */
export function affectedByComponents(index: ReleaseIndexReader, queries: readonly ComponentQuery[]): BlastRadius {
  const warnings: string[] = [];
  const entries: { release: ReleaseRef; reason: AffectedReason }[] = [];
  const broad: string[] = [];
  const plans = queries.map((query) => {
    const bad = invalidVersionsIn(query);
    if (bad.length > 0) warnings.push(`${printable(query.name)}: ignored ${bad.map((b) => `"${printable(b)}"`).join(', ')} (not a version or range)`);
    const hit = affectedAmong(index.componentVersions(query.name), query);
    // Only the range-alone test applies here: every version of a dependency *we ship* being named is
    // what a malware record for one bad release looks like, not a sign of a careless range.
    const reason = overBroadReason([], hit, query);
    if (reason) broad.push(`${printable(query.name)}: ${reason}`);
    return { query, hit, count: hit.length === 0 ? 0 : index.countOccurrences(query.name, hit) };
  });
  const occurrences = plans.reduce((sum, plan) => sum + plan.count, 0);
  const paths = occurrences <= PATH_DETAIL_LIMIT;
  for (const { query, hit } of plans) {
    for (const occurrence of index.occurrencesOf(query.name, hit, { paths })) entries.push({ release: occurrence.release, reason: occurrenceReason(occurrence) });
  }
  entries.push(...ownReleasesNamed(index, queries, warnings));
  const releases = collect(entries);
  const total = index.releaseCount();
  const most = mostOfOurReleases(releases.length, total);
  if (most) broad.push(most);
  const wholePackages = wholePackagesOf(index, releases);
  return {
    query: `releases containing ${queries.map(describeComponentQuery).join('; ') || 'nothing'}`,
    releases,
    ...(broad.length > 0 ? { overBroad: broad.join('; ') } : {}),
    warnings,
    indexedReleases: total,
    ...(paths ? {} : { pathsOmitted: `${occurrences} occurrences, more than ${PATH_DETAIL_LIMIT}: dependency paths left out (ask about fewer versions for them)` }),
    ...(wholePackages.length > 0 ? { wholePackages } : {}),
  };
}

/** A compromised build, as far as it is known. Lists are alternatives; given dimensions must all match. */
export interface BuildQuery {
  runIds?: string[];
  commits?: string[];
  /** A workflow file, `.github/workflows/release.yml`, optionally prefixed with `owner/repo/` or the repository URL. */
  workflows?: string[];
  /** ISO 8601 instants, inclusive: releases published inside the window. */
  since?: string;
  until?: string;
}

export class QueryError extends Error {
  override name = 'QueryError';
}

const MIN_COMMIT_PREFIX = 7;

function normaliseCommit(commit: string): string {
  const c = commit.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(c) || c.length < MIN_COMMIT_PREFIX || c.length > 40) {
    throw new QueryError(`"${printable(commit)}" is not a git commit (7 to 40 hex digits)`);
  }
  return c;
}

function instant(value: string, flag: string): number {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(t)) throw new QueryError(`${flag} "${printable(value)}" is not an ISO 8601 date or time`);
  return t;
}

/** `owner/repo` of a GitHub repository URL, as people write it. */
export const repoPath = (repository: string | undefined): string => (repository ?? '').replace(/^https:\/\/github\.com\//, '').replace(/^git\+/, '').replace(/\.git$/, '');

function workflowMatches(wanted: string, p: ReleaseProvenance): boolean {
  if (!p.workflowPath) return false;
  const w = wanted.replace(/^https:\/\/github\.com\//, '');
  if (w === p.workflowPath) return true;
  return w === `${repoPath(p.repository)}/${p.workflowPath}`;
}

// Facts of an invalid attestation are not believed; a release without one has only its publish time.
const hasTrustedFacts = (status: ProvenanceStatus): boolean => status === 'verified' || status === 'unverified';

interface CheckedBuildQuery {
  runIds: string[];
  commits: string[];
  workflows: string[];
  since?: number;
  until?: number;
}

/** Throws QueryError for a query that names nothing or names it wrongly; the CLI calls it before opening anything. */
export function checkBuildQuery(query: BuildQuery): CheckedBuildQuery {
  const runIds = (query.runIds ?? []).map((r) => {
    if (!/^[0-9]+$/.test(r)) throw new QueryError(`run id "${printable(r)}" is not a number`);
    return r;
  });
  const commits = (query.commits ?? []).map(normaliseCommit);
  const workflows = (query.workflows ?? []).map((w) => w.trim()).filter((w) => w !== '');
  const since = query.since === undefined ? undefined : instant(query.since, '--since');
  const until = query.until === undefined ? undefined : instant(query.until, '--until');
  if (since !== undefined && until !== undefined && since > until) throw new QueryError('--since is after --until');
  if (runIds.length + commits.length + workflows.length === 0 && since === undefined && until === undefined) {
    throw new QueryError('name at least one run, commit, workflow or time bound');
  }
  return { runIds, commits, workflows, ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

/** Our releases built by the given runs, commits or workflow, or published inside the window. */
export function affectedByBuild(index: ReleaseIndexReader, query: BuildQuery): BlastRadius {
  const { runIds, commits, workflows, since, until } = checkBuildQuery(query);
  const entries: { release: ReleaseRef; reason: AffectedReason }[] = [];
  const warnings: string[] = [];
  // The index narrows; every record it returns is still checked below.
  const workflowPaths = workflows.flatMap((w) => {
    const path = w.replace(/^https:\/\/github\.com\//, '');
    const withoutRepo = path.split('/').slice(2).join('/');
    return withoutRepo ? [path, withoutRepo] : [path];
  });
  const filter = {
    ...(runIds.length > 0 ? { runIds } : {}),
    ...(commits.length > 0 ? { commitPrefixes: commits } : {}),
    ...(workflowPaths.length > 0 ? { workflowPaths } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
  for (const p of index.provenance(filter)) {
    const matched: string[] = [];
    const trusted = hasTrustedFacts(p.status);
    if (runIds.length > 0) {
      if (!trusted || !p.runId || !runIds.includes(p.runId)) continue;
      matched.push(`run ${p.runId}${p.runAttempt ? ` attempt ${p.runAttempt}` : ''}`);
    }
    if (commits.length > 0) {
      const commit = p.commit?.toLowerCase();
      if (!trusted || !commit || !commits.some((c) => commit.startsWith(c))) continue;
      matched.push(`commit ${commit}`);
    }
    if (workflows.length > 0) {
      if (!trusted || !workflows.some((w) => workflowMatches(w, p))) continue;
      matched.push(`workflow ${repoPath(p.repository)}/${p.workflowPath ?? ''}`);
    }
    if (since !== undefined || until !== undefined) {
      const published = p.publishedAt === undefined ? NaN : Date.parse(p.publishedAt);
      if (Number.isNaN(published)) {
        warnings.push(`${releaseKey(p.release)}: no publish time known, not judged by the time window`);
        continue;
      }
      if ((since !== undefined && published < since) || (until !== undefined && published > until)) continue;
      matched.push(`published ${p.publishedAt ?? ''}`);
    }
    entries.push({ release: p.release, reason: { kind: 'build', matched, provenance: p } });
  }
  const releases = collect(entries);
  const total = index.releaseCount();
  const most = mostOfOurReleases(releases.length, total);
  const described = [
    runIds.length > 0 && `run ${runIds.join(' or ')}`,
    commits.length > 0 && `commit ${commits.join(' or ')}`,
    workflows.length > 0 && `workflow ${workflows.map((w) => printable(w)).join(' or ')}`,
    since !== undefined && `published from ${query.since ?? ''}`,
    until !== undefined && `published until ${query.until ?? ''}`,
  ].filter(Boolean);
  const wholePackages = wholePackagesOf(index, releases);
  return {
    query: `releases built by ${described.join(', ')}`,
    releases,
    ...(most ? { overBroad: most } : {}),
    warnings,
    indexedReleases: total,
    ...(wholePackages.length > 0 ? { wholePackages } : {}),
  };
}

/** Who is allowed to publish: repositories (`owner/repo`) and workflow files. Empty: learn it per package. */
export interface PublisherPolicy {
  repositories?: string[];
  workflows?: string[];
}

function usual(records: ReleaseProvenance[]): { repository: string; workflowPath: string } | undefined {
  const counts = new Map<string, number>();
  for (const r of records) {
    if (r.status !== 'verified' || !r.repository || !r.workflowPath) continue;
    const key = `${repoPath(r.repository)}\n${r.workflowPath}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  const [top, second] = ranked;
  // A tie has no usual publisher: every release is then judged by the policy alone.
  if (!top || (second && second[1] === top[1])) return undefined;
  const [repository = '', workflowPath = ''] = top[0].split('\n');
  return { repository, workflowPath };
}

/**
 * Releases whose publisher is suspect: no provenance, provenance that does not verify, or a repository
 * or workflow other than the policy's (or, without a policy, other than the one most of the package's
 * verified releases came from).
 */
export function publisherFindings(index: ReleaseIndexReader, policy: PublisherPolicy = {}): BlastRadius {
  const byPackage = new Map<string, ReleaseProvenance[]>();
  for (const p of index.provenance()) byPackage.set(p.release.name, [...(byPackage.get(p.release.name) ?? []), p]);
  const repositories = (policy.repositories ?? []).map(repoPath);
  const workflows = policy.workflows ?? [];
  const entries: { release: ReleaseRef; reason: AffectedReason }[] = [];
  for (const records of byPackage.values()) {
    const learned = repositories.length === 0 && workflows.length === 0 ? usual(records) : undefined;
    for (const p of records) {
      const finding = (() => {
        if (p.status === 'none') return 'published without provenance';
        if (p.status === 'invalid') return `provenance does not verify: ${p.reason ?? 'invalid'}`;
        const repo = repoPath(p.repository);
        if (repositories.length > 0 && !repositories.includes(repo)) return `built in ${repo}, not an expected repository`;
        if (workflows.length > 0 && !workflows.some((w) => workflowMatches(w, p))) return `built by ${p.workflowPath ?? '?'}, not an expected workflow`;
        if (learned && (repo !== learned.repository || p.workflowPath !== learned.workflowPath)) {
          return `built by ${repo}/${p.workflowPath ?? '?'}, while the package's other releases come from ${learned.repository}/${learned.workflowPath}`;
        }
        if (p.status === 'unverified') return `provenance could not be verified: ${p.reason ?? 'unverified'}`;
        return undefined;
      })();
      if (finding) entries.push({ release: p.release, reason: { kind: 'publisher', finding, provenance: p } });
    }
  }
  return {
    query: 'releases with a suspect publisher',
    releases: collect(entries),
    warnings: [],
    indexedReleases: index.releaseCount(),
  };
}
