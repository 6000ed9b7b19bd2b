// The GitHub side of a playbook incident: once the registry's containment is verified, plan the GitHub
// actions (core/github/plan.ts), run those that run at once, read each back, and record all of it on
// the incident's audit trail like the npm actions. It runs beside the playbook's loop, never in its
// way: a slow or absent GitHub delays only these actions, never a registry write. One pass at a time;
// a pass asked for while one runs follows it. Approvals of its gated actions (publishing the advisory)
// come through the playbook's approval update; rollback closes the draft advisory and enables the
// workflow again.
import { condition, proxyActivities } from '@temporalio/workflow';
import { describeGithubAction, githubActionHolds, githubTarget, undoGithubAction, type AnyGithubAction, type GithubAction } from '../core/github/action';
import { planGithub } from '../core/github/plan';
import { DEFAULT_GITHUB_POLICY } from '../core/github/policy';
import { GITHUB_FINAL_FAILURE_TYPES, type GithubActivities, type GithubTargetActivities } from '../core/github/ports';
import type { Policy } from '../core/playbook/policy';
import type { AuditEvent, GithubActionState, GithubView, PlaybookView } from '../core/playbook/view';

/** The patch behind which incidents act on GitHub: histories recorded before it replay without. */
export const GITHUB_ACTIONS_PATCH = 'github-actions';

const targets = proxyActivities<GithubTargetActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

const github = proxyActivities<GithubActivities>({
  // A purge of thousands of caches at GitHub's pace of one write a second takes a while: it heartbeats.
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '1 minute',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 30,
    nonRetryableErrorTypes: [...GITHUB_FINAL_FAILURE_TYPES],
  },
});

/** Within a repository: stop the workflow first, then tell users, then the rest (cancelling waits out a grace period). */
const ORDER: readonly GithubAction['kind'][] = ['disable-workflow', 'draft-advisory', 'cancel-runs', 'purge-caches', 'tracking-issue', 'publish-advisory'];

export interface GithubContainmentContext {
  view: PlaybookView;
  policy: Policy;
  actor: string;
  record(event: Omit<AuditEvent, 'seq' | 'at'>): void;
  failureOf(err: unknown): { type?: string; message: string };
}

export interface GithubContainment {
  /** Plans and runs the GitHub actions (after the registry's containment is verified); returns at once. */
  request(): void;
  /** Resolves when no pass runs (before a rollback, a continue-as-new, the end). */
  idle(): Promise<void>;
  stateOf(id: string): GithubActionState | undefined;
  /** Runs approved GitHub actions and reads them back. */
  approve(ids: readonly string[], by: string, note?: string): Promise<void>;
  reject(ids: readonly string[], by: string, note?: string): void;
  rollback(by: string): Promise<void>;
}

