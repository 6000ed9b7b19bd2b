// `quarantine <name>@<version>...`: an on-call person reports compromised releases (one package or
// many) and follows the playbook incident until its automatic actions are read back. The command is the
// approval for exactly the releases it names; what else the plan asks (a password, an unpublish, a
// revocation) waits for `quarantine approve`. `--plan` reads and plans only.
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { WithStartWorkflowOperation, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Report } from '../core/incident';
import { compromiseId } from '../core/incident-id';
import { oneCleanLine } from '../core/plan';
import type { Policy } from '../core/playbook/policy';
import type { PlaybookView } from '../core/playbook/view';
import { InvalidSpecError, parseReleaseSpec } from '../core/spec';
import { playbookQuery, reportCompromiseUpdate, type CompromiseReport } from '../workflows/definitions';
import type { PlaybookRequest, playbookWorkflow } from '../workflows/playbook';
import { DEFAULT_REASON, type FollowOptions, type Output } from './contain';
import { followUntilSettled } from './follow';
import { terminalSafe } from './render';
import { eventLine, printOnCallOutcome } from './on-call-output';

export interface OnCallOptions {
  specs: string[];
  reason?: string;
  registry: string;
  planOnly: boolean;
  policy: Policy;
  /** Who reports (default: this machine's user, `cli:<name>`); the server names its login. */
  requestedBy?: string;
}

/** At most this many releases in one command: beyond it, an OSV file or the intake is the tool. */
export const MAX_RELEASES_PER_COMMAND = 500;

/** An on-call command's incident, validated before anything connects. */
export interface OnCallRequest {
  incident: string;
  request: PlaybookRequest;
  first: CompromiseReport;
  /** What the OSV records said (`--osv`): printed with the outcome. */
  osv?: unknown;
}

/** Validates every spec and builds the incident before anything connects; throws a one-line error. */
export function onCallRequestFor(options: OnCallOptions): OnCallRequest {
  if (options.specs.length === 0) throw new InvalidSpecError('name at least one release: quarantine <name>@<version>...');
  if (options.specs.length > MAX_RELEASES_PER_COMMAND) throw new InvalidSpecError(`at most ${MAX_RELEASES_PER_COMMAND} releases in one command; use quarantine --osv for more`);
  const byName = new Map<string, string[]>();
  for (const spec of options.specs) {
    const release = parseReleaseSpec(spec);
    const versions = byName.get(release.name) ?? [];
    if (!versions.includes(release.version)) versions.push(release.version);
    byName.set(release.name, versions);
  }
  const releases = [...byName].map(([name, versions]) => ({ name, versions }));
  return onCallRequest({ ...options, incident: compromiseId(options.registry, releases, options.planOnly), releases });
}

export interface OnCallFields {
  incident: string;
  registry: string;
  releases: { name: string; versions: string[] }[];
  reason?: string;
  planOnly: boolean;
  policy: Policy;
  /** Advisory ids the report comes with (the deprecation message names the strict ones). */
  advisories?: string[];
  /** Ranges beside the releases that name no release in particular: holds, for a person. */
  overBroad?: string[];
  osv?: unknown;
  requestedBy?: string;
}

/** The incident an on-call command starts or joins: its report approves exactly `releases`. */
export function onCallRequest(fields: OnCallFields): OnCallRequest {
  const reason = oneCleanLine(fields.reason ?? DEFAULT_REASON);
  if (!reason) throw new InvalidSpecError('--reason is empty');
  const { incident, registry, releases } = fields;
  const advisories = fields.advisories ?? [];
  const overBroad = fields.overBroad ?? [];
  const report: Report = { reportId: randomUUID(), requestedBy: fields.requestedBy ?? `cli:${userInfo().username}`, reason, at: new Date().toISOString() };
  // The holds go with the report too: an incident already open (the intake's, for the same advisory) takes them from it.
  const first: CompromiseReport = { report, releases, ...(advisories.length > 0 ? { advisories } : {}), ...(overBroad.length > 0 ? { overBroad } : {}) };
  const request: PlaybookRequest = {
    compromise: { incident, registry, trigger: 'on-call', severity: 'critical', releases, advisories, approvedReleases: [], reason, ...(overBroad.length > 0 ? { overBroad } : {}) },
    policy: fields.policy,
    first,
    ...(fields.planOnly ? { planOnly: true } : {}),
  };
  return { incident, request, first, ...(fields.osv === undefined ? {} : { osv: fields.osv }) };
}

/** Prints audit events as they land, until `finished` settles: progress only, the outcome is the update's. */
async function printProgress(handle: WorkflowHandle, finished: Promise<unknown>, output: Output): Promise<number> {
  let printed = 0;
  await followUntilSettled(() => handle.query(playbookQuery), finished, (view) => {
    for (const event of view.events.filter((e) => e.seq > printed)) output.err(eventLine(event));
    printed = Math.max(printed, view.events.at(-1)?.seq ?? 0);
  });
  return printed;
}

/** An on-call report handed to Temporal: the incident once started or joined, and the answer to come. */
export interface SubmittedOnCall {
  /** The incident's handle once it runs; undefined if the deadline came first. */
  started: Promise<WorkflowHandle<typeof playbookWorkflow> | undefined>;
  /** The incident's view from a pass that started after this report; undefined at the deadline. */
  finished: Promise<PlaybookView | undefined>;
  /** Stops the deadline's timer (the answer came, or the caller gave up). */
  done(): void;
}

/**
 * Update-with-start: one call starts the incident or joins the open one, and answers once a pass that
 * started after this report has read the registry back. Shared by the CLI and the server's reports API.
 */
export function submitOnCall(client: Client, built: OnCallRequest, options: { taskQueue: string; waitMs: number }): SubmittedOnCall {
  let deadlineTimer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    deadlineTimer = setTimeout(() => resolve(undefined), options.waitMs);
  });
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof playbookWorkflow>('playbookWorkflow', {
    workflowId: built.incident,
    taskQueue: options.taskQueue,
    args: [built.request],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  const outcome = client.workflow.executeUpdateWithStart(reportCompromiseUpdate, { args: [built.first], startWorkflowOperation });
  outcome.catch(() => undefined);
  const finished = Promise.race([outcome, deadline]);
  finished.catch(() => undefined);
  const started = Promise.race([startWorkflowOperation.workflowHandle(), deadline]);
  started.catch(() => undefined);
  return { started, finished, done: () => clearTimeout(deadlineTimer) };
}

export async function reportOnCall(client: Client, built: OnCallRequest, options: FollowOptions, output: Output): Promise<number> {
  const noWorkerHint = setTimeout(() => {
    if (!options.json) output.err(`waiting for a worker on task queue "${options.taskQueue}"; start one with \`quarantine worker\``);
  }, 10_000);
  const submitted = submitOnCall(client, built, options);
  const { finished } = submitted;

  let runId: string | undefined;
  let printed = 0;
  let view: PlaybookView | undefined;
  try {
    const handle = await submitted.started;
    if (handle !== undefined) {
      clearTimeout(noWorkerHint);
      runId = (await handle.describe()).runId;
      if (!options.json) output.err(`incident ${terminalSafe(built.incident)} (run ${runId})`);
      const progress = options.json ? Promise.resolve(0) : printProgress(handle, finished, output);
      view = await finished;
      printed = await progress;
    }
  } finally {
    submitted.done();
    clearTimeout(noWorkerHint);
  }
  return printOnCallOutcome(view, { incident: built.incident, reportId: built.first.report.reportId, runId, osv: built.osv, json: options.json, waitMs: options.waitMs, printed }, output);
}
