// The containment playbook: one incident per compromise, every package and version it touches. It reads
// each package, plans (core/playbook, pure), and runs the plan with one executor: gate, execute, verify,
// record. Actions that run at once go first, package by package in parallel (writes to one package in
// order); actions behind a gate wait for an approver's update; everything lands on the audit trail. A
// person may roll the incident back: what can be undone is, from the before-images the execution kept.
import {
  ActivityFailure,
  ApplicationFailure,
  type ActivityOptions,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import { actionHolds, actionPackage, describeAction, readBackFor, undoFor, type PackageFacts, type PlaybookAction } from '../core/playbook/action';
import { mergeReleases, planPlaybook, type Compromise } from '../core/playbook/plan';
import { mayApprove, type Policy } from '../core/playbook/policy';
import type { GithubActionKind } from '../core/github/action';
import { activityBatches, FINAL_FAILURE_TYPES, type FactsRequest, type PackageWriteOutcome, type PackageWriterActivities, type PackageWrites, type PlaybookActivities, type SealedSecret } from '../core/playbook/ports';
import { actionTarget, boundEvents, boundReports, type ActionState, type AuditEvent, type PlaybookStatus, type PlaybookView } from '../core/playbook/view';
import { compactReport } from '../core/incident';
import { isOnCallReport, reportAuthorizesWrites } from '../core/write-authority';
import {
  approvalRefusedSignal,
  approveUpdate,
  closeSignal,
  compromiseReportsSignal,
  PACKAGE_WRITERS_PATCH,
  WRITER_READ_BACK_PATCH,
  DEPRECATIONS_FIRST_PATCH,
  BATCHED_READS_PATCH,
  packageWrittenSignal,
  playbookQuery,
  rejectUpdate,
  reportCompromiseUpdate,
  rollbackUpdate,
  type ApprovalRequest,
  type CompromiseReport,
  type RollbackRequest,
} from './definitions';
import { GITHUB_ACTIONS_PATCH, githubContainment } from './github-containment';
import { durationText, historyIsLong, INCIDENT_IDLE_TIMEOUT_MS, INCIDENT_RECHECK_INTERVAL_MS, MIN_IDLE_TIMEOUT_MS, requestedDuration } from './lifetime';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from './search-attributes';

export interface PlaybookRequest {
  /** The compromise as the first report knows it; later reports add releases to it. */
  compromise: Compromise;
  /** The policy in force when the incident started: every gate on the audit trail names its rule. */
  policy: Policy;
  /** The report that starts the incident (an update-with-start may deliver it again: taken once). */
  first: CompromiseReport;
  /** Packages worked on at once (default 8); the worker also bounds requests per registry. */
  concurrency?: number;
  /** Closes the incident after this long without a report or a decision (default 7 days). */
  idleTimeoutMs?: number;
  /** How often a contained incident reads the registry back to catch drift (default 15 minutes). */
  recheckIntervalMs?: number;
  /** Read and plan only, write nothing, and end (`quarantine --plan`). */
  planOnly?: boolean;
  /** Set when the incident continues in a fresh run. */
  resume?: PlaybookView;
}

/** Failure types the activities raise that trying again cannot fix. */
export const NON_RETRYABLE_PLAYBOOK_ERRORS = FINAL_FAILURE_TYPES;

/** How the registry's activities are called, by the incident and by the package writers alike. */
export const NPM_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_PLAYBOOK_ERRORS],
  },
};

const npm = proxyActivities<PlaybookActivities>(NPM_ACTIVITY_OPTIONS);
const writers = proxyActivities<PackageWriterActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/** A writer that has not answered by then is taken as lost: its actions fail, and a person or the next pass reads again. */
const WRITER_ANSWER_TIMEOUT_MS = 30 * 60 * 1000;

const WORKFLOW_ACTOR = 'quarantine';
/** Shortest re-check interval a request may ask for: a typo must not make an incident spin. */
const MIN_RECHECK_MS = 1_000;
/** The lane of account-wide writes (tokens): no package name can take this form. */
const ACCOUNT_LANE = '(account)';
const DEFAULT_CONCURRENCY = 8;
/** A dist-tag moved by someone else between our read and our write: read and plan that package again, at most this often. */
const MAX_REPLANS = 3;

function now(): string {
  return new Date(Date.now()).toISOString();
}

/** Why a done action failed its read-back. */
const NOT_READ_BACK = 'read back: the registry does not show it';

export function failureOf(err: unknown): { type?: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
  return { message: cause instanceof Error ? cause.message : String(cause) };
}

