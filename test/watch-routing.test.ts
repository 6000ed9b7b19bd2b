// Routing and watch incidents on the real stack: alerts through the intake (or batches signalled as
// the drainer sends them) into a real Temporal server and worker, over a release index built from
// real SBOMs; the npm CLI judges what the registry serves afterwards.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Report } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { compromiseIncidentId, type WatchRequest } from '../core/intake';
import { incidentMarker } from '../core/plan';
import { startIntake, type RunningIntake } from '../server/index';
import type { LocalRegistry } from '../stack/registry';
import type { PlaybookView } from '../core/playbook/view';
import { playbookQuery, reportSignal } from '../workflows/definitions';
import { watchQuery, type WatchView } from '../workflows/watch-incident';
import { incidentsOn, intakeConfig, sendGithub, sendStandard } from './helpers/intake';
import { ingestFixtureSboms, npmCli, npmView, pollUntil, runCli, startInProcessWorker, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';
import { dependabotOnCore, GHSA, malwareAdvisoryOnCore } from './helpers/github-payloads';

const CORE = ['1.2.0', '1.2.1', '1.2.2', '1.2.3'];

jest.setTimeout(150_000);

describe('routing and watch incidents on the real stack', () => {
  let registry: LocalRegistry;
  let worker: RunningWorker;
  let intake: RunningIntake;
  let client: Client;
  let closeClient: () => Promise<void>;
  const taskQueue = uniqueTaskQueue('route');
  const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-route-'));
  const coreDeprecations = async () => (await npmView(npmCli(registry.url), '@acme/core', CORE)).deprecated;

  beforeAll(async () => {
    await ingestFixtureSboms(dataDir);
    registry = await testRegistry();
    worker = await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue, dataDir });
    ({ client, close: closeClient } = await testClient());
    intake = await startIntake(intakeConfig({ registry: registry.url, taskQueue }), { client });
  }, 120_000);

  afterAll(async () => {
    await intake?.close();
    await worker?.stop();
    await closeClient?.();
    await registry?.stop();
  });

  const report = (id: string, kind: 'malware' | 'vulnerability', withdrawn = false): Report => ({
    reportId: `generic:${id}`,
    requestedBy: `generic:${id}`,
    reason: `${kind} (critical): ${id}`,
    at: new Date().toISOString(),
    alert: { source: 'generic', sourceId: id, kind, severity: 'critical', aliases: [], evidence: [], withdrawn },
  });
  const isDependency = (run: string, reportOne: Report, resume?: WatchView): WatchRequest & { resume?: WatchView } => ({
    incident: `dependency-is-${run}`,
    kind: 'dependency',
    subject: 'is@3.3.1',
    report: reportOne,
    registry: registry.url,
    affected: { name: 'is', versions: ['3.3.1'], ranges: [], osvRanges: [] },
    ...(resume ? { resume } : {}),
  });

  it('sends a low-severity vulnerability naming our exact release to review and writes nothing', async () => {
    const sent = await sendStandard(
      intake.url,
      '/v1/alerts',
      JSON.stringify({ id: `audit-${randomUUID()}`, kind: 'vulnerability', severity: 'low', title: 'ReDoS in parseHeader', package: { name: '@acme/core', versions: ['1.2.3'] } }),
    );
    expect(sent.status).toBe(202);
    expect(sent.body.incidents).toEqual([expect.objectContaining({ kind: 'review', new: true })]);
    await intake.drainer.idle();
    const view = await pollUntil(() => client.workflow.getHandle(sent.body.incidents![0]!.incident).query(watchQuery), (v: WatchView) => v.reports.length > 0);
    expect(view.kind).toBe('review');
    expect(await incidentsOn(client, taskQueue)).not.toContain(incidentId(registry.url, '@acme/core', ['1.2.3']));
    expect(await coreDeprecations()).toEqual({ '1.2.0': undefined, '1.2.1': undefined, '1.2.2': undefined, '1.2.3': undefined });
  });

  it('a malware alert on a dependency range >=0.0.1 opens no containment', async () => {
    const sent = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ id: `broad-${randomUUID()}`, kind: 'malware', title: 'is, every version', package: { name: 'is', ranges: ['>=0.0.1'] } }));
    expect(sent.body.incidents).toEqual([expect.objectContaining({ kind: 'dependency' })]);
    await intake.drainer.idle();
    const view = await pollUntil(() => client.workflow.getHandle(sent.body.incidents![0]!.incident).query(watchQuery), (v: WatchView) => v.assessedAt !== undefined);
    // Every release of @acme/core ships `is`: on the old code this deprecated all four.
    expect(view.containments ?? []).toEqual([]);
    expect(view.blastRadius?.overBroad).toBe('is: range ">=0.0.1" alone matches every version');
    expect(view.blastRadius?.releases).toHaveLength(4);
    expect(await coreDeprecations()).toEqual({ '1.2.0': undefined, '1.2.1': undefined, '1.2.2': undefined, '1.2.3': undefined });
  });

  it('holds for a person a package whose every release ships the exact malicious version, and says so', async () => {
    const sent = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ id: `spl-${randomUUID()}`, kind: 'malware', title: 'spl-token', package: { name: '@solana/spl-token', versions: ['0.4.9'] } }));
    await intake.drainer.idle();
    const incident = sent.body.incidents![0]!.incident;
    const view = await pollUntil(() => client.workflow.getHandle(incident).query(watchQuery), (v: WatchView) => (v.held?.length ?? 0) > 0 || (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
    expect(view.assessmentError).toBeUndefined();
    // 4 of our 8 releases: not most of the fleet, but all of @acme/core. The old code deprecated them all.
    expect(view.containments ?? []).toEqual([]);
    expect(view.blastRadius?.overBroad).toBeUndefined();
    expect(view.held).toEqual([{ name: '@acme/core', versionCount: 4, versions: CORE, reason: '@acme/core: all 4 indexed releases are affected' }]);
    const shown = await runCli(['timeline', incident]);
    expect(shown.stdout).toContain('  HELD for a person, not contained: @acme/core: all 4 indexed releases are affected (4 version(s))');
    expect(await coreDeprecations()).toEqual({ '1.2.0': undefined, '1.2.1': undefined, '1.2.2': undefined, '1.2.3': undefined });
  });

  it('contains from a batch [malware, withdrawn] (the malware is not the last report), and keeps its state bounded', async () => {
    const run = randomUUID().slice(0, 8);
    const malware = report(`MAL-${run}`, 'malware');
    const withdrawn = report(`fixed-${run}`, 'malware', true);
    const noise = Array.from({ length: 40 }, (_, i) => report(`vuln-${run}-${i}`, 'vulnerability'));
    const request = isDependency(run, malware);
    await client.workflow.signalWithStart('watchIncidentWorkflow', { workflowId: request.incident, taskQueue, args: [request], signal: reportSignal, signalArgs: [[malware, withdrawn, ...noise]] });
    const watch = client.workflow.getHandle(request.incident);
    const view = await pollUntil(() => watch.query(watchQuery), (v: WatchView) => (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
    // The playbook incident of the compromise, named by the malware report's alert.
    const containment = compromiseIncidentId(malware.alert!, registry.url);
    expect(view.containments).toEqual([containment]);
    expect(view.reportCount).toBe(42);
    expect(view.reports).toHaveLength(20);
    expect(view.reports.at(-1)!.reportId).toBe(`generic:vuln-${run}-39`);
    const outcome = await pollUntil(() => client.workflow.getHandle(containment).query(playbookQuery), (v: PlaybookView) => v.status !== 'running');
    // Deprecated and latest checked, read back; 2FA for publishing waits for an approver (the default policy).
    expect(outcome.status).toBe('contained');
    expect(outcome.compromise.releases).toEqual([{ name: '@acme/core', versions: ['1.2.2'] }]);
    const deprecated = await coreDeprecations();
    // The registry carries our template with the incident's marker; why it is affected is on the report, not published.
    expect(deprecated['1.2.2']).toContain(incidentMarker(containment));
    expect(outcome.reports.map((r) => r.reason).join('\n')).toMatch(/ships is@3\.3\.1/);
    expect([deprecated['1.2.0'], deprecated['1.2.1'], deprecated['1.2.3']]).toEqual([undefined, undefined, undefined]);
  });

  it('acts on a report carried over continue-as-new from the old code, which had marked it assessed', async () => {
    const run = randomUUID().slice(0, 8);
    const malware = report(`MAL-${run}`, 'malware');
    // A view as the v1 code carried it: every report, an assessment from before the malware report.
    const carried: WatchView = {
      incident: `dependency-is-${run}`,
      kind: 'dependency',
      subject: 'is@3.3.1',
      status: 'open',
      reports: [report(`vuln-${run}`, 'vulnerability'), malware],
      startedAt: new Date().toISOString(),
      assessedAt: new Date().toISOString(),
    };
    const request = isDependency(run, carried.reports[0]!, carried);
    await client.workflow.start('watchIncidentWorkflow', { workflowId: request.incident, taskQueue, args: [request] });
    const view = await pollUntil(() => client.workflow.getHandle(request.incident).query(watchQuery), (v: WatchView) => (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined, 30_000);
    expect(view.containments).toEqual([compromiseIncidentId(malware.alert!, registry.url)]);
    expect(view.reportCount).toBe(2);
  });

  it('M10: with no owned patterns, an exact malware alert on a package the index knows as ours contains that release itself', async () => {
    const unconfigured = await startIntake(intakeConfig({ registry: registry.url, taskQueue, owned: [] }), { client });
    try {
      const id = `own-${randomUUID()}`;
      const sent = await sendStandard(unconfigured.url, '/v1/alerts', JSON.stringify({ id, kind: 'malware', title: 'stealer', package: { name: '@acme/core', versions: ['1.2.1'] } }));
      expect(sent.body.incidents).toEqual([expect.objectContaining({ kind: 'dependency', new: true })]);
      await unconfigured.drainer.idle();
      const view = await pollUntil(() => client.workflow.getHandle(sent.body.incidents![0]!.incident).query(watchQuery), (v: WatchView) => (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
      // The incident an intake that knew the package as ours would have opened for this alert.
      const containment = compromiseIncidentId({ source: 'generic', sourceId: id }, registry.url);
      expect(view.containments).toEqual([containment]);
      const outcome = await pollUntil(() => client.workflow.getHandle(containment).query(playbookQuery), (v: PlaybookView) => v.status !== 'running');
      expect(outcome.status).toBe('contained');
      expect(outcome.compromise.releases).toEqual([{ name: '@acme/core', versions: ['1.2.1'] }]);
      expect((await coreDeprecations())['1.2.1']).toContain(incidentMarker(containment));
      expect(outcome.reports.map((r) => r.reason).join('\n')).toMatch(/named by the alert/);
    } finally {
      await unconfigured.close();
    }
  });

  it('H3: a Dependabot range alert, then the exact GHSA malware advisory, contains the release; a later Dependabot `fixed` does not reach it', async () => {
    const dependabot = await sendGithub(intake.url, 'dependabot_alert', dependabotOnCore('created'));
    expect(dependabot.body.incidents).toEqual([expect.objectContaining({ kind: 'review', new: true })]);
    const advisory = await sendGithub(intake.url, 'security_advisory', malwareAdvisoryOnCore());
    // One playbook incident for the compromise, named by the advisory.
    const containment = advisory.body.incidents![0]!.incident;
    expect(advisory.body.incidents).toEqual([{ incident: expect.stringMatching(new RegExp(`^compromise-${GHSA}-`)), new: true, kind: 'containment' }]);
    await intake.drainer.idle();
    const outcome = await pollUntil(() => client.workflow.getHandle(containment).query(playbookQuery), (v: PlaybookView) => v.status !== 'running');
    expect(outcome.status).toBe('contained');
    expect((await coreDeprecations())['1.2.3']).toMatch(/^SECURITY/);

    const fixed = await sendGithub(intake.url, 'dependabot_alert', dependabotOnCore('fixed'));
    expect(fixed.body.incidents).toEqual([expect.objectContaining({ kind: 'withdrawn', new: true })]);
    await intake.drainer.idle();
    const withdrawn = await pollUntil(() => client.workflow.getHandle(fixed.body.incidents![0]!.incident).query(watchQuery), (v: WatchView) => v.reports.length > 0);
    expect(withdrawn.reports[0]!.alert?.withdrawn).toBe(true);
    const after = await client.workflow.getHandle(containment).query(playbookQuery);
    expect(after.reports.map((r) => r.alert?.withdrawn)).toEqual([false]);
  });
});
