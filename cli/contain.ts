// `quarantine <name>@<version>`: report a compromised release and follow its incident until verified.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import type { IncidentRequest, IncidentView, Report } from '../core/incident';
import { isContained } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { oneCleanLine } from '../core/plan';
import { InvalidSpecError, parseReleaseSpec, printable } from '../core/spec';
import { reportAndAwaitOutcome, timelineQuery } from '../workflows/definitions';
import type { incidentWorkflow } from '../workflows/incident';
import { followUntilSettled } from './follow';
import { renderEntry, renderStatus, terminalSafe } from './render';

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

const CONTAINMENT_ID = /^incident-(.+)@([^@]+)-([0-9a-f]{8})(-dry-run)?$/;

/**
 * The releases a containment incident id names (`incident-<name>@<v1,v2,...>-<hash>`), checked by
 * making the id again for this registry: a report on it approves exactly those releases there. Undefined
 * when the argument is no such id.
 */
function releasesOfIncidentId(spec: string, registry: string): { name: string; versions: string[] } | undefined {
  const match = CONTAINMENT_ID.exec(spec);
  if (!match) return undefined;
  const [, name, list] = match;
  const versions = list!.split(',').map((version) => parseReleaseSpec(`${name}@${version}`).version);
  if (incidentId(registry, name!, versions, match[4] !== undefined) !== spec) {
    throw new InvalidSpecError(`${printable(spec)} is not an incident of ${printable(registry)} (check --registry)`);
  }
  return { name: name!, versions };
}

/**
 * Parses and validates everything before any workflow starts; throws a one-line error on bad input.
 * The spec is a release (`name@version`) or a containment incident's id, whose releases it reports (the
 * approval a held incident of several versions waits for).
 */
export function incidentRequestFor(options: ReportOptions): IncidentRequest {
  const named = releasesOfIncidentId(options.spec, options.registry);
  const release = named === undefined ? parseReleaseSpec(options.spec) : { name: named.name, version: named.versions[0]! };
  const versions = named?.versions ?? [release.version];
  const reason = oneCleanLine(options.reason ?? DEFAULT_REASON);
  if (!reason) throw new Error('--reason is empty');
  const report: Report = {
    reportId: randomUUID(),
    requestedBy: `cli:${userInfo().username}`,
    reason,
    at: new Date().toISOString(),
  };
  return {
    incident: incidentId(options.registry, release.name, versions, options.dryRun),
    registry: options.registry,
    name: release.name,
    versions,
    dryRun: options.dryRun,
    report,
  };
}

/**
 * Prints the incident's timeline as steps end, until `finished` settles. Progress only: the outcome
 * comes from the update. Returns how many steps it printed.
 */
async function printProgress(handle: WorkflowHandle, finished: Promise<unknown>, onAnswer: () => void, output: Output): Promise<number> {
  let printed = 0;
  await followUntilSettled(() => handle.query(timelineQuery), finished, (view) => {
    onAnswer();
    const ended = view.timeline.filter((e) => e.status !== 'running');
    for (const entry of ended.slice(printed)) output.err(renderEntry(entry));
    printed = Math.max(printed, ended.length);
  });
  return printed;
}

export async function contain(client: Client, request: IncidentRequest, options: FollowOptions, output: Output): Promise<number> {
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    deadlineTimer = setTimeout(() => resolve(undefined), options.waitMs);
  });
  // Without a worker the server holds the call until one takes the report: say so meanwhile.
  const noWorkerHint = setTimeout(() => {
    if (!options.json) output.err(`waiting for a worker on task queue "${options.taskQueue}"; start one with \`quarantine worker\``);
  }, 10_000);
  const answered = () => clearTimeout(noWorkerHint);

  // Update-with-start: one call starts the incident or joins the open one, and answers with the
  // outcome once containment has one; a closed incident opens a new run of the same id.
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof incidentWorkflow>('incidentWorkflow', {
    workflowId: request.incident,
    taskQueue: options.taskQueue,
    args: [request],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const outcome = client.workflow.executeUpdateWithStart(reportAndAwaitOutcome, { args: [request.report], startWorkflowOperation });
  outcome.catch(() => undefined);
  const finished = Promise.race([outcome, deadline]);
  finished.catch(() => undefined);

  let runId: string | undefined;
  let printed = 0;
  let view: IncidentView | undefined;
  try {
    const handle = await Promise.race([startWorkflowOperation.workflowHandle(), deadline]);
    if (handle !== undefined) {
      answered();
      runId = (await handle.describe()).runId;
      if (!options.json) output.err(`incident ${request.incident} (run ${runId})`);
      const progress = options.json ? Promise.resolve(0) : printProgress(handle, finished, answered, output);
      view = await finished;
      printed = await progress;
    }
  } finally {
    clearTimeout(deadlineTimer);
    clearTimeout(noWorkerHint);
  }
  if (view === undefined) {
    const reason = `no outcome after ${options.waitMs} ms; the incident goes on`;
    if (options.json) output.out(JSON.stringify({ incident: request.incident, workflowId: request.incident, ...(runId ? { runId } : {}), status: 'unknown', error: reason }));
    else output.err(`incident ${request.incident}: ${reason}; follow it with \`quarantine timeline ${request.incident}\``);
    return 3;
  }
  if (!options.json) {
    // Steps that ended between the last progress read and the outcome.
    for (const entry of view.timeline.filter((e) => e.status !== 'running').slice(printed)) output.err(renderEntry(entry));
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
    if (!isNew) output.err(`joined the existing incident (first reported by ${terminalSafe(view.reports[0]?.requestedBy ?? 'unknown')})`);
    output.out(renderStatus(view));
  }
  if (view.status === 'planned') return 0;
  // held and recorded: nothing was written, a person decides (this report did not approve it).
  return isContained(view) ? 0 : 1;
}
