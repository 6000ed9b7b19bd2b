// The policy's `github` section: which GitHub actions run at once, wait for a person or never run, per
// trigger; which repository and workflow a package comes from when its packument and provenance do not
// say (or say wrong); which caches a purge takes; the grace period before a run is force-cancelled;
// where the timeline is. Pure and workflow-safe.
import type { ActionRule, Trigger } from '../playbook/policy';
import { GITHUB_ACTION_KINDS, type CacheScope, type GithubActionKind } from './action';

export interface GithubPolicy {
  /** Per trigger, the rule of each GitHub action. */
  triggers: Record<Trigger, Record<GithubActionKind, ActionRule>>;
  /** Package name -> its repository (`owner/repo`) and, optionally, its publish workflow's file name. */
  repositories: Record<string, { repository: string; workflow?: string }>;
  /** Which Actions caches a purge deletes (default all of the repository's). */
  caches: CacheScope;
  /** How long a cancelled run may take to stop before it is force-cancelled. */
  cancelGraceSeconds: number;
  /** The incident's timeline for the advisory and the issue: `{incident}` is replaced by the incident id. */
  timelineUrl?: string;
  /** Labels of the tracking issue (the first one also finds it again). */
  issueLabels: string[];
  /** GitHub's host for packument repository URLs (github.com, or a GitHub Enterprise Server's). */
  host: string;
}

/** GitHub actions that never run without a person: a published advisory is public and cannot be taken back. */
export const GITHUB_ALWAYS_GATED: readonly GithubActionKind[] = ['publish-advisory'];

function rules(overrides: Partial<Record<GithubActionKind, ActionRule>>): Record<GithubActionKind, ActionRule> {
  return { ...(Object.fromEntries(GITHUB_ACTION_KINDS.map((k) => [k, 'off'])) as Record<GithubActionKind, ActionRule>), ...overrides };
}

/**
 * A malicious release (malware, a compromised build, an on-call report): its draft advisory (private)
 * is opened, the publish workflow disabled, its runs cancelled and the caches purged at once;
 * publishing the advisory waits for a person; no issue is opened (it would be public in a public
 * repository). A leaked token or a vulnerability does nothing on GitHub.
 */
const MALICIOUS = rules({ 'draft-advisory': 'auto', 'publish-advisory': 'approval', 'disable-workflow': 'auto', 'cancel-runs': 'auto', 'purge-caches': 'auto' });

export const DEFAULT_GITHUB_POLICY: GithubPolicy = {
  triggers: { malware: MALICIOUS, 'compromised-build': MALICIOUS, 'on-call': MALICIOUS, 'leaked-token': rules({}), vulnerability: rules({}) },
  repositories: {},
  caches: {},
  cancelGraceSeconds: 60,
  issueLabels: ['quarantine'],
  host: 'github.com',
};

export function githubRuleFor(policy: GithubPolicy, trigger: Trigger, kind: GithubActionKind): { rule: ActionRule; name: string } {
  const configured = policy.triggers[trigger][kind];
  const rule = configured === 'auto' && GITHUB_ALWAYS_GATED.includes(kind) ? 'approval' : configured;
  return { rule, name: `github.${trigger}.${kind}=${rule}` };
}
