// The GitHub side of a compromise, planned: from the affected releases, where they came from (the
// packument's repository, each release's provenance, the policy's mapping) and the safe release the
// registry containment moved to, the actions for each repository: the draft advisory naming exactly
// the affected versions, its publication (a person's), the publish workflow stopped, its runs in
// flight cancelled, the Actions caches purged, the tracking issue. Pure and workflow-safe.
import * as semver from 'semver';
import type { AlertSeverity } from '../alert';
import { incidentMarker, publishableAdvisoryIds } from '../plan';
import type { Trigger } from '../playbook/policy';
import type { AdvisoryDraft, AdvisoryVulnerability, GithubAction, GithubActionKind, RepositoryRef } from './action';
import { githubRuleFor, type GithubPolicy } from './policy';
import type { ReleaseSource } from './ports';
import { parseRepository, workflowFile } from './repository';

export interface GithubPlanInput {
  incident: string;
  trigger: Trigger;
  severity: AlertSeverity;
  /** The incident's affected releases: exact versions per package. */
  releases: { name: string; versions: string[] }[];
  sources: ReleaseSource[];
  /** Package -> the release `latest` was moved back to (the registry plan's safe release). */
  safeReleases: Record<string, string>;
  /** Advisory ids from the reports: only their strict forms reach the advisory. */
  advisories: string[];
  policy: GithubPolicy;
}

export interface GithubPlan {
  actions: GithubAction[];
  /** What could not be planned, and what a person can do about it. */
  notes: string[];
}

const GITHUB_SEVERITY: Record<AlertSeverity, AdvisoryDraft['severity']> = { critical: 'critical', high: 'high', moderate: 'medium', low: 'low', unknown: 'critical' };
const MAX_SUMMARY = 1024;
const MAX_DESCRIPTION = 60_000;

/** The text that finds the incident's advisory and issue again. */
export function githubMarker(incident: string): string {
  return `[quarantine ${incidentMarker(incident)}]`;
}

const key = (r: RepositoryRef) => `${r.owner}/${r.repo}`.toLowerCase();

/**
 * The affected versions as GitHub vulnerable ranges: `= 1.2.3` for a version alone, and a tight
 * `>= 1.2.3, <= 1.2.5` only for versions with no release between them that is not affected (so no good
 * release is ever named). Never an open range.
 */
export function vulnerableRanges(affected: readonly string[], published: readonly string[]): { range: string; highest: string }[] {
  const bad = new Set(affected);
  const ordered = [...new Set(published)].filter((v) => semver.valid(v)).sort(semver.compare);
  const runs: string[][] = [];
  let current: string[] = [];
  for (const version of ordered) {
    if (bad.has(version)) current.push(version);
    else if (current.length > 0) {
      runs.push(current);
      current = [];
    }
  }
  if (current.length > 0) runs.push(current);
  // A version the registry no longer lists (unpublished) stands alone: what lay around it is unknown.
  for (const version of [...bad].filter((v) => !ordered.includes(v)).sort()) runs.push([version]);
  return runs.map((run) => ({ range: run.length === 1 ? `= ${run[0]}` : `>= ${run[0]}, <= ${run.at(-1)}`, highest: run.at(-1)! }));
}

