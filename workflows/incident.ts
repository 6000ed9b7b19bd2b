// The incident workflow: read the registry, plan, contain, read back, with every step on the timeline.
// Decisions are core/ functions; writes are activities that change only what differs.
// An incident stays open after containment until it is closed, or has heard nothing for its idle
// timeout. Meanwhile every report makes it read the registry again: a report that authorises writes
// (core/write-authority.ts) contains again whatever drifted or failed; any other report is recorded and
// re-reads without writing. A contained incident also re-reads on a timer and contains drift again.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import { NON_RETRYABLE_REGISTRY_ERRORS } from '../activities/registry-errors';
import type { PackageState } from '../core/package-state';
import { boundView, compactReport, type IncidentRequest, type IncidentView, type Report, type StepStatus, type TimelineEntry } from '../core/incident';
import {
  deprecationMessage,
  incidentMarker,
  planContainment,
  planWrites,
  publishableAdvisoryIds,
  verifyContainment,
  type ContainmentPlan,
  type VerificationCheck,
} from '../core/plan';
import { isOnCallReport, reportAuthorizesWrites } from '../core/write-authority';
import { closeSignal, reportAndAwaitOutcome, reportSignal, timelineQuery } from './definitions';
import { incidentWorkflowV1 } from './legacy/incident-v1';
import { durationText, historyIsLong, INCIDENT_IDLE_TIMEOUT_MS, INCIDENT_RECHECK_INTERVAL_MS, MIN_IDLE_TIMEOUT_MS, requestedDuration } from './lifetime';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from './search-attributes';

/** The patch that separates incidents of this code from those the legacy v1 code started. */
export const INCIDENT_V2_PATCH = 'incident-v2';

const registry = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '2 minutes',
  // Activities heartbeat every second while a request is in flight: a killed worker is noticed in
  // seconds, not after the whole start-to-close timeout.
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_REGISTRY_ERRORS],
  },
});

/** A tag moved by someone else between our read and our write makes us plan again, this many times at most. */
const MAX_REPLANS = 3;
/** Keyword search attributes are meant to be short. */
const MAX_STATUS_ATTRIBUTE = 200;
/** Shortest re-check interval a request may ask for: a typo must not make an incident spin. */
const MIN_RECHECK_MS = 1_000;

function now(): string {
  return new Date(Date.now()).toISOString();
}

