// incidentWorkflow as it was before the 'incident-v2' patch (commit 6d6756c), kept verbatim so that the
// histories of incidents it started replay: incidentWorkflow runs this when patched('incident-v2') is
// false, i.e. only on those histories. Never edit its commands; new behaviour goes into ../incident.ts.
import { ActivityFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { RegistryActivities } from '../../activities/registry';
import { NON_RETRYABLE_REGISTRY_ERRORS } from '../../activities/registry-errors';
import type { IncidentRequest, IncidentView, Report, StepStatus, TimelineEntry } from '../../core/incident';
import { deprecationMessage, incidentMarker, planContainment, verifyContainment, type ContainmentPlan } from './plan-v1';
import { closeSignal, reportAndAwaitOutcome, reportSignal, timelineQuery } from '../definitions';
import { historyIsLong, INCIDENT_IDLE_TIMEOUT } from '../lifetime';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from '../search-attributes';

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


/** A step failed; the attempt ends failed with its reason on the timeline. */
class StepFailed extends Error {}

export async function incidentWorkflowV1(request: IncidentRequest): Promise<IncidentView> {
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
  const seen = new Set(view.reports.map((r) => r.reportId));
  let retryRequested = false;
  let closeReason: string | undefined;

  function note(name: string, status: StepStatus, detail: string): void {
    const at = now();
    view.timeline.push({ step: name, status, detail, startedAt: at, endedAt: at });
  }

  function addReports(reports: Report[]): void {
    for (const report of reports) {
      // Redelivered reports (a retried signal, a replayed intake queue) carry the same id.
      if (seen.has(report.reportId)) continue;
      seen.add(report.reportId);
      view.reports.push(report);
      note(view.reports.length === 1 ? 'intake' : 'report joined', 'ok',
        `${request.name}@${request.versions.join(', ')} reported by ${report.requestedBy}: ${report.reason}`);
      if (view.status === 'failed') retryRequested = true;
    }
  }

  setHandler(timelineQuery, () => view);
  setHandler(reportSignal, addReports);
  setHandler(reportAndAwaitOutcome, async (report: Report) => {
    addReports([report]);
    // A report on a failed incident asks for a new attempt: wait for that one, not the old failure.
    await condition(() => !retryRequested && view.status !== 'running');
    return view;
  });
  setHandler(closeSignal, (reason: string) => {
    closeReason = reason;
  });

  function setStatus(status: IncidentView['status'], failure?: string): void {
    view.status = status;
    view.failure = failure;
    view.endedAt = now();
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: status }]);
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

  async function contain(): Promise<void> {
    view.status = 'running';
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: 'running' }]);
    const before = await step('read registry', () => registry.readPackageState(target), (state) =>
      `${state.versions.length} versions; dist-tags ${Object.entries(state.distTags).map(([t, v]) => `${t}=${v}`).join(', ') || 'none'}`,
    );

    const plan = planContainment(before, request.versions, deprecationMessage(request.incident, view.reason), incidentMarker(request.incident));
    view.plan = plan;
    if (plan.blockers.length > 0) {
      note('plan', 'failed', plan.blockers.join('; '));
      return setStatus('failed', plan.blockers.join('; '));
    }
    note('plan', plan.unresolved.length > 0 ? 'failed' : 'ok', [summarizePlan(plan), ...plan.unresolved].join('; '));
    if (request.dryRun) {
      note('contain', 'skipped', 'dry run: nothing written');
      return setStatus('planned');
    }

    // Moving tags first: a fresh `npm install` stops resolving to the bad release before anything else.
    for (const move of plan.tagMoves) {
      await step(
        move.to === null ? `remove dist-tag ${move.tag}` : `move dist-tag ${move.tag}`,
        () => registry.setDistTag({ ...target, tag: move.tag, version: move.to }),
        (result) => `${move.tag}: ${move.from} -> ${move.to ?? '(removed)'}${result.changed.length === 0 ? ' (already so)' : ''}`,
      );
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
    const checks = verifyContainment(plan, after);
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

  async function attempt(): Promise<void> {
    try {
      await contain();
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      setStatus('failed', err.message);
    }
  }

  if (!request.resume) {
    upsertSearchAttributes([{ key: INCIDENT_PACKAGE, value: request.name }]);
    addReports([request.report]);
    await attempt();
  }
  if (request.dryRun) closeReason = 'dry run';

  while (closeReason === undefined) {
    const woke = await condition(() => retryRequested || closeReason !== undefined || historyIsLong(), INCIDENT_IDLE_TIMEOUT);
    if (!woke) {
      closeReason = `no new report for ${INCIDENT_IDLE_TIMEOUT}`;
    } else if (retryRequested) {
      retryRequested = false;
      note('retry', 'ok', 'a new report arrived while the incident was failed: containing again');
      await attempt();
    } else if (closeReason === undefined && historyIsLong()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof incidentWorkflowV1>({ ...request, resume: view });
    }
  }
  note('closed', 'ok', closeReason);
  // Callers waiting on an update get their answer before the incident ends.
  await condition(allHandlersFinished);
  return view;
}
