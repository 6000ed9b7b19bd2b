// `quarantine <name>@<version>`: report a compromised release and follow its incident until verified.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { IncidentRequest, IncidentView, Report } from '../core/incident';
import { hasOutcome, isContained } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { oneCleanLine } from '../core/plan';
import { parseReleaseSpec } from '../core/spec';
import { reportSignal, timelineQuery } from '../workflows/definitions';
import type { incidentWorkflow } from '../workflows/incident';
import { renderEntry, renderStatus } from './render';

export interface ReportOptions {
  spec: string;
  reason?: string;
  registry: string;
  dryRun: boolean;
}

export interface FollowOptions {
  json: boolean;
  taskQueue: string;
  /** Give up waiting (the incident goes on) after this long. */
  waitMs: number;
}

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const DEFAULT_REASON = 'reported compromised by the on-call engineer';

/** Parses and validates everything before any workflow starts; throws a one-line error on bad input. */
export function incidentRequestFor(options: ReportOptions): IncidentRequest {
  const release = parseReleaseSpec(options.spec);
  const reason = oneCleanLine(options.reason ?? DEFAULT_REASON);
  if (!reason) throw new Error('--reason is empty');
  const report: Report = {
    reportId: randomUUID(),
    requestedBy: `cli:${userInfo().username}`,
    reason,
    at: new Date().toISOString(),
  };
  return {
    incident: incidentId(options.registry, release.name, [release.version], options.dryRun),
    registry: options.registry,
    name: release.name,
    versions: [release.version],
    dryRun: options.dryRun,
    report,
  };
}

export async function startOrJoin(client: Client, request: IncidentRequest, taskQueue: string): Promise<WorkflowHandle<typeof incidentWorkflow>> {
  try {
    return await client.workflow.signalWithStart<typeof incidentWorkflow, [Report[]]>('incidentWorkflow', {
      workflowId: request.incident,
      taskQueue,
      args: [request],
      signal: reportSignal,
      signalArgs: [[request.report]],
      // An open incident takes the report; a closed one is reopened as a new run of the same id.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(request.incident);
    throw err;
  }
}

/**
 * Follows the incident's timeline until it has taken this report in and containment has an outcome,
 * printing steps as they end. (A report joining a failed incident makes it contain again.)
 */
async function follow(handle: WorkflowHandle, reportId: string, options: FollowOptions, output: Output): Promise<IncidentView | undefined> {
  const deadline = Date.now() + options.waitMs;
  const started = Date.now();
  let printed = 0;
  let warnedNoWorker = false;
  let answered = false;
  while (Date.now() < deadline) {
    try {
      const view = await handle.query(timelineQuery);
      answered = true;
      const ended = view.timeline.filter((e) => e.status !== 'running');
      if (!options.json) for (const entry of ended.slice(printed)) output.err(renderEntry(entry));
      printed = Math.max(printed, ended.length);
      if (view.reports.some((r) => r.reportId === reportId) && hasOutcome(view)) return view;
    } catch {
      // No worker has picked the incident up yet: keep asking until the deadline.
    }
    if (!answered && !warnedNoWorker && Date.now() - started > 10_000 && !options.json) {
      warnedNoWorker = true;
      output.err(`waiting for a worker on task queue "${options.taskQueue}"; start one with \`quarantine worker\``);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

export async function contain(client: Client, request: IncidentRequest, options: FollowOptions, output: Output): Promise<number> {
  const handle = await startOrJoin(client, request, options.taskQueue);
  const { runId } = await handle.describe();
  if (!options.json) output.err(`incident ${request.incident} (run ${runId})`);

  const view = await follow(handle, request.report.reportId, options, output);
  if (view === undefined) {
    const reason = `no outcome after ${options.waitMs} ms; the incident goes on`;
    if (options.json) output.out(JSON.stringify({ incident: request.incident, workflowId: request.incident, runId, status: 'unknown', error: reason }));
    else output.err(`incident ${request.incident}: ${reason}; follow it with \`quarantine timeline ${request.incident}\``);
    return 3;
  }

  const isNew = view.reports[0]?.reportId === request.report.reportId;
  if (options.json) {
    output.out(JSON.stringify({
      incident: view.incident,
      workflowId: view.incident,
      runId,
      new: isNew,
      status: view.status,
      contained: isContained(view),
      release: { name: view.name, versions: view.versions },
      registry: view.registry,
      ...(view.failure ? { failure: view.failure } : {}),
      timeline: view.timeline,
    }));
  } else {
    if (!isNew) output.err(`joined the existing incident (first reported by ${view.reports[0]?.requestedBy ?? 'unknown'})`);
    output.out(renderStatus(view));
  }
  if (view.status === 'planned') return 0;
  return isContained(view) ? 0 : 1;
}