/** The cause an operator needs: the registry's own words, not Temporal's wrapping. */
function describe(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function summarizePlan(plan: ContainmentPlan): string {
  const parts = [
    plan.deprecate.length > 0 ? `deprecate ${plan.deprecate.join(', ')}` : 'every affected version already deprecated',
    ...plan.tagMoves.map((m) => (m.to === null ? `remove dist-tag ${m.tag} (${m.from})` : `move ${m.tag} ${m.from} -> ${m.to}`)),
  ];
  return parts.join('; ');
}

function describeTags(state: PackageState): string {
  return Object.entries(state.distTags).map(([t, v]) => `${t}=${v}`).join(', ') || 'none';
}

/** What a contained registry no longer shows, in words: the failed checks of a fresh plan against it. */
function describeDrift(failed: readonly VerificationCheck[]): string {
  return failed.map((c) => `${c.check}: found ${c.actual}`).join('; ');
}

/** A step failed; the attempt ends failed with its reason on the timeline. */
class StepFailed extends Error {}

type PassKind =
  /** Read, plan, write what differs (if authorised and not held), verify. */
  | 'contain'
  /** Read and compare only: a report that may not write, on a contained incident. */
  | 'check';

export async function incidentWorkflow(request: IncidentRequest): Promise<IncidentView> {
  // Histories of the v1 code (started before this patch) replay through it, unchanged.
  if (!patched(INCIDENT_V2_PATCH)) return incidentWorkflowV1(request);

  const idleMs = requestedDuration(request.idleTimeoutMs, INCIDENT_IDLE_TIMEOUT_MS, MIN_IDLE_TIMEOUT_MS);
  const recheckMs = requestedDuration(request.recheckIntervalMs, INCIDENT_RECHECK_INTERVAL_MS, MIN_RECHECK_MS);
  const view: IncidentView = request.resume ?? {
    incident: request.incident,
    status: 'running',
    registry: request.registry,
    name: request.name,
    versions: request.versions,
    reason: request.report.reason,
    dryRun: request.dryRun,
    reports: [],
    startedAt: now(),
    timeline: [],
  };
  // A view carried over from v1 code is unbounded and has no counters yet.
  view.recentReportIds ??= view.reports.map((r) => r.reportId);
  view.reportCount ??= view.reports.length;
  view.lastReportAt ??= view.reports[view.reports.length - 1]?.at ?? view.startedAt;
  view.reports = view.reports.map(compactReport);
  boundView(view);

  const seen = new Set(view.recentReportIds);
  // Work asked for and done, as sequence numbers: a caller waiting on an update waits for a pass that
  // started after its report, never for an answer from memory.
  let requested = 0;
  let done = 0;
  let containRequested = false;
  let cause = '';
  let closeReason: string | undefined;
  /** Set once the incident stops taking work: a waiting caller gets the last outcome then. */
  let closed = false;
  /** Bumped by every report: the idle timeout restarts from it. */
  let reportsTaken = 0;
  let lastReportMs = Date.parse(view.lastReportAt) || Date.now();
  let lastCheckMs = view.lastCheckedAt ? Date.parse(view.lastCheckedAt) : Date.now();

  function note(name: string, status: StepStatus, detail: string): void {
    const at = now();
    view.timeline.push({ step: name, status, detail, startedAt: at, endedAt: at });
  }

  function requestPass(kind: PassKind, why: string): void {
    requested += 1;
    if (kind === 'contain') containRequested = true;
    if (!cause || kind === 'contain') cause = why;
  }

  function addReports(reports: Report[]): void {
    for (const incoming of reports) {
      // Redelivered reports (a retried signal, a replayed intake queue) carry the same id.
      if (seen.has(incoming.reportId)) continue;
      seen.add(incoming.reportId);
      view.recentReportIds!.push(incoming.reportId);
      const report = compactReport(incoming);
      view.reports.push(report);
      view.reportCount = (view.reportCount ?? 0) + 1;
      view.lastReportAt = now();
      lastReportMs = Date.now();
      reportsTaken += 1;

      const alert = report.alert;
      const ids = alert ? [alert.sourceId, ...alert.aliases] : [];
      view.advisories = publishableAdvisoryIds([...(view.advisories ?? []), ...ids]);
      const authorises = reportAuthorizesWrites(report);
      const onCall = isOnCallReport(report);
      if (onCall) {
        view.approvedBy ??= report.requestedBy;
        view.onCallReason ??= report.reason;
      }
      if (authorises) view.authorisedBy = report.requestedBy;
      else if (alert?.withdrawn) view.authorisedBy = view.approvedBy;

      const first = view.reportCount === 1;
      const what = alert ? `${alert.kind}${alert.withdrawn ? ', withdrawn' : ''}` : 'on-call';
      const authority = authorises
        ? onCall ? 'approves writes for the releases it names' : 'authorises writes'
        : alert?.withdrawn
          ? `writes nothing${view.authorisedBy ? '' : '; re-containment on drift is suspended until a report authorises it'}`
          : 'authorises no registry write';
      note(first ? 'intake' : 'report joined', 'ok',
        `${request.name}@${request.versions.join(', ')} reported by ${report.requestedBy} (${what}: ${authority}): ${report.reason}`);
      boundView(view);

      if (first) {
        requestPass('contain', 'first report');
        continue;
      }
      if (authorises) {
        // Any status: failed and held try again, verified re-reads and contains drift, recorded starts.
        requestPass('contain', `a report from ${report.requestedBy} ${onCall ? 'approves the containment' : 'authorises writes'}`);
      } else if (view.status === 'verified') {
        requestPass('check', `a report from ${report.requestedBy} asks for a fresh read (it authorises no write)`);
      }
    }
  }

  setHandler(timelineQuery, () => view);
  setHandler(reportSignal, addReports);
  setHandler(reportAndAwaitOutcome, async (report: Report) => {
    addReports([report]);
    // Whatever this report asked for (or what an earlier one already asked for) must finish first:
    // the answer is a fresh read of the registry, not the last one.
    const wanted = requested;
    await condition(() => (done >= wanted && view.status !== 'running') || closed);
    return view;
  });
  setHandler(closeSignal, (reason: string) => {
    closeReason = reason;
  });

  function setStatus(status: IncidentView['status'], failure?: string): void {
    view.status = status;
    view.failure = failure;
    view.endedAt = now();
    const attribute = failure && (status === 'held' || status === 'recorded') ? `${status}: ${failure}` : status;
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: attribute.slice(0, MAX_STATUS_ATTRIBUTE) }]);
  }

  async function step<T>(name: string, action: () => Promise<T>, detail: (result: T) => string): Promise<T> {
    const entry: TimelineEntry = { step: name, status: 'running', detail: '', startedAt: now() };
    view.timeline.push(entry);
    try {
      const result = await action();
      Object.assign(entry, { status: 'ok', detail: detail(result), endedAt: now() });
      return result;
    } catch (err) {
      const reason = describe(err);
      Object.assign(entry, { status: 'failed', detail: reason, endedAt: now() });
      throw new StepFailed(`${name}: ${reason}`);
    }
  }

  const target = { registry: request.registry, name: request.name };
  const marker = incidentMarker(request.incident);

  function planFrom(state: PackageState): ContainmentPlan {
    const message = deprecationMessage(request.incident, { advisories: view.advisories ?? [], reason: view.onCallReason });
    return planContainment(state, request.versions, message, marker, { maxVersions: request.maxVersions });
  }

  async function readRegistry(label: string): Promise<PackageState> {
    const state = await step(label, () => registry.readPackageState(target), (s) => `${s.versions.length} versions; dist-tags ${describeTags(s)}`);
    view.lastCheckedAt = now();
    lastCheckMs = Date.now();
    return state;
  }

  /** Notes what a contained registry no longer shows; returns whether anything drifted. */
  function noteDrift(plan: ContainmentPlan, state: PackageState, wasContained: boolean): boolean {
    if (!wasContained) return false;
    const failed = verifyContainment(plan, state).filter((c) => !c.ok);
    if (failed.length === 0) return false;
    note('drift', 'failed', `the registry no longer serves the containment: ${describeDrift(failed)}`);
    return true;
  }

  async function check(): Promise<void> {
    const wasContained = view.status === 'verified';
    view.status = 'running';
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: 'running' }]);
    const state = await readRegistry('re-read registry');
    const plan = planFrom(state);
    if (noteDrift(plan, state, wasContained)) {
      const why = 'the registry drifted and this report authorises no write: a report that authorises writes contains it again';
      note('not contained again', 'skipped', why);
      return setStatus('failed', `registry drifted: ${describeDrift(verifyContainment(plan, state).filter((c) => !c.ok))}; ${why}`);
    }
    const checks = verifyContainment(plan, state);
    view.checks = checks;
    note('verified', 'ok', `still contained: ${checks.length} checks passed on ${request.registry}`);
    setStatus('verified');
  }

  async function contain(): Promise<void> {
    const wasContained = view.status === 'verified';
    view.status = 'running';
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: 'running' }]);
    if (view.authorisedBy === undefined) {
      const why = 'no report so far authorises a registry write (only an on-call report or a live malware or compromised-build alert does): a person decides; `quarantine <name>@<version>` contains it';
      note('recorded', 'skipped', why);
      return setStatus('recorded', why);
    }
    let before = await readRegistry(wasContained ? 're-read registry' : 'read registry');
    for (let replans = 0; ; replans++) {
      const plan = planFrom(before);
      view.plan = plan;
      noteDrift(plan, before, wasContained && replans === 0);
      if (plan.blockers.length > 0) {
        note('plan', 'failed', plan.blockers.join('; '));
        return setStatus('failed', plan.blockers.join('; '));
      }
      if (plan.overBroad.length > 0 && view.approvedBy === undefined) {
        const why = `over-broad for an alert alone: ${plan.overBroad.join('; ')}; nothing written. A person approves it by reporting it: quarantine ${request.versions.length === 1 ? `${request.name}@${request.versions[0]}` : request.incident}`;
        note('held', 'skipped', why);
        return setStatus('held', why);
      }
      const approval = plan.overBroad.length > 0 ? `; approved by ${view.approvedBy} although ${plan.overBroad.join('; ')}` : '';
      note('plan', plan.unresolved.length > 0 ? 'failed' : 'ok', [summarizePlan(plan) + approval, ...plan.unresolved].join('; '));
      if (request.dryRun) {
        note('contain', 'skipped', 'dry run: nothing written');
        return setStatus('planned');
      }
      if (!planWrites(plan)) return verified(plan, before);

      // Moving tags first: a fresh `npm install` stops resolving to the bad release before anything else.
      let movedByOthers = false;
      for (const move of plan.tagMoves) {
        const result = await step(
          move.to === null ? `remove dist-tag ${move.tag}` : `move dist-tag ${move.tag}`,
          () => registry.setDistTag({ ...target, tag: move.tag, from: move.from, version: move.to }),
          (r) =>
            r.conflict
              ? `${move.tag}: left alone, someone moved it from ${move.from} to ${r.conflict.found ?? '(removed)'} since our read`
              : `${move.tag}: ${move.from} -> ${move.to ?? '(removed)'}${r.changed.length === 0 ? ' (already so)' : ''}`,
        );
        if (result.conflict) movedByOthers = true;
      }
      if (movedByOthers) {
        if (replans >= MAX_REPLANS) {
          note('plan again', 'failed', `dist-tags keep moving under us (${replans + 1} plans): a person decides`);
          return setStatus('failed', 'dist-tags of the package keep moving while we contain it');
        }
        note('plan again', 'ok', 'a dist-tag changed since the registry was read: reading again before any other write');
        before = await readRegistry('read registry');
        continue;
      }
      await step(
        'deprecate',
        () => registry.deprecateVersions({ ...target, versions: plan.affected, message: plan.message, marker: plan.marker }),
        (result) =>
          [
            result.changed.length > 0 ? `deprecated ${result.changed.join(', ')}` : '',
            result.unchanged.length > 0 ? `${result.unchanged.join(', ')} already deprecated` : '',
          ].filter(Boolean).join('; '),
      );

      const after = await step('verify', () => registry.readPackageState(target), () => 'read back from the registry');
      return verified(plan, after);
    }
  }

  /** Ends a pass on what the registry was last read to serve. */
  function verified(plan: ContainmentPlan, state: PackageState): void {
    const checks = verifyContainment(plan, state);
    view.checks = checks;
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      const why = failed.map((c) => `${c.check}: expected ${c.expected}, found ${c.actual}`).join('; ');
      note('verified', 'failed', why);
      return setStatus('failed', `verification failed: ${why}`);
    }
    note('verified', 'ok', `${checks.length} checks passed on ${request.registry}`);
    setStatus('verified');
  }

  async function pass(kind: PassKind): Promise<void> {
    try {
      await (kind === 'contain' ? contain() : check());
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      setStatus('failed', err.message);
    }
    boundView(view);
  }

  let passes = 0;
  async function runRequested(): Promise<void> {
    const upTo = requested;
    const kind: PassKind = containRequested ? 'contain' : 'check';
    containRequested = false;
    if (passes > 0 || request.resume) note(view.status === 'verified' ? 're-check' : 'retry', 'ok', cause);
    passes += 1;
    cause = '';
    await pass(kind);
    done = Math.max(done, upTo);
  }

  if (!request.resume) {
    upsertSearchAttributes([{ key: INCIDENT_PACKAGE, value: request.name }]);
    // An update-with-start may have delivered the same report already: then this is a redelivery.
    addReports([request.report]);
  }
  if (request.dryRun) {
    await runRequested();
    closeReason = 'dry run';
  }

  while (closeReason === undefined) {
    if (requested > done) {
      await runRequested();
      continue;
    }
    if (historyIsLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof incidentWorkflow>({ ...request, resume: view });
    }
    const idleLeft = lastReportMs + idleMs - Date.now();
    // Only a contained incident whose writes are still authorised re-reads on its own.
    const rechecks = view.status === 'verified' && view.authorisedBy !== undefined;
    const recheckLeft = rechecks ? lastCheckMs + recheckMs - Date.now() : Infinity;
    if (idleLeft <= 0) {
      closeReason = `no new report for ${durationText(idleMs)}`;
      break;
    }
    if (recheckLeft <= 0) {
      requestPass('contain', `the registry is read again every ${durationText(recheckMs)} while the incident is open`);
      continue;
    }
    const taken = reportsTaken;
    await condition(
      () => requested > done || closeReason !== undefined || historyIsLong() || reportsTaken !== taken,
      Math.max(1, Math.min(idleLeft, recheckLeft)),
    );
  }
  closed = true;
  note('closed', 'ok', closeReason);
  // Callers waiting on an update get their answer before the incident ends.
  await condition(allHandlersFinished);
  return view;
}
