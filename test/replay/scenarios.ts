// The workflow paths whose histories are kept for replay. Each scenario drives one path on the real
// stack (a Temporal dev server, a registry copy of its own, in-process workers, the intake, the CLI's
// own update-with-start) to its end, every workflow closed, and names the executions to keep.
// Report ids and alert ids are fixed, so a second recording gives the same event sequences.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { contain, incidentRequestFor } from '../../cli/contain';
import type { IncidentRequest, IncidentView, Report } from '../../core/incident';
import { incidentId, packageWriterId } from '../../core/incident-id';
import { compromiseIncidentId, type WatchRequest } from '../../core/intake';
import type { RunningIntake } from '../../server/index';
import { npmSbom } from '../../stack/npm-cli';
import { FIXTURE_BUILDS } from '../../stack/provenance-mint';
import type { LocalRegistry } from '../../stack/registry';
import { onCallRequestFor, reportOnCall } from '../../cli/report';
import type { Policy } from '../../core/playbook/policy';
import { parsePolicy } from '../../core/playbook/policy-file';
import { closeSignal, playbookQuery, rejectUpdate, reportAndAwaitOutcome, reportSignal, rollbackUpdate, timelineQuery } from '../../workflows/definitions';
import { watchQuery, type WatchView } from '../../workflows/watch-incident';
import { sendStandard } from '../helpers/intake';
import { ingestFixtureSboms, npmCli, npmView, pollUntil, runCli, type RunningWorker } from '../helpers/stack';

const FIXTURES = join(__dirname, '..', 'fixtures');
const osvRecord = (file: string) => readFileSync(join(FIXTURES, 'osv', file), 'utf8');

export interface ScenarioContext {
  client: Client;
  /** A registry copy of this scenario's own: no scenario finds another's writes. */
  registry: LocalRegistry;
  /** A task queue of this scenario's own. */
  taskQueue: string;
  /** A worker on the scenario's task queue (with the admin token unless `token` says otherwise); stopped after the scenario. */
  worker(options?: { token?: string | null; dataDir?: string; more?: Record<string, string> }): Promise<RunningWorker>;
  /** The intake on the scenario's task queue and registry; closed after the scenario. */
  intake(): Promise<RunningIntake>;
}

/** An execution chain to keep: every run of the workflow id's latest chain, which must have `runs` runs. */
export interface Kept {
  workflowId: string;
  runs: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Whether this code can run the scenario at all (see the idle-timeout hooks below). */
  available?: () => boolean;
  run(ctx: ScenarioContext): Promise<Kept[]>;
}

/**
 * The idle-timeout scenarios: the workflows close after 7 days without a report, and the time-skipping
 * test server is downloaded from the internet, which these machines cannot reach; both requests take a
 * shorter idle timeout instead. (Returns undefined where the code recorded cannot shorten it.)
 */
const SHORT_IDLE_TIMEOUT_MS = 3_000;

export function withShortIdleTimeout(request: IncidentRequest): IncidentRequest | undefined {
  return { ...request, idleTimeoutMs: SHORT_IDLE_TIMEOUT_MS };
}

export function withShortWatchIdleTimeout(request: WatchRequest): WatchRequest | undefined {
  return { ...request, idleTimeoutMs: SHORT_IDLE_TIMEOUT_MS };
}

const sampleReport: Report = { reportId: 'replay-sample', requestedBy: 'cli:recorder', reason: 'sample', at: '2026-01-01T00:00:00.000Z' };

interface CliOutcome {
  code: number;
  incident: string;
  status: string;
}

/** `quarantine <spec> --json` as cli/contain.ts runs it (update-with-start), with a fixed report id. */
async function reportFromCli(ctx: ScenarioContext, spec: string, reportId: string, options: { dryRun?: boolean; reason?: string; adjust?: (request: IncidentRequest) => IncidentRequest } = {}): Promise<CliOutcome> {
  const built = incidentRequestFor({ spec, registry: ctx.registry.url, dryRun: options.dryRun ?? false, reason: options.reason ?? 'reported compromised by the on-call engineer' });
  const fixed: IncidentRequest = { ...built, report: { ...built.report, reportId, requestedBy: 'cli:recorder' } };
  const request = options.adjust ? options.adjust(fixed) : fixed;
  const out: string[] = [];
  const err: string[] = [];
  const code = await contain(ctx.client, request, { json: true, taskQueue: ctx.taskQueue, waitMs: 120_000 }, { out: (l) => out.push(l), err: (l) => err.push(l) });
  const printed = out.at(-1);
  if (!printed) throw new Error(`the CLI path printed nothing (exit ${code}): ${err.join('\n')}`);
  const json = JSON.parse(printed) as { incident: string; status: string };
  return { code, incident: json.incident, status: json.status };
}

