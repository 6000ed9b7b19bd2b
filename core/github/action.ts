// The GitHub side of containment as data: what the playbook does in the repository a compromised
// release came from. A parallel type to the npm actions (core/playbook/action.ts) rather than more
// kinds of NpmAction: npm actions are keyed by package and run through the package writers, these by
// repository and run by their own small executor (workflows/github-containment.ts); sharing the type
// would put a repository case in every package switch there. They share the gates, the audit event
// shape and the ActionState statuses. Pure and workflow-safe.
import type { Gate } from '../playbook/action';

export interface RepositoryRef {
  owner: string;
  repo: string;
}

export interface AdvisoryVulnerability {
  package: { ecosystem: 'npm'; name: string };
  /** Exact versions only (`= 1.2.3`, or a tight `>= 1.2.3, <= 1.2.4` with no good release between): never `>= 0`. */
  vulnerable_version_range: string;
  patched_versions: string | null;
}

/** The body of a repository security advisory as GitHub's create and update routes take it. */
export interface AdvisoryDraft {
  summary: string;
  description: string;
  severity: 'critical' | 'high' | 'medium' | 'low';
  cwe_ids: string[];
  vulnerabilities: AdvisoryVulnerability[];
}

/** Which Actions caches a purge deletes: every one, or those whose key / ref starts so. */
export interface CacheScope {
  keyPrefix?: string;
  refPrefix?: string;
}

export const GITHUB_ACTION_KINDS = ['draft-advisory', 'publish-advisory', 'disable-workflow', 'cancel-runs', 'purge-caches', 'tracking-issue'] as const;
export type GithubActionKind = (typeof GITHUB_ACTION_KINDS)[number];

interface GithubActionBase {
  /** Stable across plans of the same incident: approvals and the timeline name actions by it. */
  id: string;
  repository: RepositoryRef;
  gate: Gate;
  /** The policy rule that set the gate, for the audit. */
  rule: string;
  why: string;
}

export type GithubAction =
  /** `marker` finds the incident's advisory again (in its description): one per incident and repository. */
  | (GithubActionBase & { kind: 'draft-advisory'; marker: string; advisory: AdvisoryDraft })
  | (GithubActionBase & { kind: 'publish-advisory'; marker: string })
  /** `workflow`: the workflow's file name (`release.yml`), as GitHub's workflow routes take it. */
  | (GithubActionBase & { kind: 'disable-workflow'; workflow: string })
  | (GithubActionBase & { kind: 'cancel-runs'; workflow: string; graceSeconds: number })
  | (GithubActionBase & { kind: 'purge-caches'; scope: CacheScope })
  | (GithubActionBase & { kind: 'tracking-issue'; marker: string; title: string; body: string; labels: string[] });

/** Rollback only. */
export type GithubUndoAction =
  | (GithubActionBase & { kind: 'enable-workflow'; workflow: string })
  | (GithubActionBase & { kind: 'close-advisory'; marker: string });

export type AnyGithubAction = GithubAction | GithubUndoAction;

export function repositoryName(repository: RepositoryRef): string {
  return `${repository.owner}/${repository.repo}`;
}

/** The audit target: `github:owner/repo`, with what in it. */
export function githubTarget(action: AnyGithubAction): string {
  const base = `github:${repositoryName(action.repository)}`;
  switch (action.kind) {
    case 'disable-workflow':
    case 'enable-workflow':
    case 'cancel-runs':
      return `${base}/actions/workflows/${action.workflow}`;
    case 'purge-caches':
      return `${base}/actions/caches`;
    case 'tracking-issue':
      return `${base}/issues`;
    default:
      return `${base}/security-advisories`;
  }
}

export function describeGithubAction(action: AnyGithubAction): string {
  const repo = repositoryName(action.repository);
  switch (action.kind) {
    case 'draft-advisory':
      return `draft the security advisory of ${repo} for ${action.advisory.vulnerabilities.map((v) => `${v.package.name} ${v.vulnerable_version_range}`).join('; ')}`;
    case 'publish-advisory':
      return `publish the incident's security advisory of ${repo}`;
    case 'disable-workflow':
      return `disable the workflow ${action.workflow} of ${repo}`;
    case 'cancel-runs':
      return `cancel the runs in flight of ${action.workflow} in ${repo} (force-cancel after ${action.graceSeconds} s)`;
    case 'purge-caches': {
      const scope = [action.scope.keyPrefix ? `key ${action.scope.keyPrefix}*` : '', action.scope.refPrefix ? `ref ${action.scope.refPrefix}*` : ''].filter(Boolean).join(', ');
      return `purge the Actions caches of ${repo}${scope ? ` (${scope})` : ' (all)'}`;
    }
    case 'tracking-issue':
      return `open the tracking issue in ${repo}`;
    case 'enable-workflow':
      return `enable the workflow ${action.workflow} of ${repo} again`;
    case 'close-advisory':
      return `close the incident's draft security advisory of ${repo}`;
  }
}

