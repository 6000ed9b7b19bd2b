// The incident workflow: read the registry, plan, contain, read back, with every step on the timeline.
// Decisions are core/ functions; writes are activities that change only what differs.
import { ApplicationFailure, proxyActivities, setHandler, upsertSearchAttributes, ActivityFailure } from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import { NON_RETRYABLE_REGISTRY_ERRORS } from '../activities/registry-errors';
import type { IncidentRequest, IncidentView, Report, StepStatus, TimelineEntry } from '../core/incident';
import { deprecationMessage, planContainment, verifyContainment, type ContainmentPlan } from '../core/plan';
import { CONTAINMENT_FAILED, reportSignal, timelineQuery } from './definitions';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from './search-attributes';

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

export async function incidentWorkflow(request: IncidentRequest): Promise<IncidentView> {
  const view: IncidentView = {
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
  setHandler(timelineQuery, () => view);
  const addReport = (report: Report) => {
    if (view.reports.some((r) => r.reportId === report.reportId)) return;
    view.reports.push(report);
    const first = view.reports.length === 1;
    note(first ? 'intake' : 'report joined', 'ok',
      `${request.name}@${request.versions.join(', ')} reported by ${report.requestedBy}: ${report.reason}`);
  };
  setHandler(reportSignal, addReport);
  upsertSearchAttributes([
    { key: INCIDENT_PACKAGE, value: request.name },
    { key: INCIDENT_STATUS, value: 'running' },
  ]);

  function finish(status: IncidentView['status'], failure?: string): IncidentView {
    view.status = status;
    view.endedAt = now();
    if (failure !== undefined) view.failure = failure;
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: status }]);
    if (status === 'failed') {
      // A failed execution shows red in the Temporal UI and lets a later report retry the incident.
      throw ApplicationFailure.create({ type: CONTAINMENT_FAILED, message: failure ?? 'containment failed', nonRetryable: true, details: [view] });
    }
    return view;
  }

  async function step<T>(name: string, action: () => Promise<T>, detail: (result: T) => string): Promise<T> {
    const entry: TimelineEntry = { step: name, status: 'running', detail: '', startedAt: now() };
    view.timeline.push(entry);
    const end = (status: StepStatus, text: string) => {
      entry.status = status;
      entry.detail = text;
      entry.endedAt = now();
    };
    try {
      const result = await action();
      end('ok', detail(result));
      return result;
    } catch (err) {
      const reason = describe(err);
      end('failed', reason);
      finish('failed', `${name}: ${reason}`);
      throw err; // unreachable: finish('failed') throws
    }
  }

  function note(name: string, status: StepStatus, detail: string): void {
    const at = now();
    view.timeline.push({ step: name, status, detail, startedAt: at, endedAt: at });
  }

  const target = { registry: request.registry, name: request.name };
  addReport(request.report);

  const before = await step('read registry', () => registry.readPackageState(target), (state) =>
    `${state.versions.length} versions; dist-tags ${Object.entries(state.distTags).map(([t, v]) => `${t}=${v}`).join(', ') || 'none'}`,
  );

  const plan = planContainment(before, request.versions, deprecationMessage(request.incident, request.report.reason));
  view.plan = plan;
  if (plan.blockers.length > 0) {
    note('plan', 'failed', plan.blockers.join('; '));
    return finish('failed', plan.blockers.join('; '));
  }
  note('plan', plan.unresolved.length > 0 ? 'failed' : 'ok', [summarizePlan(plan), ...plan.unresolved].join('; '));
  if (request.dryRun) {
    note('contain', 'skipped', 'dry run: nothing written');
    return finish('planned');
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
    () => registry.deprecateVersions({ ...target, versions: plan.affected, message: plan.message }),
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
    return finish('failed', `verification failed: ${why}`);
  }
  note('verified', 'ok', `${checks.length} checks passed on ${request.registry}`);
  return finish('verified');
}