function repositoryOf(name: string, source: ReleaseSource | undefined, policy: GithubPolicy): RepositoryRef | undefined {
  const mapped = policy.repositories[name];
  if (mapped) return parseRepository(mapped.repository, policy.host);
  const fromPackument = source?.repository === undefined ? undefined : parseRepository(source.repository, policy.host);
  if (fromPackument) return fromPackument;
  for (const build of source?.builds ?? []) {
    const fromBuild = parseRepository(build.repository, policy.host);
    if (fromBuild) return fromBuild;
  }
  return undefined;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function planGithub(input: GithubPlanInput): GithubPlan {
  const { incident, trigger, policy } = input;
  const actions: GithubAction[] = [];
  const notes: string[] = [];
  const marker = githubMarker(incident);
  const sourceOf = new Map(input.sources.map((s) => [s.name, s]));
  const releases = [...input.releases].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const timeline = policy.timelineUrl?.replace('{incident}', encodeURIComponent(incident));

  const packagesOf = new Map<string, { repository: RepositoryRef; packages: { name: string; versions: string[] }[] }>();
  /** Repository -> the workflow files that built affected releases there (provenance) or the policy names. */
  const workflowsOf = new Map<string, { repository: RepositoryRef; files: Set<string> }>();
  const addWorkflow = (repository: RepositoryRef, file: string) => {
    const entry = workflowsOf.get(key(repository)) ?? { repository, files: new Set<string>() };
    entry.files.add(file);
    workflowsOf.set(key(repository), entry);
  };
  for (const release of releases) {
    const source = sourceOf.get(release.name);
    const repository = repositoryOf(release.name, source, policy);
    if (!repository) {
      notes.push(`${release.name}: no GitHub repository known (no packument repository on ${policy.host}, no provenance): nothing planned on GitHub; map it in the policy's github.repositories`);
      continue;
    }
    const group = packagesOf.get(key(repository)) ?? { repository, packages: [] };
    group.packages.push(release);
    packagesOf.set(key(repository), group);
    const mappedWorkflow = policy.repositories[release.name]?.workflow;
    if (mappedWorkflow) {
      const file = workflowFile(mappedWorkflow);
      if (file) addWorkflow(repository, file);
      else notes.push(`${release.name}: the policy's workflow ${JSON.stringify(mappedWorkflow)} is not a workflow file name: not stopped`);
    }
    const builds = (source?.builds ?? []).filter((b) => release.versions.includes(b.version));
    for (const build of builds) {
      const built = parseRepository(build.repository, policy.host);
      const file = workflowFile(build.workflowPath);
      if (built && file) addWorkflow(built, file);
    }
    if (!mappedWorkflow && builds.length === 0) {
      notes.push(`${release.name}: no provenance names the workflow that built ${release.versions.join(', ')}: no workflow stopped for it; name it in the policy's github.repositories`);
    }
  }

  type Draft = GithubAction extends infer A ? (A extends GithubAction ? Omit<A, 'gate' | 'rule'> : never) : never;
  const add = (kind: GithubActionKind, action: Draft): void => {
    const { rule, name } = githubRuleFor(policy, trigger, kind);
    if (rule === 'off') return;
    actions.push({ ...action, gate: rule === 'auto' ? 'auto' : 'approval', rule: name } as GithubAction);
  };

  const allAffected = releases.reduce((n, r) => n + r.versions.length, 0);
  const advisoryIds = publishableAdvisoryIds(input.advisories);
  for (const { repository, packages } of [...packagesOf.values()].sort((a, b) => (key(a.repository) < key(b.repository) ? -1 : 1))) {
    const repo = `${repository.owner}/${repository.repo}`;
    const vulnerabilities: AdvisoryVulnerability[] = [];
    const lines: string[] = [];
    for (const pkg of packages) {
      const safe = input.safeReleases[pkg.name];
      const published = sourceOf.get(pkg.name)?.published ?? [];
      for (const { range, highest } of vulnerableRanges(pkg.versions, published)) {
        // A safe release below the bad ones is where `latest` went back to, not a fix: GitHub reads patched as "upgrade to".
        const patched = safe !== undefined && semver.valid(safe) && semver.valid(highest) && semver.gt(safe, highest) ? safe : null;
        vulnerabilities.push({ package: { ecosystem: 'npm', name: pkg.name }, vulnerable_version_range: range, patched_versions: patched });
      }
      lines.push(`- ${pkg.name}: ${[...pkg.versions].sort(semver.compareLoose).join(', ')}${safe ? ` (\`latest\` moved back to ${safe})` : ''}`);
    }
    const names = packages.map((p) => p.name);
    const what = trigger === 'compromised-build' ? 'were published by a compromised build' : 'contain malicious code';
    const description = clip(
      [
        `These releases ${what}. Do not install them; they are deprecated on the registry.`,
        '',
        ...lines,
        '',
        `Blast radius: ${allAffected} release${allAffected === 1 ? '' : 's'} of ${releases.length} package${releases.length === 1 ? '' : 's'} in this incident.`,
        `Incident: ${incident}`,
        ...(timeline ? [`Timeline: ${timeline}`] : []),
        ...(advisoryIds.length > 0 ? [`Related: ${advisoryIds.join(', ')}`] : []),
        '',
        marker,
      ].join('\n'),
      MAX_DESCRIPTION,
    );
    const advisory: AdvisoryDraft = {
      summary: clip(`Compromised releases of ${names.join(', ')}`, MAX_SUMMARY),
      description,
      severity: GITHUB_SEVERITY[input.severity],
      // CWE-506, Embedded Malicious Code: what a malware or compromised-build release carries.
      cwe_ids: ['CWE-506'],
      vulnerabilities,
    };
    const why = `${names.join(', ')} come${names.length === 1 ? 's' : ''} from ${repo}`;
    add('draft-advisory', { id: `github:draft-advisory:${repo}`, kind: 'draft-advisory', repository, marker, advisory, why: `${why}: its users learn of it through a (private, until published) advisory` });
    add('publish-advisory', { id: `github:publish-advisory:${repo}`, kind: 'publish-advisory', repository, marker, why: 'publishing makes the advisory public and feeds npm audit: a person decides' });
    add('tracking-issue', {
      id: `github:tracking-issue:${repo}`,
      kind: 'tracking-issue',
      repository,
      marker,
      title: clip(`Security incident: compromised releases of ${names.join(', ')}`, 256),
      body: [`quarantine contains compromised releases of this repository's packages.`, '', ...lines, '', `Incident: ${incident}`, ...(timeline ? [`Timeline: ${timeline}`] : []), '', marker].join('\n'),
      labels: policy.issueLabels,
      why: 'the maintainers follow the incident in one place',
    });
  }
  for (const { repository, files } of [...workflowsOf.values()].sort((a, b) => (key(a.repository) < key(b.repository) ? -1 : 1))) {
    const repo = `${repository.owner}/${repository.repo}`;
    for (const workflow of [...files].sort()) {
      add('disable-workflow', { id: `github:disable-workflow:${repo}:${workflow}`, kind: 'disable-workflow', repository, workflow, why: `${workflow} built the affected releases: it must not publish again until the repository is clean` });
      add('cancel-runs', { id: `github:cancel-runs:${repo}:${workflow}`, kind: 'cancel-runs', repository, workflow, graceSeconds: policy.cancelGraceSeconds, why: `a run of ${workflow} in flight may be publishing more` });
    }
    add('purge-caches', { id: `github:purge-caches:${repo}`, kind: 'purge-caches', repository, scope: policy.caches, why: 'a poisoned Actions cache re-serves the compromise to the next build (TanStack, 2026)' });
  }
  return { actions, notes };
}