/** The permission each action needs, as GitHub names it for an App or a fine-grained token. */
export function permissionFor(kind: AnyGithubAction['kind']): string {
  switch (kind) {
    case 'draft-advisory':
    case 'publish-advisory':
    case 'close-advisory':
      return 'repository_advisories: write';
    case 'tracking-issue':
      return 'issues: write';
    default:
      return 'actions: write';
  }
}

/** What a read-back of one action found in the repository. */
export type GithubFacts =
  | { kind: 'advisory'; advisory: AdvisorySnapshot | null }
  | { kind: 'workflow'; state: string }
  | { kind: 'runs'; inFlight: number[] }
  | { kind: 'caches'; remaining: number }
  | { kind: 'issue'; number: number | null };

export interface AdvisorySnapshot {
  ghsa_id: string;
  state: string;
  severity: string | null;
  cwe_ids: string[];
  vulnerabilities: { package: string | null; vulnerable_version_range: string | null; patched_versions: string | null }[];
  html_url?: string;
}

/** Whether the repository shows what the action is for: the executor's verify step. */
export function githubActionHolds(action: AnyGithubAction, facts: GithubFacts): boolean {
  switch (action.kind) {
    case 'draft-advisory': {
      if (facts.kind !== 'advisory' || !facts.advisory || facts.advisory.state === 'closed' || facts.advisory.state === 'withdrawn') return false;
      const want = action.advisory.vulnerabilities.map((v) => `${v.package.name} ${v.vulnerable_version_range} ${v.patched_versions ?? ''}`).sort();
      const have = facts.advisory.vulnerabilities.map((v) => `${v.package} ${v.vulnerable_version_range} ${v.patched_versions ?? ''}`).sort();
      return JSON.stringify(want) === JSON.stringify(have);
    }
    case 'publish-advisory':
      return facts.kind === 'advisory' && facts.advisory?.state === 'published';
    case 'close-advisory':
      return facts.kind === 'advisory' && (facts.advisory === null || facts.advisory.state === 'closed');
    case 'disable-workflow':
      return facts.kind === 'workflow' && facts.state.startsWith('disabled');
    case 'enable-workflow':
      return facts.kind === 'workflow' && facts.state === 'active';
    case 'cancel-runs':
      return facts.kind === 'runs' && facts.inFlight.length === 0;
    case 'purge-caches':
      return facts.kind === 'caches' && facts.remaining === 0;
    case 'tracking-issue':
      return facts.kind === 'issue' && facts.number !== null;
  }
}

/**
 * The write that undoes an executed action, from its before-image, or why none can: the workflow is
 * enabled again only if it was active before; a draft advisory is closed; deleted caches and
 * cancelled runs are gone.
 */
export function undoGithubAction(action: GithubAction, before: unknown): { undo: GithubUndoAction } | { irreversible: string } | { nothing: string } {
  const base = { id: `undo:${action.id}`, repository: action.repository, gate: 'auto' as Gate, rule: 'rollback', why: `undo: ${describeGithubAction(action)}` };
  const repo = repositoryName(action.repository);
  switch (action.kind) {
    case 'disable-workflow': {
      const state = (before as { state?: string } | undefined)?.state;
      if (state !== 'active') return { nothing: `the workflow ${action.workflow} of ${repo} was not active before the incident (${state ?? 'unknown'}): left disabled` };
      return { undo: { ...base, kind: 'enable-workflow', workflow: action.workflow } };
    }
    case 'draft-advisory':
      return { undo: { ...base, kind: 'close-advisory', marker: action.marker } };
    case 'purge-caches': {
      const deleted = (before as { caches?: { key: string; ref: string }[]; count?: number } | undefined) ?? {};
      const listed = (deleted.caches ?? []).map((c) => `${c.key} (${c.ref})`).join(', ');
      return { irreversible: `deleted Actions caches cannot be restored; the next runs rebuild them: ${deleted.count ?? 0} deleted${listed ? `: ${listed}` : ''}` };
    }
    case 'cancel-runs':
      return { irreversible: `cancelled runs of ${action.workflow} in ${repo} are not resumed; re-run them from GitHub if they were good` };
    case 'publish-advisory':
      return { irreversible: `a published advisory of ${repo} cannot be unpublished through GitHub's API; withdraw it from GitHub's web interface` };
    case 'tracking-issue':
      return { nothing: `the tracking issue in ${repo} stays open: it records the rollback too` };
  }
}
