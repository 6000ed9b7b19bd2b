// `quarantine <name>@<version>`: report a compromised release and follow its incident until verified.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { IncidentRequest, IncidentView, Report } from '../core/incident';
import { isContained } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { oneCleanLine } from '../core/plan';
import { parseReleaseSpec } from '../core/spec';
import { reportSignal, timelineQuery } from '../workflows/definitions';
import type { incidentWorkflow } from '../workflows/incident';
import { finalView } from './incident-view';
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
    return await client.workflow.signalWithStart<typeof incidentWorkflow, [Report]>('incidentWorkflow', {
      workflowId: request.incident,
      taskQueue,
      args: [request],
      signal: reportSignal,
      signalArgs: [request.report],
      // A contained incident is not re-run by a repeated report; a failed one may be retried.
      workflowIdReusePolicy: request.dryRun ? 'ALLOW_DUPLICATE' : 'ALLOW_DUPLICATE_FAILED_ONLY',
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle(request.incident);
    throw err;
  }
}

export async function contain(client: Client, request: IncidentRequest, options: FollowOptions, output: Output): Promise<number> {
  const handle = await startOrJoin(client, request, options.taskQueue);
  const { runId } = await handle.describe();
  if (!options.json) output.err(`incident ${request.incident} (run ${runId})`);

  let printed = 0;
  let seen: IncidentView | undefined;
  let settled = false;
  const started = Date.now();
  let warnedNoWorker = false;
  const follow = (async () => {
    while (!settled) {
      try {
        const view = await handle.query(timelineQuery);
        seen = view;
        const done = view.timeline.filter((e) => e.status !== 'running');
        if (!options.json) for (const entry of done.slice(printed)) output.err(renderEntry(entry));
        printed = Math.max(printed, done.length);
      } catch {
        // No worker has picked the incident up yet, or it has just closed: the result tells.
      }
      if (!seen && !warnedNoWorker && Date.now() - started > 10_000 && !options.json) {
        warnedNoWorker = true;
        output.err(`waiting for a worker on task queue "${options.taskQueue}"; start one with \`quarantine worker\``);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  let view: IncidentView;
  try {
    view = await Promise.race([
      finalView(handle),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running after ${options.waitMs} ms`)), options.waitMs).unref()),
    ]);
  } catch (err) {
    settled = true;
    await follow;
    const reason = err instanceof Error ? err.message : String(err);
    if (options.json) output.out(JSON.stringify({ incident: request.incident, workflowId: request.incident, runId, status: 'unknown', error: reason }));
    else output.err(`incident ${request.incident}: ${reason}; follow it with \`quarantine timeline ${request.incident}\``);
    return 3;
  }
  settled = true;
  await follow;
  if (!options.json) for (const entry of view.timeline.filter((e) => e.status !== 'running').slice(printed)) output.err(renderEntry(entry));

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
