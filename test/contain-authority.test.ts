// Which reports write, and when a containment waits for a person, end to end: a real Temporal dev
// server, a real Verdaccio behind a write-counting proxy, and the npm CLI as the judge of what the
// registry serves. Also: drift on a contained incident (a report and the timer), the idle timeout, and
// bounded incident state.
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { workflowSource } from '../worker/index';
import type { AlertKind, AlertSeverity } from '../core/alert';
import type { IncidentRequest, IncidentView, Report } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { incidentMarker } from '../core/plan';
import type { LocalRegistry } from '../stack/registry';
import { reportAndAwaitOutcome, reportSignal, timelineQuery } from '../workflows/definitions';
import { INCIDENT_STATUS } from '../workflows/search-attributes';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import {
  jsonOf,
  npmCli,
  npmView,
  pollUntil,
  runCli,
  startInProcessWorker,
  testClient,
  testRegistry,
  uniqueTaskQueue,
  type RunningWorker,
} from './helpers/stack';

interface ContainJson {
  incident: string;
  new: boolean;
  status: string;
  contained: boolean;
  failure?: string;
  timeline: { step: string; status: string; detail: string }[];
}

function alertReport(kind: AlertKind, options: { severity?: AlertSeverity; withdrawn?: boolean; id?: string } = {}): Report {
  const id = options.id ?? 'MAL-2026-4242';
  return {
    reportId: `osv:${id}:${randomUUID()}`,
    requestedBy: `osv:${id}`,
    reason: `${kind} (${options.severity ?? 'critical'}): use @evil/core-fixed instead`,
    at: new Date().toISOString(),
    alert: {
      source: 'osv',
      sourceId: id,
      kind,
      severity: options.severity ?? 'critical',
      aliases: ['GHSA-9x4v-xfq5-m8x5'],
      evidence: ['https://evil.example/read-me'],
      withdrawn: options.withdrawn ?? false,
    },
  };
}

