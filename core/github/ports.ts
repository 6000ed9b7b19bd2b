// What the GitHub side of the playbook asks of the outside world, as types: the worker implements them
// (activities/github.ts, activities/github-targets.ts); the workflow sees only these shapes.
import type { ActionOutcome } from '../playbook/action';
import type { AnyGithubAction, GithubFacts } from './action';

/** Failure types of the GitHub activities that trying again cannot fix. */
export const GITHUB_FINAL_FAILURE_TYPES = ['GithubNeedsPerson', 'GithubRejected', 'GithubConflict'] as const;

/** Where each affected release came from, as the npm registry and the release index know it. */
export interface ReleaseSource {
  name: string;
  /** The packument's `repository` (a string or its `url`), as written: parsed by core/github/repository.ts. */
  repository?: string;
  /** Every version the registry lists: a tight range never spans a good release. */
  published: string[];
  /** Per affected version, the build its provenance names (verified or unverified provenance only). */
  builds: { version: string; repository: string; workflowPath: string; runId?: string; ref?: string }[];
}

export interface GithubTargetsRequest {
  registry: string;
  releases: { name: string; versions: string[] }[];
}

export interface GithubTargets {
  /** Whether this worker holds GitHub settings (and so runs the GitHub activities). */
  configured: boolean;
  sources: ReleaseSource[];
}

/** Always registered: reads no GitHub, only the npm registry and the release index. */
export interface GithubTargetActivities {
  readGithubTargets(request: GithubTargetsRequest): Promise<GithubTargets>;
}

/** Registered only when the worker has GitHub settings. */
export interface GithubActivities {
  /** Runs one action: reads first, writes only what differs, returns the before and after. */
  runGithubAction(action: AnyGithubAction): Promise<ActionOutcome>;
  /** What the repository shows now of what the action is for: the read-back. */
  readGithubFacts(action: AnyGithubAction): Promise<GithubFacts>;
}