async function closeAndWait(ctx: ScenarioContext, workflowId: string, reason: string): Promise<void> {
  const handle = ctx.client.workflow.getHandle(workflowId);
  await handle.signal(closeSignal, reason);
  await handle.result();
}

function expectEqual<T>(what: string, actual: T, expected: T): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const incidentView = (ctx: ScenarioContext, id: string) => () => ctx.client.workflow.getHandle(id).query(timelineQuery);
const watchView = (ctx: ScenarioContext, id: string) => () => ctx.client.workflow.getHandle(id).query(watchQuery);

/**
 * Sends reports one at a time, each after the last is in the view, until the workflow continues as
 * new; one at a time, so that no signal lands on the run while it completes (which the server would
 * answer by failing that workflow task) and the recording stays the same from one run to the next.
 */
async function reportUntilContinuedAsNew(ctx: ScenarioContext, workflowId: string, reportsIn: () => Promise<number>, prefix: string): Promise<void> {
  const handle = ctx.client.workflow.getHandle(workflowId);
  const firstRun = (await handle.describe()).runId;
  for (let i = 1; i <= 200; i++) {
    const before = await reportsIn();
    await handle.signal(reportSignal, [{ reportId: `${prefix}-${i}`, requestedBy: 'github:GHSA-replay-storm', reason: `storm report ${i}`, at: '2026-01-01T00:00:00.000Z' }]);
    await pollUntil(reportsIn, (n) => n > before);
    if ((await handle.describe()).runId !== firstRun) return;
  }
  throw new Error(`${workflowId} did not continue as new after 200 reports`);
}

const containedThenClosed: Scenario = {
  name: 'incident-contained-then-closed',
  description: 'CLI update-with-start contains @acme/core@1.2.3 (dist-tag moved, deprecated, verified); a second CLI report joins the verified incident and is answered at once; then the close signal.',
  async run(ctx) {
    await ctx.worker();
    const first = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-cli-1', { reason: 'stolen token published a stealer' });
    expectEqual('first report', [first.code, first.status], [0, 'verified']);
    const again = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-cli-2');
    expectEqual('joined report', [again.code, again.status, again.incident], [0, 'verified', first.incident]);
    await closeAndWait(ctx, first.incident, 'recorded: contained');
    return [{ workflowId: first.incident, runs: 1 }];
  },
};

const signalWithStartJoined: Scenario = {
  name: 'incident-signal-with-start-joined',
  description: 'The intake path: an alert naming @acme/core@1.2.3 starts the incident with signal-with-start (server/drainer.ts), which contains it; a second alert of the same compromise joins by signal; then closed.',
  async run(ctx) {
    await ctx.worker();
    const intake = await ctx.intake();
    const alert = (id: string, title: string) => JSON.stringify({ id, kind: 'malware', severity: 'critical', title, package: { name: '@acme/core', versions: ['1.2.3'] } });
    const first = await sendStandard(intake.url, '/v1/alerts', alert('replay-inhouse-1', 'stealer in postinstall'), { id: 'msg_replay-1' });
    const incident = incidentId(ctx.registry.url, '@acme/core', ['1.2.3']);
    expectEqual('first alert', first.body.incidents, [{ incident, new: true, kind: 'containment' }]);
    await intake.drainer.idle();
    const contained = await pollUntil(incidentView(ctx, incident), (v: IncidentView) => v.status !== 'running');
    expectEqual('outcome', contained.status, 'verified');
    await sendStandard(intake.url, '/v1/alerts', alert('replay-inhouse-2', 'second scanner agrees'), { id: 'msg_replay-2' });
    await intake.drainer.idle();
    const joined = await pollUntil(incidentView(ctx, incident), (v: IncidentView) => v.reports.length === 2);
    expectEqual('reports', joined.reports.length, 2);
    await closeAndWait(ctx, incident, 'recorded: contained');
    return [{ workflowId: incident, runs: 1 }];
  },
};

const failedThenRetried: Scenario = {
  name: 'incident-failed-then-retried',
  description: 'A worker without a token fails to move the dist-tag (RegistryAuthError, not retried): the incident is failed; a worker with the token on the same task queue takes a new CLI report, which retries and contains; then closed.',
  async run(ctx) {
    const readOnly = await ctx.worker({ token: null });
    const failed = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-retry-1');
    expectEqual('without a token', [failed.code, failed.status], [1, 'failed']);
    await readOnly.stop();
    await ctx.worker();
    const retried = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-retry-2');
    expectEqual('with the token', [retried.code, retried.status, retried.incident], [0, 'verified', failed.incident]);
    await closeAndWait(ctx, failed.incident, 'recorded: contained on retry');
    return [{ workflowId: failed.incident, runs: 1 }];
  },
};