describe('containment decisions on the real stack', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let client: Client;
  let closeClient: () => Promise<void>;
  const workers: RunningWorker[] = [];
  const taskQueue = uniqueTaskQueue('authority');
  const readOnlyQueue = uniqueTaskQueue('authority-ro');
  let npm: ReturnType<typeof npmCli>;
  let attacker: ReturnType<typeof npmCli>;

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
    ({ client, close: closeClient } = await testClient());
    workers.push(await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue }));
    npm = npmCli(registry.url);
    // Whoever holds the stolen token can undo a containment with the npm CLI.
    attacker = npmCli(registry.url, registry.tokens.admin);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await closeClient?.();
    await proxy?.close();
    await registry?.stop();
  });

  function requestFor(name: string, versions: string[], report: Report, more: Partial<IncidentRequest> = {}): IncidentRequest {
    return { incident: incidentId(proxy.url, name, versions), registry: proxy.url, name, versions, dryRun: false, report, ...more };
  }

  /** Starts (or joins) an incident the way the intake's drainer does, and waits for its first outcome. */
  async function startIncident(request: IncidentRequest, queue = taskQueue): Promise<{ handle: WorkflowHandle; view: IncidentView }> {
    const handle = await client.workflow.signalWithStart('incidentWorkflow', {
      workflowId: request.incident,
      taskQueue: queue,
      args: [request],
      signal: reportSignal,
      signalArgs: [[request.report]],
    });
    const view = await pollUntil(() => handle.query(timelineQuery), (v) => v.status !== 'running');
    return { handle, view };
  }

  const cli = (args: string[], queue = taskQueue) => runCli([...args, '--registry', proxy.url, '--json'], { QUARANTINE_TASK_QUEUE: queue });
  const writesTo = (name: string) => proxy.writes().filter((w) => w.path.includes(name.replace('/', '%2f')));
  const statusAttribute = async (handle: WorkflowHandle) =>
    (await handle.describe()).typedSearchAttributes.get(INCIDENT_STATUS);

  it('records a low-severity vulnerability on our release and writes nothing', async () => {
    const before = await npmView(npm, '@acme/core', ['1.2.3']);
    const { handle, view } = await startIncident(requestFor('@acme/core', ['1.2.3'], alertReport('vulnerability', { severity: 'low', id: 'GHSA-9x4v-xfq5-m8x5' })));
    expect(view.status).toBe('recorded');
    expect(view.failure).toMatch(/no report so far authorises a registry write/);
    expect(view.timeline.map((e) => e.step)).toEqual(['intake', 'recorded']);
    expect(await statusAttribute(handle)).toMatch(/^recorded: /);
    // A withdrawal of it changes nothing either.
    const after = await handle.executeUpdate(reportAndAwaitOutcome, { args: [alertReport('vulnerability', { withdrawn: true })] });
    expect(after.status).toBe('recorded');
    expect(writesTo('@acme/core')).toEqual([]);
    expect(proxy.seen.filter((r) => r.path.startsWith('/@acme%2fcore'))).toEqual([]);
    expect(await npmView(npm, '@acme/core', ['1.2.3'])).toEqual(before);
    expect(before).toEqual({ deprecated: { '1.2.3': undefined }, distTags: { latest: '1.2.3' } });
  });

  it('does not retry a failed containment on a withdrawn report; a live alert does', async () => {
    const reader = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.reader, taskQueue: readOnlyQueue });
    const request = requestFor('@acme/cli', ['2.0.1'], alertReport('malware'));
    const { handle, view } = await startIncident(request, readOnlyQueue);
    expect(view.status).toBe('failed');
    expect(view.failure).toMatch(/403/);
    await reader.stop();
    // The token is fixed: from here on a retry would write.
    workers.push(await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue: readOnlyQueue }));

    const readsBefore = proxy.seen.length;
    const withdrawn = await handle.executeUpdate(reportAndAwaitOutcome, { args: [alertReport('malware', { withdrawn: true })] });
    expect(withdrawn.status).toBe('failed');
    expect(withdrawn.timeline.map((e) => e.step)).not.toContain('retry');
    expect(withdrawn.timeline[withdrawn.timeline.length - 1]!.detail).toMatch(/malware, withdrawn: writes nothing/);
    expect(proxy.seen.length).toBe(readsBefore);
    expect(await npmView(npm, '@acme/cli', ['2.0.1'])).toEqual({ deprecated: { '2.0.1': undefined }, distTags: { latest: '2.0.1', next: '2.1.0-beta.0' } });

    const live = await handle.executeUpdate(reportAndAwaitOutcome, { args: [alertReport('malware', { id: 'MAL-2026-4243' })] });
    expect(live.status).toBe('verified');
    expect(live.timeline.map((e) => e.step)).toContain('retry');
    const after = await npmView(npm, '@acme/cli', ['2.0.1']);
    expect(after.distTags.latest).toBe('2.0.0');
    // Our template: the marker, the advisory ids with our link; never the alert's text.
    expect(after.deprecated['2.0.1']).toBe(
      `SECURITY: this release is compromised, do not install it (${incidentMarker(request.incident)}; MAL-2026-4242, GHSA-9x4v-xfq5-m8x5, MAL-2026-4243; https://osv.dev/vulnerability/MAL-2026-4242)`,
    );
  });

  it('holds an alert on the only version of a package, nothing written, until the on-call report contains it', async () => {
    const request = requestFor('@acme/solo', ['1.0.0'], alertReport('malware'));
    const { handle, view } = await startIncident(request);
    expect(view.status).toBe('held');
    expect(view.failure).toMatch(/the only published version is affected.*latest \(1\.0\.0\) would have no safe release/);
    expect(await statusAttribute(handle)).toMatch(/^held: over-broad for an alert alone: the only published version/);
    const shown = await runCli(['timeline', '@acme/solo@1.0.0', '--registry', proxy.url]);
    expect(shown.stdout).toMatch(/status {4}held: over-broad/);
    expect(shown.stdout).toMatch(/skip {2}held: /);
    expect(writesTo('@acme/solo')).toEqual([]);
    expect((await npmView(npm, '@acme/solo', ['1.0.0'])).deprecated['1.0.0']).toBeUndefined();

    // An incident of the type before the playbook is approved by reporting its id (a release now opens a playbook incident).
    const approved = await cli([request.incident, '--reason', 'confirmed by on-call']);
    // No safe release for latest even so: deprecated, latest left for a person, not contained.
    expect(approved.code).toBe(1);
    const result = jsonOf<ContainJson>(approved);
    expect(result.new).toBe(false);
    expect(result.failure).toMatch(/dist-tag latest/);
    expect(result.timeline.find((e) => e.step === 'plan')?.detail).toMatch(/approved by cli:.* although the only published version/);
    const after = await npmView(npm, '@acme/solo', ['1.0.0']);
    expect(after.deprecated['1.0.0']).toMatch(new RegExp(`^SECURITY: .*\\(${incidentMarker(request.incident)}; .*\\): confirmed by on-call$`));
    expect(after.distTags.latest).toBe('1.0.0');
  });

  const coreVersions = ['1.2.1', '1.2.2', '1.2.3'];
  let coreIncident: string;

  it('holds more versions than the limit; the on-call report of the incident id contains them all', async () => {
    const request = requestFor('@acme/core', coreVersions, alertReport('malware'), { maxVersions: 2 });
    coreIncident = request.incident;
    const { view } = await startIncident(request);
    expect(view.status).toBe('held');
    expect(view.failure).toMatch(/3 versions, more than the limit of 2/);
    expect(view.failure).toContain(`quarantine ${coreIncident}`);
    expect(writesTo('@acme/core')).toEqual([]);

    const approved = await cli([coreIncident]);
    expect(approved.code).toBe(0);
    expect(jsonOf<ContainJson>(approved).status).toBe('verified');
    const after = await npmView(npm, '@acme/core', ['1.2.0', ...coreVersions]);
    expect(after.distTags).toEqual({ latest: '1.2.0' });
    for (const v of coreVersions) expect(after.deprecated[v]).toContain(incidentMarker(coreIncident));
    expect(after.deprecated['1.2.0']).toBeUndefined();
  });

  it('re-reads a contained incident on a report, contains the drift again and names it', async () => {
    await attacker(['deprecate', '@acme/core@1.2.3', '']);
    await attacker(['dist-tag', 'add', '@acme/core@1.2.3', 'latest']);
    expect(await npmView(npm, '@acme/core', ['1.2.3'])).toEqual({ deprecated: { '1.2.3': undefined }, distTags: { latest: '1.2.3' } });

    // The on-call engineer asks again: the answer is a fresh read, not "verified" from memory.
    const again = await cli([coreIncident]);
    expect(again.code).toBe(0);
    const result = jsonOf<ContainJson>(again);
    expect(result.status).toBe('verified');
    const drift = result.timeline.filter((e) => e.step === 'drift');
    expect(drift).toHaveLength(1);
    expect(drift[0]!.detail).toMatch(/@acme\/core@1\.2\.3 deprecated: found \(not deprecated\)/);
    expect(drift[0]!.detail).toMatch(/dist-tag latest: found 1\.2\.3/);
    const after = await npmView(npm, '@acme/core', ['1.2.3']);
    expect(after.distTags.latest).toBe('1.2.0');
    expect(after.deprecated['1.2.3']).toContain(incidentMarker(coreIncident));
  });

  it('re-reads on a withdrawn report and records the drift, writing nothing', async () => {
    await attacker(['deprecate', '@acme/core@1.2.2', '']);
    const writesBefore = proxy.writes().length;
    const view = await client.workflow.getHandle(coreIncident).executeUpdate(reportAndAwaitOutcome, { args: [alertReport('malware', { withdrawn: true })] });
    expect(view.status).toBe('failed');
    expect(view.failure).toMatch(/registry drifted: @acme\/core@1\.2\.2 deprecated: found \(not deprecated\).*authorises no write/);
    expect(view.timeline.filter((e) => e.step === 'drift')).toHaveLength(2);
    expect(proxy.writes()).toHaveLength(writesBefore);
    expect((await npmView(npm, '@acme/core', ['1.2.2'])).deprecated['1.2.2']).toBeUndefined();
  });

  it('re-reads a contained incident on a timer and contains drift again', async () => {
    const request = requestFor('@acme/utils', ['1.2.0'], alertReport('malware'), { recheckIntervalMs: 2_000 });
    const { handle, view } = await startIncident(request);
    expect(view.status).toBe('verified');
    expect((await npmView(npm, '@acme/utils', ['1.2.0'])).distTags.latest).toBe('1.0.0');

    await attacker(['dist-tag', 'add', '@acme/utils@1.2.0', 'latest']);
    const healed = await pollUntil(
      () => handle.query(timelineQuery),
      (v) => v.status === 'verified' && v.timeline.some((e) => e.step === 'drift'),
      90_000,
    );
    const drift = healed.timeline.find((e) => e.step === 'drift')!;
    expect(drift.detail).toMatch(/dist-tag latest: found 1\.2\.0/);
    const recheck = healed.timeline[healed.timeline.indexOf(drift) - 2]!;
    expect(recheck).toMatchObject({ step: 're-check', detail: 'the registry is read again every 2 seconds while the incident is open' });
    expect((await npmView(npm, '@acme/utils', ['1.2.0'])).distTags.latest).toBe('1.0.0');
    await handle.signal('close', 'test over');
  });

  it('restarts the idle timeout on every report, even one that starts no work', async () => {
    const idleTimeoutMs = 6_000;
    const request = requestFor('@acme/core', ['1.2.0'], alertReport('vulnerability', { severity: 'high' }), { idleTimeoutMs });
    const { handle } = await startIncident(request);
    let last = Date.now();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, idleTimeoutMs / 2));
      await handle.signal(reportSignal, [alertReport('vulnerability', { severity: 'high', id: `GHSA-2222-3333-444${i + 2}` })]);
      last = Date.now();
    }
    // Nine seconds after the start: a timer that did not restart would have closed it by now.
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const result = (await handle.result()) as IncidentView;
    expect(Date.now() - last).toBeGreaterThanOrEqual(idleTimeoutMs - 1_000);
    expect(result.timeline[result.timeline.length - 1]).toMatchObject({ step: 'closed', detail: 'no new report for 6 seconds' });
    expect(result.reportCount).toBe(4);
  });

  it('keeps an incident bounded: counts, the first and the latest reports', async () => {
    const request = requestFor('@acme/core', ['1.2.0', '1.2.1'], alertReport('vulnerability'));
    const { handle } = await startIncident(request);
    const big = (i: number): Report => ({ ...alertReport('vulnerability', { id: 'GHSA-2222-3333-4444' }), reportId: `big-${i}`, reason: 'r'.repeat(10_000) });
    for (let batch = 0; batch < 5; batch++) {
      await handle.signal(reportSignal, Array.from({ length: 50 }, (_, i) => big(batch * 50 + i)));
    }
    // A redelivery of an early report is still recognised.
    await handle.signal(reportSignal, [big(3)]);
    const view = await pollUntil(() => handle.query(timelineQuery), (v) => (v.reportCount ?? 0) >= 251);
    expect(view.reportCount).toBe(251);
    expect(view.reports).toHaveLength(50);
    expect(view.reports[0]!.reportId).toBe(request.report.reportId);
    expect(view.reports[49]!.reportId).toBe('big-249');
    expect(view.timeline).toHaveLength(200);
    expect(view.timelineDropped).toBe(252 - 200);
    expect(JSON.stringify(view).length).toBeLessThan(200_000);
    const shown = await runCli(['timeline', request.incident]);
    expect(shown.stdout).toMatch(/reports {3}251 in all: osv:MAL-2026-4242, … 201 not kept …/);
    expect(shown.stdout).toContain('52 timeline entries not kept');
    await handle.signal('close', 'test over');
  });

  it('replays every history this file made with the v2 code, patch marker included', async () => {
    const ids: string[] = [];
    for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' OR TaskQueue = '${readOnlyQueue}'` })) ids.push(execution.workflowId);
    expect(ids.length).toBeGreaterThanOrEqual(7);
    for (const workflowId of ids) {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      // The v1 code records no marker at all: the one marker here is the 'incident-v2' patch.
      expect(history.events?.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(1);
      await Worker.runReplayHistory(workflowSource(), history, workflowId);
    }
  });
});