export function githubContainment(ctx: GithubContainmentContext): GithubContainment {
  const { view } = ctx;
  let running: Promise<void> | undefined;
  let again = false;

  function side(): GithubView {
    return (view.github ??= { actions: [], notes: [] });
  }

  function stateOf(id: string): GithubActionState | undefined {
    return view.github?.actions.find((a) => a.action.id === id);
  }

  function event(state: GithubActionState, phase: AuditEvent['phase'], detail: string, actor = ctx.actor, extra: Partial<AuditEvent> = {}): void {
    ctx.record({ actor, phase, actionId: state.action.id, target: githubTarget(state.action), detail, ...extra });
  }

  async function execute(state: GithubActionState, action: AnyGithubAction = state.action): Promise<boolean> {
    state.status = 'running';
    event(state, 'started', describeGithubAction(action), state.approvedBy ?? ctx.actor);
    try {
      const outcome = await github.runGithubAction(action);
      Object.assign(state, { status: 'done', before: outcome.before, after: outcome.after, changed: outcome.changed, error: undefined });
      event(state, outcome.changed ? 'succeeded' : 'unchanged', outcome.changed ? `${describeGithubAction(action)}: done (${action.rule})` : `${describeGithubAction(action)}: already so, nothing written`, state.approvedBy ?? ctx.actor, { before: outcome.before, after: outcome.after });
      return true;
    } catch (err) {
      const failure = ctx.failureOf(err);
      Object.assign(state, { status: 'failed', error: failure.message });
      event(state, 'failed', failure.type === 'GithubNeedsPerson' ? failure.message : `${describeGithubAction(action)}: ${failure.message}`);
      return false;
    }
  }

  async function verify(state: GithubActionState, action: AnyGithubAction = state.action): Promise<void> {
    try {
      const holds = githubActionHolds(action, await github.readGithubFacts(action));
      if (!holds) Object.assign(state, { status: 'failed', error: 'read back: GitHub does not show it' });
      event(state, holds ? 'verified' : 'verify-failed', `${describeGithubAction(action)}: ${holds ? 'read back in place' : 'read back: not in place'}`);
    } catch (err) {
      Object.assign(state, { status: 'failed', error: `read back failed: ${ctx.failureOf(err).message}` });
      event(state, 'verify-failed', `${describeGithubAction(action)}: could not be read back: ${ctx.failureOf(err).message}`);
    }
  }

  /** Each repository's actions in order, repositories at once. */
  async function runAll(states: readonly GithubActionState[]): Promise<void> {
    const byRepository = new Map<string, GithubActionState[]>();
    for (const state of states) {
      const key = `${state.action.repository.owner}/${state.action.repository.repo}`;
      byRepository.set(key, [...(byRepository.get(key) ?? []), state]);
    }
    const rank = (s: GithubActionState) => ORDER.indexOf(s.action.kind as GithubAction['kind']);
    await Promise.all(
      [...byRepository.values()].map(async (list) => {
        for (const state of [...list].sort((a, b) => rank(a) - rank(b))) if (await execute(state)) await verify(state);
      }),
    );
  }

  async function pass(): Promise<void> {
    const { compromise } = view;
    const policy = ctx.policy.github ?? DEFAULT_GITHUB_POLICY;
    const found = await targets.readGithubTargets({ registry: compromise.registry, releases: compromise.releases });
    const mine = side();
    if (!found.configured) {
      if (!mine.notConfigured) {
        mine.notConfigured = true;
        // On GitHub's lane of the timeline, not the registry's.
        ctx.record({ actor: ctx.actor, phase: 'planned', target: 'github:', detail: 'GitHub not configured on the worker (GITHUB_TOKEN, or a GitHub App): no advisory drafted, no workflow stopped; the registry containment goes on' });
      }
      return;
    }
    // Where `latest` went back to: the advisory's patched version when it is above the bad ones.
    const safeReleases: Record<string, string> = {};
    for (const state of view.actions) {
      const action = state.action;
      if (state.status === 'done' && action.kind === 'dist-tag' && action.tag === 'latest' && action.to !== null) safeReleases[action.package] = action.to;
    }
    const plan = planGithub({ incident: view.incident, trigger: compromise.trigger, severity: compromise.severity, releases: compromise.releases, sources: found.sources, safeReleases, advisories: compromise.advisories, policy });
    mine.notes = plan.notes;
    const added: GithubActionState[] = [];
    for (const action of plan.actions) {
      const same = mine.actions.filter((a) => a.action.id === action.id || a.action.id.startsWith(`${action.id}~`));
      if (same.some((a) => ['planned', 'waiting', 'running'].includes(a.status))) continue;
      const last = same.at(-1);
      const settled = last && (last.status === 'done' || last.status === 'rejected' || last.status === 'skipped' || last.status === 'undone');
      // Done as planned, or decided by a person: asked again only when the incident learned more (an advisory's versions).
      if (settled && JSON.stringify({ ...last.action, id: action.id }) === JSON.stringify(action)) continue;
      if (last?.status === 'undone' || last?.status === 'rejected') continue;
      const id = same.length === 0 ? action.id : `${action.id}~${same.length + 1}`;
      const state: GithubActionState = { action: { ...action, id }, status: action.gate === 'auto' ? 'planned' : 'waiting' };
      mine.actions.push(state);
      added.push(state);
    }
    const auto = added.filter((a) => a.status === 'planned');
    const gated = added.filter((a) => a.status === 'waiting');
    if (added.length > 0 || plan.notes.length > 0) {
      ctx.record({ actor: ctx.actor, phase: 'planned', detail: `GitHub: ${auto.length} action${auto.length === 1 ? '' : 's'} at once, ${gated.length} waiting for a person`, ...(plan.notes.length > 0 ? { evidence: plan.notes } : {}) });
    }
    for (const state of gated) event(state, 'approval-requested', `${describeGithubAction(state.action)}: waits for an approver (${state.action.rule}); quarantine approve ${view.incident} ${state.action.id}`);
    await runAll(auto);
    mine.passedAt = new Date(Date.now()).toISOString();
  }

  return {
    request() {
      if (view.status === 'rolled-back') return;
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        do {
          again = false;
          await pass();
        } while (again);
      })()
        .catch((err: unknown) => {
          ctx.record({ actor: ctx.actor, phase: 'failed', detail: `GitHub: the pass stopped: ${ctx.failureOf(err).message}` });
        })
        .finally(() => {
          running = undefined;
        });
    },
    idle: () => condition(() => running === undefined),
    stateOf,
    async approve(ids, by, note) {
      await condition(() => running === undefined);
      const states = ids.map((id) => stateOf(id)!);
      for (const state of states) {
        Object.assign(state, { status: 'planned', approvedBy: by });
        event(state, 'approved', `${describeGithubAction(state.action)}: approved${note ? `: ${note}` : ''}`, by);
      }
      await runAll(states);
    },
    reject(ids, by, note) {
      for (const id of ids) {
        const state = stateOf(id)!;
        state.status = 'rejected';
        event(state, 'rejected', `${describeGithubAction(state.action)}: rejected${note ? `: ${note}` : ''}`, by);
      }
    },
    async rollback(by) {
      await condition(() => running === undefined);
      for (const state of [...(view.github?.actions ?? [])].reverse()) {
        if (state.status === 'waiting' || state.status === 'planned') {
          state.status = 'skipped';
          continue;
        }
        if (state.status !== 'done') continue;
        const undo = undoGithubAction(state.action as GithubAction, state.before);
        if (!('undo' in undo)) {
          event(state, 'not-undoable', 'irreversible' in undo ? undo.irreversible : undo.nothing);
          continue;
        }
        const step = undo.undo;
        try {
          const outcome = await github.runGithubAction(step);
          const holds = githubActionHolds(step, await github.readGithubFacts(step));
          state.status = holds ? 'undone' : 'failed';
          event(state, holds ? 'rolled-back' : 'verify-failed', `${describeGithubAction(step)}${holds ? '' : ': read back: not in place'}`, holds ? by : ctx.actor, { target: githubTarget(step), before: outcome.before, after: outcome.after });
        } catch (err) {
          event(state, 'failed', `${describeGithubAction(step)}: ${ctx.failureOf(err).message}`);
        }
      }
    },
  };
}