const dryRun: Scenario = {
  name: 'incident-dry-run',
  description: 'CLI --dry-run on @acme/utils@1.2.0: planned, nothing written, the incident closes at once.',
  async run(ctx) {
    await ctx.worker();
    const planned = await reportFromCli(ctx, '@acme/utils@1.2.0', 'replay-dry-1', { dryRun: true });
    expectEqual('dry run', [planned.code, planned.status], [0, 'planned']);
    await ctx.client.workflow.getHandle(planned.incident).result();
    return [{ workflowId: planned.incident, runs: 1 }];
  },
};

const incidentContinueAsNew: Scenario = {
  name: 'incident-continue-as-new',
  description: 'A contained incident hears reports one by one until the server suggests continue-as-new; the next run resumes with the view, takes one more report, and is closed. Both runs.',
  async run(ctx) {
    await ctx.worker();
    const contained = await reportFromCli(ctx, '@acme/cli@2.0.1', 'replay-long-1');
    expectEqual('contained', contained.status, 'verified');
    // Views of later code keep only the latest reports and count them all.
    const reportsIn = async () => { const v = await incidentView(ctx, contained.incident)(); return v.reportCount ?? v.reports.length; };
    await reportUntilContinuedAsNew(ctx, contained.incident, reportsIn, 'replay-long-storm');
    const before = await reportsIn();
    await ctx.client.workflow.getHandle(contained.incident).signal(reportSignal, [{ reportId: 'replay-long-after', requestedBy: 'cli:recorder', reason: 'after the new run began', at: '2026-01-01T00:00:00.000Z' }]);
    await pollUntil(reportsIn, (n) => n > before);
    await closeAndWait(ctx, contained.incident, 'recorded: long incident');
    return [{ workflowId: contained.incident, runs: 2 }];
  },
};

const incidentIdleTimeout: Scenario = {
  name: 'incident-idle-timeout',
  description: 'A contained incident hears nothing until its (short) idle timeout closes it.',
  available: () => withShortIdleTimeout({ ...incidentRequestFor({ spec: 'x@1.0.0', registry: 'http://127.0.0.1:1', dryRun: false }), report: sampleReport }) !== undefined,
  async run(ctx) {
    await ctx.worker();
    const adjust = (request: IncidentRequest) => {
      const short = withShortIdleTimeout(request);
      if (!short) throw new Error('withShortIdleTimeout gave no request');
      return short;
    };
    const contained = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-idle-1', { adjust });
    expectEqual('contained', contained.status, 'verified');
    await ctx.client.workflow.getHandle(contained.incident).result();
    return [{ workflowId: contained.incident, runs: 1 }];
  },
};

/** A watch incident from one alert through the intake; returns its id once the workflow has taken the report. */
async function watchFromAlert(ctx: ScenarioContext, intake: RunningIntake, path: string, body: string, messageId: string, kind: string): Promise<string> {
  const sent = await sendStandard(intake.url, path, body, { id: messageId });
  expectEqual('routed', [sent.status, sent.body.incidents?.map((i) => i.kind)], [202, [kind]]);
  await intake.drainer.idle();
  return sent.body.incidents![0]!.incident;
}

const watchReview: Scenario = {
  name: 'watch-review',
  description: 'A range-only malware alert on our own @acme/cli: a review incident; its blast radius is asked of an empty release index; then closed.',
  async run(ctx) {
    await ctx.worker();
    const intake = await ctx.intake();
    const id = await watchFromAlert(ctx, intake, '/v1/alerts', JSON.stringify({ id: 'replay-review-1', kind: 'malware', title: 'every version?', package: { name: '@acme/cli', ranges: ['*'] } }), 'msg_replay-review-1', 'review');
    await pollUntil(watchView(ctx, id), (v: WatchView) => v.assessedAt !== undefined);
    await closeAndWait(ctx, id, 'recorded: reviewed');
    return [{ workflowId: id, runs: 1 }];
  },
};

const watchWithdrawn: Scenario = {
  name: 'watch-withdrawn',
  description: 'A withdrawn OSV malware record (MAL-2025-6020, is): a withdrawn incident that records it and acts on nothing; then closed.',
  async run(ctx) {
    await ctx.worker();
    const intake = await ctx.intake();
    const record = { ...(JSON.parse(osvRecord('is__MAL-2025-6020.json')) as Record<string, unknown>), withdrawn: '2025-07-23T00:00:00Z' };
    const id = await watchFromAlert(ctx, intake, '/v1/alerts/osv', JSON.stringify(record), 'msg_replay-withdrawn-1', 'withdrawn');
    const view = await pollUntil(watchView(ctx, id), (v: WatchView) => v.assessedAt !== undefined);
    expectEqual('containments', view.containments ?? [], []);
    await closeAndWait(ctx, id, 'recorded: withdrawn');
    return [{ workflowId: id, runs: 1 }];
  },
};