export async function playbookWorkflow(request: PlaybookRequest): Promise<PlaybookView> {
  const { policy } = request;
  const idleMs = requestedDuration(request.idleTimeoutMs, INCIDENT_IDLE_TIMEOUT_MS, MIN_IDLE_TIMEOUT_MS);
  const recheckMs = requestedDuration(request.recheckIntervalMs, INCIDENT_RECHECK_INTERVAL_MS, MIN_RECHECK_MS);
  const concurrency = Math.max(1, Math.min(32, request.concurrency ?? DEFAULT_CONCURRENCY));
  const view: PlaybookView = request.resume ?? {
    incident: request.compromise.incident,
    registry: request.compromise.registry,
    compromise: { ...request.compromise, releases: [], advisories: [], approvedReleases: [], tokens: [] },
    status: 'running',
    actions: [],
    holds: [],
    notes: [],
    blockers: [],
    unresolved: [],
    otp: { actions: 0, passwords: 0, perWindow: policy.otp.actionsPerWindow, windowMinutes: policy.otp.windowMinutes },
    reports: [],
    events: [],
    eventsDropped: 0,
    startedAt: now(),
  };
  // The live compromise: reports add releases to it, and it travels with the view through continue-as-new.
  const compromise = view.compromise;
  let seq = view.events.at(-1)?.seq ?? 0;
  /** Containment passes asked for and done: a waiting reporter gets an answer from a pass after its report. */
  let requested = 0;
  let done = 0;
  let passCause = '';
  let lastActivityMs = Date.now();
  let closeReason: string | undefined;
  let rollbackRequest: RollbackRequest | undefined;
  /** One-time passwords, in memory only: never in the view, and ciphertext in history (the codec). */
  const passwords = new Map<string, { secret: SealedSecret; until: number; uses: number }>();
  /** Actions approved and not yet run, in the order they were approved. */
  const approved: { actionId: string; password?: string }[] = [];
  /** Approvals taken and approvals run, read back and settled: an approver's answer comes after all three. */
  let approvalsTaken = 0;
  let approvalsSettled = 0;
  const waitingSince = new Map<string, number>();
  /** Requests handed to package writers and not yet answered, and the answers in. */
  const awaitedWrites = new Set<string>();
  /** Per request, each writer's answer (a request split over several writers is answered once by each). */
  const writeAnswers = new Map<string, Map<string, PackageWriteOutcome[]>>();
  /**
   * Packages as their writers read them right after our latest writes to them, until a verification
   * uses them (once): that verification then reads nothing itself.
   */
  const readAfterWrites = new Map<string, PackageFacts | null>();

  function record(event: Omit<AuditEvent, 'seq' | 'at'>): void {
    view.events.push({ seq: ++seq, at: now(), ...event });
    boundEvents(view);
  }

  // The GitHub side runs beside the registry's containment, after it is verified (workflows/github-containment.ts).
  const githubSide = patched(GITHUB_ACTIONS_PATCH) ? githubContainment({ view, policy, actor: WORKFLOW_ACTOR, record, failureOf }) : undefined;

  function setStatus(status: PlaybookStatus): void {
    if (view.status === status) return;
    view.status = status;
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: status }]);
  }

  function stateOf(id: string): ActionState | undefined {
    return view.actions.find((a) => a.action.id === id);
  }

  // Writes to one package run one after another, across the automatic lanes, approvals and rollback.
  const lanes = new Map<string, Promise<unknown>>();
  let running = 0;
  /** Runs `work` in one of the incident's `concurrency` slots, once one is free. */
  async function inSlot<T>(work: () => Promise<T>): Promise<T> {
    await condition(() => running < concurrency);
    running += 1;
    try {
      return await work();
    } finally {
      running -= 1;
    }
  }

  // Writes handed to the package writers take no slot (executeLanes): the writers and the worker's per-registry gate bound them.
  function inLane<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = lanes.get(key) ?? Promise.resolve();
    // Not inLanes([key], …): its Promise.all would add ticks to the chain incidents recorded before it replay through.
    const next = previous.then(() => inSlot(work));
    lanes.set(key, next.catch(() => undefined));
    return next;
  }

  /** Like inLane, for work on several packages at once: it starts after each one's earlier work, and theirs after it. */
  function inLanes<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const next = Promise.all(keys.map((key) => lanes.get(key))).then(() => inSlot(work));
    const tail = next.catch(() => undefined);
    for (const key of keys) lanes.set(key, tail);
    return next;
  }

  /** What a read for planning asks beyond the packument: what the policy may act on. */
  function planningReads(): Omit<FactsRequest, 'registry' | 'name'> {
    const wants = policy.triggers[compromise.trigger].actions;
    return { trust: wants['revoke-trust'] !== 'off', staged: wants['reject-staged'] !== 'off', access: wants['require-2fa'] !== 'off', unpublish: wants.unpublish !== 'off' };
  }

  /**
   * Reads one package: for planning, what the policy may act on; for a read-back, only what the
   * actions being checked changed (each fact is a request to the registry).
   */
  async function readFacts(name: string, checking?: readonly PlaybookAction[]): Promise<PackageFacts | null> {
    const facts = checking ? { ...readBackFor(checking), unpublish: false } : planningReads();
    return npm.readPackageFacts({ registry: compromise.registry, name, ...facts });
  }

  /**
   * Reads packages for planning: a few to an activity since that patch (each package's read still after
   * its lane's earlier work), one activity each before it. In the order asked.
   */
  async function readForPlanning(names: readonly string[]): Promise<(PackageFacts | null)[]> {
    if (!patched(BATCHED_READS_PATCH)) return Promise.all(names.map((name) => inLane(name, () => readFacts(name))));
    const batches = await Promise.all(activityBatches(names).map((batch) => inLanes(batch, () => npm.readPackagesFacts({ registry: compromise.registry, names: batch, ...planningReads() }))));
    return batches.flat();
  }

  /** The done actions of a package: what its read-back checks. */
  function doneOn(name: string): PlaybookAction[] {
    return view.actions.filter((a) => a.status === 'done' && actionPackage(a.action) === name).map((a) => a.action);
  }

  function markStarted(state: ActionState): void {
    state.status = 'running';
    record({ actor: state.approvedBy ?? WORKFLOW_ACTOR, phase: 'started', actionId: state.action.id, target: actionTarget(state.action), detail: describeAction(state.action) });
  }

  async function runDirectly(action: PlaybookAction, password?: SealedSecret): Promise<PackageWriteOutcome> {
    try {
      return { actionId: action.id, outcome: await npm.runNpmAction(action, password) };
    } catch (err) {
      return { actionId: action.id, failure: failureOf(err) };
    }
  }

  /**
   * Runs writes to packages through their writers (workflows/package-writer.ts), each of which runs a
   * package's writes after every earlier request's to it, whichever incident sent them; returns one
   * result per action.
   */
  async function runThroughWriters(writes: readonly PackageWrites[], password?: SealedSecret): Promise<Map<string, PackageWriteOutcome>> {
    const requestId = uuid4();
    awaitedWrites.add(requestId);
    writeAnswers.set(requestId, new Map());
    // An earlier read of these packages is about to be stale (their answers may come before this activity's result).
    for (const write of writes) readAfterWrites.delete(write.name);
    const answering = await writers.requestPackageWrites({ requestId, incident: workflowInfo().workflowId, registry: compromise.registry, writes: [...writes] }, password);
    await condition(() => writeAnswers.get(requestId)!.size >= answering, WRITER_ANSWER_TIMEOUT_MS);
    const results = [...writeAnswers.get(requestId)!.values()].flat();
    writeAnswers.delete(requestId);
    awaitedWrites.delete(requestId);
    const silent = { type: 'WriterSilent', message: `the writer did not answer within ${durationText(WRITER_ANSWER_TIMEOUT_MS)}: read the registry before acting again` };
    const all = writes.flatMap((w) => w.actions);
    return new Map(all.map((a) => [a.id, results.find((r) => r.actionId === a.id) ?? { actionId: a.id, failure: silent }]));
  }

  /**
   * Runs the actions of several lanes (each in its order) at once: through the package writers in one
   * request where they take them, directly in the incident otherwise (tokens, and incidents recorded
   * before the writers).
   */
  async function executeLanes(lanes: readonly { key: string; states: readonly ActionState[] }[], password?: SealedSecret): Promise<void> {
    const viaWriters = lanes.filter((lane) => writesThroughWriters(lane.key));
    const direct = lanes.filter((lane) => !viaWriters.includes(lane));
    await Promise.all([
      ...direct.map((lane) => inLane(lane.key, () => executeAll(lane.key, lane.states, password))),
      (async () => {
        if (viaWriters.length === 0) return;
        for (const lane of viaWriters) lane.states.forEach(markStarted);
        const readBack = patched(WRITER_READ_BACK_PATCH);
        const writes = viaWriters.map((lane): PackageWrites => {
          const actions = lane.states.map((s) => s.action);
          return { name: lane.key, actions, ...(readBack ? { readBack: readBackFor([...doneOn(lane.key), ...actions]) } : {}) };
        });
        const results = await runThroughWriters(writes, password);
        for (const lane of viaWriters) for (const state of lane.states) settleAction(state, results.get(state.action.id)!, password);
      })(),
    ]);
  }

  /** Whether writes to packages go through their writers: incidents recorded before the writers keep writing themselves. */
  function writesThroughWriters(key: string): boolean {
    return key !== ACCOUNT_LANE && patched(PACKAGE_WRITERS_PATCH);
  }

  /** Runs the actions of one lane in order, from the incident itself: gate passed, execute, record. */
  async function executeAll(key: string, states: readonly ActionState[], password?: SealedSecret): Promise<void> {
    for (const state of states) {
      markStarted(state);
      settleAction(state, await runDirectly(state.action, password), password);
    }
  }

  function settleAction(state: ActionState, result: PackageWriteOutcome, password?: SealedSecret): void {
    const { action } = state;
    if ('outcome' in result) {
      const { outcome } = result;
      Object.assign(state, { status: 'done', before: outcome.before, after: outcome.after, changed: outcome.changed, error: undefined });
      record({
        actor: state.approvedBy ?? WORKFLOW_ACTOR,
        phase: outcome.changed ? 'succeeded' : 'unchanged',
        actionId: action.id,
        target: actionTarget(action),
        before: outcome.before,
        after: outcome.after,
        detail: outcome.changed ? `${describeAction(action)}: done (${action.rule})` : `${describeAction(action)}: already so, nothing written`,
      });
      return;
    }
    const { failure } = result;
    if (failure.type === 'RegistryOtpRequired') {
      // Not a failure: a person gives the password. The one we held (if any) is wrong or expired.
      if (password) passwords.forEach((p, key) => p.secret === password && passwords.delete(key));
      state.status = 'waiting';
      waitingSince.set(action.id, Date.now());
      const why = password ? `the registry refused the one-time password ${state.approvedBy ?? 'the approver'} gave (wrong or expired)` : 'npm asks a one-time password';
      record({ actor: WORKFLOW_ACTOR, phase: 'approval-requested', actionId: action.id, target: actionTarget(action), detail: `${describeAction(action)}: ${why}; approve it with one (quarantine approve ${view.incident} ${action.id} --otp CODE)` });
      return;
    }
    const status = failure.type === 'ActionConflict' ? 'conflict' : 'failed';
    Object.assign(state, { status, error: failure.message });
    record({ actor: WORKFLOW_ACTOR, phase: status === 'conflict' ? 'conflict' : 'failed', actionId: action.id, target: actionTarget(action), detail: `${describeAction(action)}: ${failure.message}` });
  }

  /**
   * Reads the packages back and checks every action that ran on them. Returns the packages whose read
   * asks for a tag move again: a tag left on a version another incident deprecated after our plan read
   * the package (the writes are serialised, the plans are not).
   */
  async function verify(packages: readonly string[]): Promise<string[]> {
    if (packages.length === 0) return [];
    const read = await Promise.all(
      packages
        .filter((name) => name !== ACCOUNT_LANE)
        .map((name) => {
          const fresh = readAfterWrites.get(name);
          readAfterWrites.delete(name);
          const needs = readBackFor(doneOn(name));
          // A read made for fewer actions than are done now (another pass finished meanwhile) is read again.
          const covers = (f: PackageFacts) => (!needs.trust || f.trust !== undefined) && (!needs.staged || f.staged !== undefined) && (!needs.access || f.publishRequires2fa !== undefined);
          if (fresh === null || (fresh !== undefined && covers(fresh))) return fresh;
          return inLane(name, () => readFacts(name, doneOn(name)));
        }),
    );
    const factsOf = new Map(read.filter((f): f is PackageFacts => f !== null).map((f) => [f.name, f]));
    const revocations = view.actions.some((a) => a.action.kind === 'revoke-token' && a.status === 'done');
    const tokenKeys = revocations ? await inLane(ACCOUNT_LANE, () => npm.listTokenKeys(compromise.registry)) : undefined;
    const doneBefore = new Set(view.actions.filter((s) => s.status === 'done').map((s) => s.action.id));
    for (const state of view.actions) {
      if (state.status !== 'done') continue;
      const pkg = actionPackage(state.action);
      if (pkg === undefined ? !packages.includes(ACCOUNT_LANE) : !packages.includes(pkg)) continue;
      const holds = actionHolds(state.action, pkg === undefined ? undefined : factsOf.get(pkg), tokenKeys);
      if (!holds) {
        state.status = 'failed';
        state.error = NOT_READ_BACK;
      }
      record({ actor: WORKFLOW_ACTOR, phase: holds ? 'verified' : 'verify-failed', actionId: state.action.id, target: actionTarget(state.action), detail: `${describeAction(state.action)}: ${holds ? 'read back in place' : 'read back: not in place'}` });
    }
    if (factsOf.size === 0 || !patched(PACKAGE_WRITERS_PATCH)) return [];
    const again = planPlaybook({ ...compromise, releases: compromise.releases.filter((r) => factsOf.has(r.name)) }, [...factsOf.values()], policy, new Date(Date.now()));
    // Only a tag we never moved, or moved and found elsewhere: a move of ours that failed is its own answer.
    const ours = (move: PlaybookAction) =>
      view.actions.filter((s) => s.action.kind === 'dist-tag' && move.kind === 'dist-tag' && s.action.package === move.package && s.action.tag === move.tag);
    // "Found elsewhere" is judged on our latest move as it stood before this read-back (which marks a
    // moved-away tag failed): a tag put back on a bad release right after our move is moved again.
    const movedAgain = patched(WRITER_READ_BACK_PATCH);
    const foundElsewhere = (move: PlaybookAction) => {
      if (!movedAgain) return ours(move).every((s) => s.status === 'done');
      const latest = ours(move).at(-1);
      return latest === undefined || doneBefore.has(latest.action.id);
    };
    const exposed = again.actions.filter((a) => a.kind === 'dist-tag' && a.gate === 'auto' && foundElsewhere(a));
    return [...new Set(exposed.map((a) => actionPackage(a)!))];
  }

  function settle(): void {
    if (view.status === 'rolled-back' || view.status === 'recorded' || view.status === 'planned') return;
    const states = view.actions;
    const failed = states.some((a) => a.status === 'failed' || a.status === 'conflict');
    const waiting = states.some((a) => a.status === 'waiting');
    const autoDone = states.every((a) => a.action.gate !== 'auto' || !['planned', 'running'].includes(a.status));
    if (failed) return setStatus('failed');
    if (!autoDone) return setStatus('running');
    const anyDone = states.some((a) => a.status === 'done');
    if (waiting && !anyDone && view.holds.length > 0) return setStatus('held');
    // Something named cannot be acted on, or stays unsafe: not contained, whatever else was done.
    if ((view.blockers ?? []).length > 0 || (view.unresolved ?? []).length > 0) return setStatus('failed');
    view.containedAt ??= now();
    if (waiting) return setStatus('contained');
    view.verifiedAt ??= now();
    setStatus('verified');
  }

  /**
   * Reads every package, plans the compromise and adds what the plan asks beyond what is already done
   * or waiting, then runs what runs at once. On a contained incident, anything new is drift (someone
   * undid a deprecation or moved a tag back) and is contained again.
   */
  async function containPass(): Promise<void> {
    const wasContained = view.status === 'verified' || view.status === 'contained';
    setStatus('running');
    view.lastCheckedAt = now();
    const names = compromise.releases.map((r) => r.name);
    const read = await readForPlanning(names);
    const facts = read.filter((f): f is PackageFacts => f !== null);
    const plan = planPlaybook(compromise, facts, policy, new Date(Date.now()));
    Object.assign(view, { holds: plan.holds, notes: plan.notes, blockers: plan.blockers, unresolved: plan.unresolved, otp: plan.otp });
    const added: ActionState[] = [];
    for (const action of plan.actions) {
      const same = view.actions.filter((a) => a.action.id === action.id || a.action.id.startsWith(`${action.id}~`));
      // Already waiting or under way: the new plan asks nothing more of it.
      if (same.some((a) => ['planned', 'waiting', 'running'].includes(a.status))) continue;
      // Decided by a person: not asked again for the same thing.
      if (same.some((a) => (a.status === 'rejected' || a.status === 'skipped') && JSON.stringify(a.action) === JSON.stringify(action))) continue;
      const id = same.length === 0 ? action.id : `${action.id}~${same.length + 1}`;
      // An earlier attempt that failed is answered by this one: it stays on the record, no longer open.
      for (const earlier of same.filter((a) => a.status === 'failed' || a.status === 'conflict')) {
        earlier.error = `${earlier.error ?? earlier.status}; planned again as ${id}`;
        earlier.status = 'skipped';
      }
      const state: ActionState = { action: { ...action, id }, status: action.gate === 'auto' ? 'planned' : 'waiting' };
      view.actions.push(state);
      added.push(state);
    }
    const auto = added.filter((a) => a.status === 'planned');
    const gated = added.filter((a) => a.status === 'waiting');
    record({
      actor: WORKFLOW_ACTOR,
      phase: 'planned',
      detail: `${passCause}: ${facts.length} of ${names.length} packages read; ${auto.length} action${auto.length === 1 ? '' : 's'} at once, ${gated.length} waiting for a person; ${plan.otp.passwords} one-time password${plan.otp.passwords === 1 ? '' : 's'} needed${plan.holds.length > 0 ? `; held: ${plan.holds.map((h) => h.reason).join('; ')}` : ''}`,
      evidence: plan.notes,
    });
    if (wasContained && auto.length > 0) {
      record({ actor: WORKFLOW_ACTOR, phase: 'drift', detail: `the registry no longer serves the containment: ${auto.map((a) => describeAction(a.action)).join('; ')}; contained again` });
    }
    if (request.planOnly) {
      // The actions keep the state they would start in (at once, or waiting for a person): that is the plan.
      setStatus('planned');
      closeReason = 'a plan only: nothing was written';
      return;
    }
    for (const state of gated) {
      waitingSince.set(state.action.id, Date.now());
      record({ actor: WORKFLOW_ACTOR, phase: 'approval-requested', actionId: state.action.id, target: actionTarget(state.action), detail: `${describeAction(state.action)}: waits for an approver (${state.action.rule})${state.action.otp ? ', with a one-time password' : ''}` });
    }
    await runAutomatic(auto);
  }

  async function runAutomatic(states: ActionState[], replans = 0): Promise<void> {
    const byPackage = new Map<string, ActionState[]>();
    for (const state of states) {
      const key = actionPackage(state.action) ?? ACCOUNT_LANE;
      byPackage.set(key, [...(byPackage.get(key) ?? []), state]);
    }
    // Within a package, the deprecation first: its writer's tag moves then check the packument it just
    // read instead of reading it again (the tag moves one write later). Before that patch, tags first.
    const first = patched(DEPRECATIONS_FIRST_PATCH) ? 'deprecate' : 'dist-tag';
    const order = (s: ActionState) => (s.action.kind === first ? 0 : 1);
    await executeLanes([...byPackage].map(([key, list]) => ({ key, states: [...list].sort((a, b) => order(a) - order(b)) })));
    const conflicted = replans < MAX_REPLANS ? [...byPackage.keys()].filter((key) => byPackage.get(key)!.some((s) => s.status === 'conflict')) : [];
    // Packages planned again are read back by that round; every other one is read back here.
    if (conflicted.length > 0) await replan(conflicted, replans + 1, 'a dist-tag moved, or its new version was deprecated, since our read');
    const exposed = await verify([...byPackage.keys()].filter((key) => !conflicted.includes(key)));
    if (exposed.length > 0 && replans < MAX_REPLANS) await replan(exposed, replans + 1, 'a dist-tag is on a version this incident deprecates (moved there since our read)');
  }

  /** Someone moved a tag since our read: read those packages again and plan their tag moves anew. */
  async function replan(packages: string[], round: number, cause: string): Promise<void> {
    record({ actor: WORKFLOW_ACTOR, phase: 'planned', detail: `${packages.join(', ')}: ${cause}: reading again and planning those tags anew (round ${round})` });
    // What their writers read is older than the read this round plans on.
    for (const name of packages) readAfterWrites.delete(name);
    const fresh = (await readForPlanning(packages)).filter((f): f is PackageFacts => f !== null);
    const plan = planPlaybook({ ...compromise, releases: compromise.releases.filter((r) => packages.includes(r.name)) }, fresh, policy, new Date(Date.now()));
    const added: ActionState[] = [];
    for (const action of plan.actions.filter((a) => a.kind === 'dist-tag' && a.gate === 'auto')) {
      // A new id for each attempt, whichever pass or round made the earlier ones.
      const id = `${action.id}~${view.actions.filter((a) => a.action.id === action.id || a.action.id.startsWith(`${action.id}~`)).length + 1}`;
      const state: ActionState = { action: { ...action, id }, status: 'planned' };
      view.actions.push(state);
      added.push(state);
    }
    // The conflicts are answered by the new plan (or by nothing left to move): not failures any more.
    for (const state of view.actions) if (state.status === 'conflict' && packages.includes(actionPackage(state.action) ?? '')) state.status = 'skipped';
    if (patched(WRITER_READ_BACK_PATCH)) {
      // So is a move of ours read back elsewhere (a tag put back on a bad release right after it).
      for (const state of view.actions) {
        if (state.action.kind === 'dist-tag' && state.status === 'failed' && state.error === NOT_READ_BACK && packages.includes(state.action.package)) state.status = 'skipped';
      }
    }
    await runAutomatic(added, round);
    // A package the new plan has nothing more for (the tag was moved somewhere safe) is read back too.
    const exposed = await verify(packages.filter((name) => !added.some((a) => actionPackage(a.action) === name)));
    if (exposed.length > 0 && round < MAX_REPLANS) await replan(exposed, round + 1, 'a dist-tag is still on a version this incident deprecates');
  }

  /** Takes the next use of an approval's password, if its window still has one. */
  function passwordFor(state: ActionState, approval: string | undefined): SealedSecret | undefined {
    if (!state.action.otp || approval === undefined) return undefined;
    const held = passwords.get(approval);
    if (!held || held.until <= Date.now() || held.uses >= policy.otp.actionsPerWindow) return undefined;
    held.uses += 1;
    return held.secret;
  }

  async function runApproved(): Promise<void> {
    if (!patched(PACKAGE_WRITERS_PATCH)) return runApprovedOneByOne();
    const batch = approved.splice(0);
    // One request to the writers per password (most approvals give one), each package's actions in the order approved.
    const byPassword: { secret?: SealedSecret; lanes: Map<string, ActionState[]> }[] = [];
    const touched = new Set<string>();
    for (const { actionId, password } of batch) {
      const state = stateOf(actionId)!;
      const key = actionPackage(state.action) ?? ACCOUNT_LANE;
      const secret = passwordFor(state, password);
      let group = byPassword.find((g) => g.secret === secret);
      if (!group) byPassword.push((group = { ...(secret ? { secret } : {}), lanes: new Map() }));
      group.lanes.set(key, [...(group.lanes.get(key) ?? []), state]);
      touched.add(key);
    }
    for (const group of byPassword) await executeLanes([...group.lanes].map(([key, states]) => ({ key, states })), group.secret);
    await verify([...touched]);
  }

  /** Incidents recorded before the package writers: each approved action on its own. */
  async function runApprovedOneByOne(): Promise<void> {
    const batch = approved.splice(0);
    const touched = new Set<string>();
    await Promise.all(
      batch.map(({ actionId, password }) => {
        const state = stateOf(actionId)!;
        const key = actionPackage(state.action) ?? ACCOUNT_LANE;
        touched.add(key);
        return inLane(key, async () => {
          const held = password === undefined ? undefined : passwords.get(password);
          const usable = held && held.until > Date.now() && held.uses < policy.otp.actionsPerWindow ? held : undefined;
          if (usable) usable.uses += 1;
          await executeAll(key, [state], state.action.otp ? usable?.secret : undefined);
        });
      }),
    );
    await verify([...touched]);
  }

  async function rollback(requestedBy: RollbackRequest, password?: SealedSecret): Promise<void> {
    record({ actor: requestedBy.by, phase: 'rollback-requested', detail: `rollback: ${requestedBy.reason}` });
    const done = view.actions.filter((a) => a.status === 'done').reverse();
    const touched = new Set<string>();
    for (const state of done) {
      const undo = undoFor(state.action, state.before);
      if ('irreversible' in undo || 'nothing' in undo) {
        record({ actor: WORKFLOW_ACTOR, phase: 'not-undoable', actionId: state.action.id, target: actionTarget(state.action), detail: 'irreversible' in undo ? undo.irreversible : undo.nothing });
        continue;
      }
      const step: PlaybookAction = undo.undo;
      if (step.otp && !password) {
        record({ actor: WORKFLOW_ACTOR, phase: 'not-undoable', actionId: state.action.id, target: actionTarget(state.action), detail: `${describeAction(step)} needs a one-time password: roll back again with --otp` });
        continue;
      }
      const key = actionPackage(step) ?? ACCOUNT_LANE;
      touched.add(key);
      await inLane(key, async () => {
        const secret = step.otp ? password : undefined;
        const result = writesThroughWriters(key) ? (await runThroughWriters([{ name: key, actions: [step] }], secret)).get(step.id)! : await runDirectly(step, secret);
        if ('outcome' in result) {
          state.status = 'undone';
          record({ actor: requestedBy.by, phase: 'rolled-back', actionId: state.action.id, target: actionTarget(step), before: result.outcome.before, after: result.outcome.after, detail: describeAction(step) });
        } else {
          record({ actor: WORKFLOW_ACTOR, phase: 'failed', actionId: state.action.id, target: actionTarget(step), detail: `${describeAction(step)}: ${result.failure.message}` });
        }
      });
    }
    await githubSide?.rollback(requestedBy.by);
    for (const state of view.actions) if (state.status === 'waiting') state.status = 'skipped';
    setStatus('rolled-back');
  }

  setHandler(playbookQuery, () => view);
  /** Takes reports once each: records them, adds their releases, and asks for a pass when one may write. */
  function addReports(reports: readonly CompromiseReport[]): void {
    for (const { report: incoming, releases, advisories, tokens, overBroad } of reports) {
      // Redelivered reports (a retried signal, a replayed intake queue) carry the same id.
      if ((view.recentReportIds ?? []).includes(incoming.reportId)) continue;
      const report = compactReport(incoming);
      view.recentReportIds = [...(view.recentReportIds ?? []), report.reportId];
      view.reports.push(report);
      view.reportCount = (view.reportCount ?? 0) + 1;
      boundReports(view);
      lastActivityMs = Date.now();
      const grew = mergeReleases(compromise, releases);
      compromise.advisories = [...new Set([...compromise.advisories, ...(advisories ?? []), ...(report.alert ? [report.alert.sourceId, ...report.alert.aliases] : [])])];
      compromise.tokens = [...new Set([...(compromise.tokens ?? []), ...(tokens ?? [])])];
      if (overBroad && overBroad.length > 0) compromise.overBroad = [...new Set([...(compromise.overBroad ?? []), ...overBroad])];
      const authorises = reportAuthorizesWrites(report);
      const onCall = isOnCallReport(report);
      if (onCall) {
        // The on-call command is the approval for exactly the releases it names.
        compromise.approvedReleases = [...new Set([...compromise.approvedReleases, ...releases.flatMap((r) => r.versions.map((v) => `${r.name}@${v}`))])];
        compromise.reason ??= report.reason;
      }
      const what = report.alert ? `${report.alert.kind}${report.alert.withdrawn ? ', withdrawn' : ''}` : 'on-call';
      record({
        actor: report.requestedBy,
        phase: 'report',
        detail: `${what}: ${releases.map((r) => `${r.name}@${r.versions.join(',')}`).join(' ')}${grew && (view.reportCount ?? 0) > 1 ? ' (adds to the incident)' : ''}; ${authorises ? (onCall ? 'approves writes for the releases it names' : 'authorises writes') : 'authorises no registry write'}: ${report.reason}`,
      });
      if (!authorises) continue;
      // The first writing report of an incident an alert alone could not act on sets what the policy applies.
      if (view.status === 'recorded' || view.reportCount === 1) compromise.trigger = onCall ? 'on-call' : report.alert!.kind;
      requested += 1;
      passCause = view.reportCount === 1 ? 'first report' : `a report from ${report.requestedBy}`;
    }
  }

  setHandler(compromiseReportsSignal, addReports);
  setHandler(packageWrittenSignal, (answer) => {
    // Only answers to requests still awaited: a late or repeated answer changes nothing.
    if (!awaitedWrites.has(answer.requestId)) return;
    writeAnswers.get(answer.requestId)?.set(answer.writer, answer.results);
    for (const { name, facts } of answer.readBack ?? []) readAfterWrites.set(name, facts);
  });
  setHandler(reportCompromiseUpdate, async (incoming: CompromiseReport) => {
    addReports([incoming]);
    const wanted = requested;
    await condition(() => (done >= wanted && view.status !== 'running') || closeReason !== undefined);
    return view;
  });
  setHandler(closeSignal, (reason: string) => {
    closeReason = reason;
  });

  /** Why this approval (or, with `deciding: 'reject'`, rejection) is refused before it reaches history. */
  function approvalProblem(ask: ApprovalRequest, deciding: 'approve' | 'reject', hasPassword = false): string | undefined {
    if (view.status === 'rolled-back' || closeReason !== undefined) return 'the incident is rolled back or closed: nothing waits for approval';
    const ids = ask.actionIds.length > 0 ? ask.actionIds : view.actions.filter((a) => a.status === 'waiting').map((a) => a.action.id);
    if (ids.length === 0) return 'no action waits for approval';
    for (const id of ids) {
      const onGithub = githubSide?.stateOf(id);
      if (onGithub) {
        if (onGithub.status !== 'waiting') return `${id} does not wait for approval (it is ${onGithub.status})`;
        if (!mayApprove(policy, ask.by, onGithub.action.kind as GithubActionKind)) return `${ask.by} may not approve ${onGithub.action.kind} under the policy`;
        continue;
      }
      const state = stateOf(id);
      if (!state) return `no action ${id} in this incident`;
      if (state.status !== 'waiting') return `${id} does not wait for approval (it is ${state.status})`;
      if (!mayApprove(policy, ask.by, state.action.kind)) return `${ask.by} may not approve ${state.action.kind} under the policy`;
      if (deciding === 'reject') continue;
      if (state.action.otp && !hasPassword) return `${id} needs a one-time password from the approver (--otp)`;
      if (state.action.kind === 'revoke-token' && ask.hostsSwept !== true) return `${id}: revoke a token only once the hosts that held it were swept (--hosts-swept)`;
    }
    return undefined;
  }

  setHandler(approvalRefusedSignal, (attempt) => {
    const problem =
      attempt.decision === 'rollback'
        ? !mayApprove(policy, attempt.by, 'rollback') ? `${attempt.by} may not roll back an incident under the policy` : undefined
        : approvalProblem(attempt, attempt.decision, attempt.hadPassword);
    // A refusal the workflow cannot reproduce was not one: nothing of the sender's reaches the trail.
    if (problem === undefined) return;
    record({ actor: attempt.by, phase: 'refused', ...(attempt.actionIds.length === 1 ? { actionId: attempt.actionIds[0] } : {}), detail: `${attempt.decision} refused: ${problem}` });
  });

  setHandler(
    approveUpdate,
    async (ask: ApprovalRequest, password?: SealedSecret) => {
      const named = ask.actionIds.length > 0 ? ask.actionIds : view.actions.filter((a) => a.status === 'waiting').map((a) => a.action.id);
      // GitHub's gated actions (publishing the advisory) are approved by id only, and run by their own executor.
      const onGithub = named.filter((id) => githubSide?.stateOf(id) !== undefined);
      if (onGithub.length > 0) {
        lastActivityMs = Date.now();
        await githubSide!.approve(onGithub, ask.by, ask.note);
        if (onGithub.length === named.length) return view;
      }
      const ids = named.filter((id) => !onGithub.includes(id));
      const key = password ? `approval-${seq + 1}` : undefined;
      if (password && key) passwords.set(key, { secret: password, until: Date.now() + policy.otp.windowMinutes * 60_000, uses: 0 });
      for (const id of ids) {
        const state = stateOf(id)!;
        state.status = 'planned';
        state.approvedBy = ask.by;
        waitingSince.delete(id);
        record({ actor: ask.by, phase: 'approved', actionId: id, target: actionTarget(state.action), detail: `${describeAction(state.action)}: approved${ask.note ? `: ${ask.note}` : ''}` });
        approved.push({ actionId: id, ...(key ? { password: key } : {}) });
      }
      lastActivityMs = Date.now();
      const mine = ++approvalsTaken;
      await condition(() => approvalsSettled >= mine || closeReason !== undefined);
      return view;
    },
    { validator: (ask: ApprovalRequest, password?: SealedSecret) => {
      const problem = approvalProblem(ask, 'approve', password !== undefined);
      if (problem) throw new Error(problem);
    } },
  );

  setHandler(
    rejectUpdate,
    (ask: ApprovalRequest) => {
      const named = ask.actionIds.length > 0 ? ask.actionIds : view.actions.filter((a) => a.status === 'waiting').map((a) => a.action.id);
      const onGithub = named.filter((id) => githubSide?.stateOf(id) !== undefined);
      if (onGithub.length > 0) githubSide!.reject(onGithub, ask.by, ask.note);
      const ids = named.filter((id) => !onGithub.includes(id));
      for (const id of ids) {
        const state = stateOf(id)!;
        state.status = 'rejected';
        waitingSince.delete(id);
        record({ actor: ask.by, phase: 'rejected', actionId: id, target: actionTarget(state.action), detail: `${describeAction(state.action)}: rejected${ask.note ? `: ${ask.note}` : ''}` });
      }
      lastActivityMs = Date.now();
      settle();
      return view;
    },
    { validator: (ask: ApprovalRequest) => {
      const problem = approvalProblem(ask, 'reject');
      if (problem) throw new Error(problem);
    } },
  );

  let rollbackPassword: SealedSecret | undefined;
  setHandler(
    rollbackUpdate,
    async (ask: RollbackRequest, password?: SealedSecret) => {
      rollbackRequest = ask;
      rollbackPassword = password;
      lastActivityMs = Date.now();
      await condition(() => view.status === 'rolled-back');
      return view;
    },
    { validator: (ask: RollbackRequest, _password?: SealedSecret) => {
      if (!mayApprove(policy, ask.by, 'rollback')) throw new Error(`${ask.by} may not roll back an incident under the policy (an approver with "all")`);
      if (view.status === 'rolled-back') throw new Error('the incident is already rolled back');
    } },
  );

  if (!request.resume) {
    const releases = request.compromise.releases;
    upsertSearchAttributes([
      { key: INCIDENT_PACKAGE, value: releases.length <= 1 ? (releases[0]?.name ?? '') : `${releases[0]!.name} (+${releases.length - 1})` },
      { key: INCIDENT_STATUS, value: 'running' },
    ]);
    addReports([request.first]);
    if (requested === 0) {
      view.notes.push('no report so far authorises a registry write (only an on-call report or a live malware or compromised-build alert does): recorded');
      setStatus('recorded');
    }
  }

  while (closeReason === undefined) {
    if (requested > done) {
      const upTo = requested;
      await containPass();
      settle();
      done = upTo;
      // Only once the registry is contained and read back: GitHub never goes before the registry writes.
      if (githubSide && (view.status === 'contained' || view.status === 'verified')) githubSide.request();
      continue;
    }
    if (rollbackRequest) {
      await rollback(rollbackRequest, rollbackPassword);
      rollbackRequest = undefined;
      rollbackPassword = undefined;
      continue;
    }
    if (approved.length > 0) {
      const upTo = approvalsTaken;
      await runApproved();
      settle();
      approvalsSettled = upTo;
      continue;
    }
    if (historyIsLong()) {
      await githubSide?.idle();
      await condition(allHandlersFinished);
      await continueAsNew<typeof playbookWorkflow>({ ...request, resume: view });
    }
    const idleLeft = lastActivityMs + idleMs - Date.now();
    if (idleLeft <= 0) {
      closeReason = `no report or decision for ${durationText(idleMs)}`;
      break;
    }
    // A contained incident reads the registry back on its own: a stolen token can undo the containment.
    const rechecks = view.status === 'contained' || view.status === 'verified';
    const recheckLeft = rechecks ? Date.parse(view.lastCheckedAt ?? view.startedAt) + recheckMs - Date.now() : Infinity;
    if (recheckLeft <= 0) {
      requested += 1;
      passCause = `the registry is read again every ${durationText(recheckMs)} while the incident is open`;
      continue;
    }
    // The approval wait the policy sets: escalate (keep waiting) or give the action up.
    const timeoutMs = policy.approval.timeoutMinutes * 60_000;
    const overdue = [...waitingSince].filter(([id, since]) => since + timeoutMs <= Date.now() && !stateOf(id)?.escalatedAt);
    for (const [id] of overdue) {
      const state = stateOf(id)!;
      if (policy.approval.onTimeout === 'skip') {
        state.status = 'skipped';
        waitingSince.delete(id);
        record({ actor: WORKFLOW_ACTOR, phase: 'skipped', actionId: id, target: actionTarget(state.action), detail: `${describeAction(state.action)}: nobody approved within ${durationText(timeoutMs)}; given up as the policy says` });
      } else {
        state.escalatedAt = now();
        record({ actor: WORKFLOW_ACTOR, phase: 'escalated', actionId: id, target: actionTarget(state.action), detail: `${describeAction(state.action)}: nobody approved within ${durationText(timeoutMs)}; escalated, still waiting` });
      }
    }
    if (overdue.length > 0) {
      settle();
      continue;
    }
    const nextDeadline = Math.min(...[...waitingSince].filter(([id]) => !stateOf(id)?.escalatedAt).map(([, since]) => since + timeoutMs - Date.now()), idleLeft);
    await condition(() => requested > done || approved.length > 0 || rollbackRequest !== undefined || closeReason !== undefined || historyIsLong(), Math.max(1, Math.min(nextDeadline, recheckLeft)));
  }
  await githubSide?.idle();
  view.closedAt = now();
  view.closeReason = closeReason;
  record({ actor: WORKFLOW_ACTOR, phase: 'closed', detail: closeReason });
  await condition(allHandlersFinished);
  return view;
}