const watchLeakedToken: Scenario = {
  name: 'watch-leaked-token',
  description: 'A leaked-token alert: a token incident (revocation is a human step); then closed.',
  async run(ctx) {
    await ctx.worker();
    const intake = await ctx.intake();
    const id = await watchFromAlert(ctx, intake, '/v1/alerts', JSON.stringify({ id: 'replay-token-1', kind: 'leaked-token', title: 'npm token in a CI log' }), 'msg_replay-token-1', 'leaked-token');
    await pollUntil(watchView(ctx, id), (v: WatchView) => v.reports.length === 1);
    await closeAndWait(ctx, id, 'recorded: token revoked');
    return [{ workflowId: id, runs: 1 }];
  },
};

/** A data directory whose release index holds the SBOMs of every fixture project (our releases). */
async function releaseIndex(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-replay-index-'));
  await ingestFixtureSboms(dataDir);
  return dataDir;
}

const watchDependencyContained: Scenario = {
  name: 'watch-dependency-contained',
  description: 'A malware OSV record for @crowdstrike/commitlint: the dependency incident asks the release index (SBOMs of our releases), opens the containment of @acme/cli 2.0.1 and 2.1.0-beta.0 (since one incident per compromise: the playbook incident of MAL-2025-47233), which contains them; a second delivery of the record joins and reuses the fresh answer; both incidents closed.',
  async run(ctx) {
    await ctx.worker({ dataDir: await releaseIndex() });
    const intake = await ctx.intake();
    const record = osvRecord('@crowdstrike__commitlint__MAL-2025-47233.json');
    const id = await watchFromAlert(ctx, intake, '/v1/alerts/osv', record, 'msg_replay-dependency-1', 'dependency');
    const view = await pollUntil(watchView(ctx, id), (v: WatchView) => (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
    const containment = compromiseIncidentId({ source: 'osv', sourceId: 'MAL-2025-47233' }, ctx.registry.url);
    expectEqual('containments', view.containments, [containment]);
    const outcome = await pollUntil(playbookView(ctx, containment), (v) => v.status !== 'running');
    expectEqual('containment', outcome.status, 'contained');
    await watchFromAlert(ctx, intake, '/v1/alerts/osv', record, 'msg_replay-dependency-2', 'dependency');
    await pollUntil(watchView(ctx, id), (v: WatchView) => v.reports.length === 2);
    await closeAndWait(ctx, id, 'recorded: dependency contained');
    await closeAndWait(ctx, containment, 'recorded: contained');
    return [{ workflowId: id, runs: 1 }, { workflowId: containment, runs: 1 }];
  },
};

const watchCompromisedBuild: Scenario = {
  name: 'watch-compromised-build',
  description: 'A compromised-build alert naming the poisoned run: the build incident has the index fetch provenance from the registry, opens the containment of @acme/core@1.2.3 (since one incident per compromise: the playbook incident of the alert), which contains it; both closed.',
  async run(ctx) {
    const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-replay-build-'));
    const sbom = join(dataDir, 'core-1.2.0.cdx.json');
    writeFileSync(sbom, await npmSbom(join(FIXTURES, 'sbom-projects', 'acme-core-1.2.0')));
    expectEqual('sbom ingest', (await runCli(['sbom', 'ingest', sbom], { QUARANTINE_DATA_DIR: dataDir })).code, 0);
    await ctx.worker({ dataDir, more: { QUARANTINE_SIGSTORE_TRUSTED_ROOT: ctx.registry.sigstore.trustedRoot, QUARANTINE_NPM_KEYS: ctx.registry.sigstore.npmKeys } });
    const intake = await ctx.intake();
    const alert = { id: 'replay-ci-breach-1', kind: 'compromised-build', severity: 'critical', title: 'injected step in the release workflow', build: { runIds: [FIXTURE_BUILDS.poisoned.runId] } };
    const id = await watchFromAlert(ctx, intake, '/v1/alerts', JSON.stringify(alert), 'msg_replay-build-1', 'compromised-build');
    const view = await pollUntil(watchView(ctx, id), (v: WatchView) => v.assessedAt !== undefined);
    const containment = compromiseIncidentId({ source: 'generic', sourceId: alert.id }, ctx.registry.url);
    expectEqual('containments', [view.assessmentError, view.containments], [undefined, [containment]]);
    const outcome = await pollUntil(playbookView(ctx, containment), (v) => v.status !== 'running');
    expectEqual('containment', outcome.status, 'contained');
    await closeAndWait(ctx, id, 'recorded: build contained');
    await closeAndWait(ctx, containment, 'recorded: contained');
    return [{ workflowId: id, runs: 1 }, { workflowId: containment, runs: 1 }];
  },
};

const watchContinueAsNew: Scenario = {
  name: 'watch-continue-as-new',
  description: 'A leaked-token incident hears reports one by one until the server suggests continue-as-new; the next run resumes with the view, takes one more report, and is closed. Both runs.',
  async run(ctx) {
    await ctx.worker();
    const intake = await ctx.intake();
    const id = await watchFromAlert(ctx, intake, '/v1/alerts', JSON.stringify({ id: 'replay-token-long', kind: 'leaked-token', title: 'npm token in a CI log, reported by many' }), 'msg_replay-token-long', 'leaked-token');
    // Views of later code keep only the latest reports and count them all.
    const reportsIn = async () => { const v = await watchView(ctx, id)(); return v.reportCount ?? v.reports.length; };
    await pollUntil(reportsIn, (n) => n === 1);
    await reportUntilContinuedAsNew(ctx, id, reportsIn, 'replay-token-storm');
    const before = await reportsIn();
    await ctx.client.workflow.getHandle(id).signal(reportSignal, [{ reportId: 'replay-token-after', requestedBy: 'github:GHSA-replay-storm', reason: 'after the new run began', at: '2026-01-01T00:00:00.000Z' }]);
    await pollUntil(reportsIn, (n) => n > before);
    await closeAndWait(ctx, id, 'recorded: long token incident');
    return [{ workflowId: id, runs: 2 }];
  },
};

const watchIdleTimeout: Scenario = {
  name: 'watch-idle-timeout',
  description: 'A leaked-token incident hears nothing until its (short) idle timeout closes it.',
  available: () => withShortWatchIdleTimeout({ incident: 'token-sample', kind: 'leaked-token', subject: 'sample', report: sampleReport }) !== undefined,
  async run(ctx) {
    await ctx.worker();
    const report: Report = { reportId: 'replay-token-idle', requestedBy: 'generic:replay-token-idle', reason: 'leaked-token (unknown): npm token in a CI log', at: '2026-01-01T00:00:00.000Z' };
    const request = withShortWatchIdleTimeout({ incident: 'token-replay-idle', kind: 'leaked-token', subject: 'npm token in a CI log', report });
    if (!request) throw new Error('withShortWatchIdleTimeout gave no request');
    // As server/drainer.ts starts a watch incident.
    const handle = await ctx.client.workflow.signalWithStart('watchIncidentWorkflow', {
      workflowId: request.incident,
      taskQueue: ctx.taskQueue,
      args: [request],
      signal: reportSignal,
      signalArgs: [[report]],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    await handle.result();
    return [{ workflowId: request.incident, runs: 1 }];
  },
};

// The paths only the v2 workflows have (behind patched('incident-v2') and patched('watch-incident-v2')):
// an alert that authorises no write, an over-broad alert held for a person, drift on a contained
// incident, a dependency alert that would take a whole package.

const RECORDED_AT = '2026-01-01T00:00:00.000Z';

/** A report as the intake makes one from a scanner's alert; alert ids are fixed, so recordings repeat. */
function alertReport(id: string, kind: 'malware' | 'vulnerability', severity: 'low' | 'critical'): Report {
  return {
    reportId: `osv:${id}:replay`,
    requestedBy: `osv:${id}`,
    reason: `${kind} (${severity}): recorded for replay`,
    at: RECORDED_AT,
    alert: { source: 'osv', sourceId: id, kind, severity, aliases: [], evidence: [], withdrawn: false },
  };
}

/** A report as cli/contain.ts makes one: a person's word, no alert. */
function onCallReport(reportId: string, reason: string): Report {
  return { reportId, requestedBy: 'cli:recorder', reason, at: RECORDED_AT };
}

function alertRequest(ctx: ScenarioContext, name: string, versions: string[], report: Report, more: Partial<IncidentRequest> = {}): IncidentRequest {
  return { incident: incidentId(ctx.registry.url, name, versions), registry: ctx.registry.url, name, versions, dryRun: false, report, ...more };
}

/** Starts (or joins) a containment as server/drainer.ts does, and waits for its first outcome. */
async function startFromAlert(ctx: ScenarioContext, request: IncidentRequest): Promise<IncidentView> {
  await ctx.client.workflow.signalWithStart('incidentWorkflow', {
    workflowId: request.incident,
    taskQueue: ctx.taskQueue,
    args: [request],
    signal: reportSignal,
    signalArgs: [[request.report]],
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
  return pollUntil(incidentView(ctx, request.incident), (v: IncidentView) => v.status !== 'running');
}

const readRegistry = (ctx: ScenarioContext, name: string, versions: string[]) => npmView(npmCli(ctx.registry.url), name, versions);
/** Whoever holds the stolen token can undo a containment with the npm CLI. */
const attacker = (ctx: ScenarioContext) => npmCli(ctx.registry.url, ctx.registry.tokens.admin);
const driftEntries = (view: IncidentView) => view.timeline.filter((e) => e.step === 'drift');

const incidentRecorded: Scenario = {
  name: 'incident-recorded',
  description: 'A low-severity vulnerability alert on @acme/core@1.2.3 starts a containment by signal-with-start: recorded, no registry write authorised, nothing written; then closed.',
  async run(ctx) {
    await ctx.worker();
    const before = await readRegistry(ctx, '@acme/core', ['1.2.3']);
    const request = alertRequest(ctx, '@acme/core', ['1.2.3'], alertReport('GHSA-replay-vuln-1', 'vulnerability', 'low'));
    const view = await startFromAlert(ctx, request);
    expectEqual('outcome', [view.status, view.timeline.map((e) => e.step)], ['recorded', ['intake', 'recorded']]);
    expectEqual('registry', await readRegistry(ctx, '@acme/core', ['1.2.3']), before);
    await closeAndWait(ctx, request.incident, 'recorded: not malware');
    return [{ workflowId: request.incident, runs: 1 }];
  },
};

const incidentHeldThenApproved: Scenario = {
  name: 'incident-held-then-approved',
  description: 'A malware alert on three @acme/core versions with a limit of two: held for a person, nothing written; the on-call report through the reportAndAwaitOutcome update contains all three (verified); then closed.',
  async run(ctx) {
    await ctx.worker();
    const versions = ['1.2.1', '1.2.2', '1.2.3'];
    const before = await readRegistry(ctx, '@acme/core', versions);
    const request = alertRequest(ctx, '@acme/core', versions, alertReport('MAL-replay-held-1', 'malware', 'critical'), { maxVersions: 2 });
    const held = await startFromAlert(ctx, request);
    expectEqual('alert alone', held.status, 'held');
    expectEqual('registry while held', await readRegistry(ctx, '@acme/core', versions), before);
    const handle = ctx.client.workflow.getHandle(request.incident);
    const approved = await handle.executeUpdate(reportAndAwaitOutcome, { args: [onCallReport('replay-held-oncall', 'confirmed by on-call')] });
    expectEqual('on-call report', approved.status, 'verified');
    const after = await readRegistry(ctx, '@acme/core', versions);
    expectEqual('latest', after.distTags.latest, '1.2.0');
    expectEqual('deprecated', versions.map((v) => after.deprecated[v] !== undefined), [true, true, true]);
    await closeAndWait(ctx, request.incident, 'recorded: approved and contained');
    return [{ workflowId: request.incident, runs: 1 }];
  },
};

const incidentDriftOnReport: Scenario = {
  name: 'incident-drift-on-report',
  description: 'The CLI contains @acme/core@1.2.3; the stolen token undoes it with the npm CLI (un-deprecated, latest moved back); a new CLI report reads the registry again, records the drift and contains it again (verified); then closed.',
  async run(ctx) {
    await ctx.worker();
    const first = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-drift-report-1');
    expectEqual('contained', [first.code, first.status], [0, 'verified']);
    await attacker(ctx)(['deprecate', '@acme/core@1.2.3', '']);
    await attacker(ctx)(['dist-tag', 'add', '@acme/core@1.2.3', 'latest']);
    expectEqual('undone', await readRegistry(ctx, '@acme/core', ['1.2.3']), { deprecated: { '1.2.3': undefined }, distTags: { latest: '1.2.3' } });
    const again = await reportFromCli(ctx, '@acme/core@1.2.3', 'replay-drift-report-2');
    expectEqual('contained again', [again.code, again.status, again.incident], [0, 'verified', first.incident]);
    expectEqual('drift entries', driftEntries(await incidentView(ctx, first.incident)()).length, 1);
    const after = await readRegistry(ctx, '@acme/core', ['1.2.3']);
    expectEqual('healed', [after.distTags.latest, after.deprecated['1.2.3'] !== undefined], ['1.2.2', true]);
    await closeAndWait(ctx, first.incident, 'recorded: drift contained');
    return [{ workflowId: first.incident, runs: 1 }];
  },
};

const incidentDriftOnTimer: Scenario = {
  name: 'incident-drift-on-timer',
  description: 'A malware alert contains @acme/utils@1.2.0 by signal-with-start with a 2-second re-check interval; the stolen token moves latest back; the re-check timer finds the drift and contains it again, no new report; then closed.',
  async run(ctx) {
    await ctx.worker();
    const request = alertRequest(ctx, '@acme/utils', ['1.2.0'], alertReport('MAL-replay-timer-1', 'malware', 'critical'), { recheckIntervalMs: 2_000 });
    const contained = await startFromAlert(ctx, request);
    expectEqual('contained', contained.status, 'verified');
    await attacker(ctx)(['dist-tag', 'add', '@acme/utils@1.2.0', 'latest']);
    const healed = await pollUntil(incidentView(ctx, request.incident), (v: IncidentView) => v.status === 'verified' && driftEntries(v).length > 0, 90_000);
    expectEqual('reports', healed.reportCount ?? healed.reports.length, 1);
    expectEqual('latest', (await readRegistry(ctx, '@acme/utils', ['1.2.0'])).distTags.latest, '1.0.0');
    await closeAndWait(ctx, request.incident, 'recorded: drift contained on the timer');
    return [{ workflowId: request.incident, runs: 1 }];
  },
};

const watchDependencyHeld: Scenario = {
  name: 'watch-dependency-held',
  description: 'A malware alert on @solana/spl-token@0.4.9, which every indexed @acme/core release ships: the dependency incident holds @acme/core for a person and opens no containment, nothing written; then closed.',
  async run(ctx) {
    await ctx.worker({ dataDir: await releaseIndex() });
    const intake = await ctx.intake();
    const core = ['1.2.0', '1.2.1', '1.2.2', '1.2.3'];
    const before = await readRegistry(ctx, '@acme/core', core);
    const alert = { id: 'replay-spl-1', kind: 'malware', title: 'spl-token', package: { name: '@solana/spl-token', versions: ['0.4.9'] } };
    const id = await watchFromAlert(ctx, intake, '/v1/alerts', JSON.stringify(alert), 'msg_replay-spl-1', 'dependency');
    const view = await pollUntil(watchView(ctx, id), (v: WatchView) => v.assessedAt !== undefined);
    expectEqual('assessed', [view.assessmentError, view.containments ?? [], view.held?.map((h) => [h.name, h.versions])], [undefined, [], [['@acme/core', core]]]);
    expectEqual('registry', await readRegistry(ctx, '@acme/core', core), before);
    await closeAndWait(ctx, id, 'recorded: held for a person');
    return [{ workflowId: id, runs: 1 }];
  },
};

// ---- the playbook (workflows/playbook.ts) ---------------------------------------------------------

/** The recorder is the policy's approver; no scenario approves with a one-time password (sealed payloads need the key to replay). */
const recorderPolicy: Policy = parsePolicy({ version: 1, approvers: [{ name: 'recorder', may: ['all'] }] });
const playbookView = (ctx: ScenarioContext, id: string) => () => ctx.client.workflow.getHandle(id).query(playbookQuery);

/** `quarantine <spec>... --json` as cli/report.ts runs it (update-with-start), with a fixed report id. */
async function reportOnCallFromCli(ctx: ScenarioContext, specs: string[], reportId: string, policy: Policy = recorderPolicy): Promise<{ code: number; incident: string; status: string }> {
  const built = onCallRequestFor({ specs, registry: ctx.registry.url, planOnly: false, reason: 'reported compromised by the on-call engineer', policy });
  const first = { ...built.first, report: { ...built.first.report, reportId, requestedBy: 'cli:recorder', at: '2026-01-01T00:00:00.000Z' } };
  const fixed = { ...built, first, request: { ...built.request, first } };
  const out: string[] = [];
  const code = await reportOnCall(ctx.client, fixed, { json: true, taskQueue: ctx.taskQueue, waitMs: 120_000 }, { out: (l) => out.push(l), err: () => undefined });
  const json = JSON.parse(out.at(-1) ?? '{}') as { incident: string; status: string };
  return { code, incident: json.incident, status: json.status };
}

const playbookOnCallRejectedJoined: Scenario = {
  name: 'playbook-on-call-rejected-joined',
  description: 'quarantine @acme/core@1.2.3 @acme/cli@2.0.1 (update-with-start): both contained at once, 2FA for publishing waits; the approver rejects it (update); a second on-call report joins and reads back; then closed.',
  async run(ctx) {
    await ctx.worker();
    const first = await reportOnCallFromCli(ctx, ['@acme/core@1.2.3', '@acme/cli@2.0.1'], 'replay-playbook-1');
    expectEqual('contained', [first.code, first.status], [0, 'contained']);
    const handle = ctx.client.workflow.getHandle(first.incident);
    const rejected = await handle.executeUpdate(rejectUpdate, { args: [{ actionIds: [], by: 'recorder', note: 'done by hand' }] });
    expectEqual('rejected', rejected.status, 'verified');
    const again = await reportOnCallFromCli(ctx, ['@acme/core@1.2.3', '@acme/cli@2.0.1'], 'replay-playbook-2');
    expectEqual('joined', [again.code, again.status, again.incident], [0, 'verified', first.incident]);
    await closeAndWait(ctx, first.incident, 'recorded: contained');
    return [{ workflowId: first.incident, runs: 1 }];
  },
};

const playbookIntakeHeld: Scenario = {
  name: 'playbook-intake-held',
  description: 'The intake path: a malware alert on the only version of @acme/solo starts a playbook incident by signal-with-start; held for a person, nothing written; then closed.',
  async run(ctx) {
    await ctx.worker();
    const intake = await ctx.intake();
    const before = await readRegistry(ctx, '@acme/solo', ['1.0.0']);
    const sent = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ id: 'MAL-2026-9001', kind: 'malware', severity: 'critical', title: 'solo', package: { name: '@acme/solo', versions: ['1.0.0'] } }), { id: 'msg_replay-playbook-held' });
    const id = sent.body.incidents![0]!.incident;
    await intake.drainer.idle();
    const view = await pollUntil(playbookView(ctx, id), (v) => v.status !== 'running');
    expectEqual('held', view.status, 'held');
    expectEqual('registry', await readRegistry(ctx, '@acme/solo', ['1.0.0']), before);
    await closeAndWait(ctx, id, 'recorded: held');
    return [{ workflowId: id, runs: 1 }];
  },
};

const playbookRolledBack: Scenario = {
  name: 'playbook-rolled-back',
  description: 'quarantine @acme/utils@1.2.0 contains it; the approver rolls it back (update): the deprecation is taken away and latest moved back, compare-and-set; then closed. Since package writers, the writes run in the writer of @acme/utils, whose last run (the rollback\'s) is kept too: it ends a second after its last write.',
  async run(ctx) {
    await ctx.worker({ more: { QUARANTINE_WRITER_IDLE_SECONDS: '1' } });
    const before = await readRegistry(ctx, '@acme/utils', ['1.2.0']);
    const first = await reportOnCallFromCli(ctx, ['@acme/utils@1.2.0'], 'replay-playbook-rollback');
    expectEqual('contained', first.status, 'contained');
    const rolledBack = await ctx.client.workflow.getHandle(first.incident).executeUpdate(rollbackUpdate, { args: [{ by: 'recorder', reason: 'false positive' }] });
    expectEqual('rolled back', rolledBack.status, 'rolled-back');
    expectEqual('registry', await readRegistry(ctx, '@acme/utils', ['1.2.0']), before);
    await closeAndWait(ctx, first.incident, 'recorded: rolled back');
    // Code from before the package writers writes from the incident itself: no writer to keep.
    const writer = ctx.client.workflow.getHandle(packageWriterId(ctx.registry.url, '@acme/utils', ctx.taskQueue));
    const wrote = await writer.describe().then(() => true, () => false);
    if (wrote) await writer.result();
    return [{ workflowId: first.incident, runs: 1 }, ...(wrote ? [{ workflowId: writer.workflowId, runs: 1 }] : [])];
  },
};

const playbookDriftOnTimer: Scenario = {
  name: 'playbook-drift-on-timer',
  description: 'A playbook incident (2-second re-check) contains @acme/utils@1.2.0; the stolen token moves latest back; the re-check finds the drift and contains it again; then closed.',
  async run(ctx) {
    await ctx.worker();
    const incident = 'compromise-replay-drift';
    const releases = [{ name: '@acme/utils', versions: ['1.2.0'] }];
    const report = alertReport('MAL-replay-playbook-timer', 'malware', 'critical');
    const handle = await ctx.client.workflow.start('playbookWorkflow', {
      workflowId: incident,
      taskQueue: ctx.taskQueue,
      args: [{ compromise: { incident, registry: ctx.registry.url, trigger: 'malware', severity: 'critical', releases, advisories: [], approvedReleases: [] }, policy: recorderPolicy, first: { report, releases }, recheckIntervalMs: 2_000 }],
    });
    expectEqual('contained', (await pollUntil(playbookView(ctx, incident), (v) => v.status !== 'running')).status, 'contained');
    await attacker(ctx)(['dist-tag', 'add', '@acme/utils@1.2.0', 'latest']);
    await pollUntil(playbookView(ctx, incident), (v) => v.status === 'contained' && v.events.some((e) => e.phase === 'drift'), 90_000);
    expectEqual('latest', (await readRegistry(ctx, '@acme/utils', ['1.2.0'])).distTags.latest, '1.0.0');
    await closeAndWait(ctx, handle.workflowId, 'recorded: drift contained on the timer');
    return [{ workflowId: incident, runs: 1 }];
  },
};

export const SCENARIOS: readonly Scenario[] = [
  containedThenClosed,
  signalWithStartJoined,
  failedThenRetried,
  dryRun,
  incidentContinueAsNew,
  incidentIdleTimeout,
  watchReview,
  watchWithdrawn,
  watchLeakedToken,
  watchDependencyContained,
  watchCompromisedBuild,
  watchContinueAsNew,
  watchIdleTimeout,
  incidentRecorded,
  incidentHeldThenApproved,
  incidentDriftOnReport,
  incidentDriftOnTimer,
  watchDependencyHeld,
  playbookOnCallRejectedJoined,
  playbookIntakeHeld,
  playbookRolledBack,
  playbookDriftOnTimer,
];
