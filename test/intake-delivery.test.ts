// Delivery from the journal into a real Temporal dev server: what Temporal would refuse is refused at
// intake (422, nothing journalled); what it refuses anyway goes to the dead-letter file without holding
// up later alerts or resending what was delivered; a GitHub body replayed under a new delivery id
// starts nothing, before and after a restart.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { parseGenericAlert } from '../core/alerts/generic';
import { routeAlert, type Route } from '../core/intake';
import { MAX_INCIDENT_ID_LENGTH } from '../core/incident-id';
import { MAX_ROUTES_PER_DELIVERY } from '../server/drainer';
import { startIntake, type RunningIntake } from '../server/index';
import { Journal, NODE_DISK, type JournalDisk } from '../server/journal';
import { closeSignal } from '../workflows/definitions';
import { watchQuery } from '../workflows/watch-incident';
import { incidentsOn, intakeConfig, sendGithub, sendStandard } from './helpers/intake';
import { pollUntil, startInProcessWorker, testClient, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const githubExamples = JSON.parse(readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8')) as { name: string; examples: { action?: string }[] }[];
const githubExample = (event: string, action: string) => githubExamples.find((e) => e.name === event)!.examples.find((e) => e.action === action)!;
const registry = () => process.env.QUARANTINE_TEST_REGISTRY_URL!;

interface Ready {
  ready: boolean;
  backlog: number;
  deadLetters: number;
  journal: { acknowledging: boolean };
  sinceLastReadMs: { acknowledgement: { count: number; max: number }; journalCommit: { commits: number } };
}
const readyz = async (intake: RunningIntake): Promise<{ status: number; body: Ready }> => {
  const response = await fetch(`${intake.url}/readyz`);
  return { status: response.status, body: (await response.json()) as Ready };
};

/** The routes the intake would journal for this generic alert. */
function routesOf(body: Record<string, unknown>, deliveryId: string): Route[] {
  const parsed = parseGenericAlert(body);
  if (parsed.outcome !== 'alerts') throw new Error('not an alert');
  return parsed.alerts.flatMap((alert, i) => routeAlert(alert, { owned: ['@acme/*'], registry: registry(), deliveryId: `${deliveryId}/${i}`, receivedAt: new Date().toISOString() }));
}

const journalBytes = (dataDir: string) =>
  readdirSync(join(dataDir, 'intake'))
    .filter((f) => f.startsWith('journal-'))
    .reduce((sum, f) => sum + statSync(join(dataDir, 'intake', f)).size, 0);

describe('intake delivery into Temporal', () => {
  const taskQueue = uniqueTaskQueue('delivery');
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  const running: RunningIntake[] = [];
  const start = async (dataDir?: string) => {
    const intake = await startIntake(intakeConfig({ registry: registry(), taskQueue, ...(dataDir ? { dataDir } : {}) }), { client, logger: false });
    running.push(intake);
    return intake;
  };
  const stop = async (intake: RunningIntake) => {
    running.splice(running.indexOf(intake), 1);
    await intake.close();
  };

  beforeAll(async () => {
    worker = await startInProcessWorker({ registry: registry(), taskQueue });
    ({ client, close: closeClient } = await testClient());
  });
  afterAll(async () => {
    for (const intake of running) await intake.close();
    await worker?.stop();
    await closeClient?.();
  });

  it('refuses with 422, journalling nothing, a delivery that names too many incidents; 200 versions of one release get a bounded id Temporal takes', async () => {
    const config = intakeConfig({ registry: registry(), taskQueue });
    const intake = await start(config.dataDir);
    const perAlert = 100;
    const alerts = Array.from({ length: Math.ceil((MAX_ROUTES_PER_DELIVERY + 1) / perAlert) }, (_, a) => ({
      id: `wide-${a}`,
      kind: 'malware',
      title: 'wide',
      packages: Array.from({ length: perAlert }, (_, p) => ({ name: `wide-dep-${a}-${p}`, versions: ['1.0.0'] })),
    }));
    const wide = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ alerts }), { id: 'msg_wide' });
    expect(wide.status).toBe(422);
    expect(wide.body.error).toMatch(new RegExp(`at most ${MAX_ROUTES_PER_DELIVERY}`));

    // Nothing of it is anywhere: not in the journal, not queued, not in Temporal.
    expect(journalBytes(config.dataDir)).toBe(0);
    expect((await readyz(intake)).body).toMatchObject({ ready: true, backlog: 0, deadLetters: 0 });

    // Review H2: 200 versions of our release made a 1,328-character id that Temporal refused on every
    // retry, holding up every later alert. The id is now bounded and the incident starts.
    const versions = Array.from({ length: 200 }, (_, i) => `1.${i}.0`);
    const many = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ id: 'many-versions-1', kind: 'malware', title: 't', package: { name: '@acme/core', versions } }));
    expect(many.status).toBe(202);
    const manyIncident = many.body.incidents![0]!.incident;
    expect(manyIncident.length).toBeLessThanOrEqual(MAX_INCIDENT_ID_LENGTH);
    // A delivery refused before is not taken for a redelivery when it comes back corrected.
    const fixed = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ id: 'wide-0', kind: 'malware', title: 't', package: { name: 'fixed-dep', versions: ['1.0.0'] } }), { id: 'msg_wide' });
    expect(fixed.status).toBe(202);
    await intake.drainer.idle();
    expect((await incidentsOn(client, taskQueue)).sort()).toEqual([manyIncident, fixed.body.incidents![0]!.incident].sort());
    // Where the acknowledgements' time went, since the last read: the two deliveries, one commit each.
    const timings = (await readyz(intake)).body;
    expect(timings).toMatchObject({ backlog: 0, deadLetters: 0 });
    expect(timings.sinceLastReadMs.acknowledgement.count).toBe(2);
    expect(timings.sinceLastReadMs.acknowledgement.max).toBeGreaterThan(0);
    expect(timings.sinceLastReadMs.journalCommit.commits).toBe(2);
    await stop(intake);
  });

  it('dead-letters what Temporal refuses, never resends what it took (even after a close), and later alerts still arrive', async () => {
    const config = intakeConfig({ registry: registry(), taskQueue });
    // Journalled before the server starts, as an older version of the intake could have: one good
    // group and one Temporal refuses (an id over its 1,000-character limit), drained in one batch.
    const good = routesOf({ id: 'dl-good', kind: 'malware', title: 'good', package: { name: 'dead-letter-ok', versions: ['1.0.0'] } }, 'webhook:dl-good');
    const bad = routesOf({ id: 'dl-bad', kind: 'malware', title: 'bad', package: { name: 'dead-letter-bad', versions: ['1.0.0'] } }, 'webhook:dl-bad').map((route) => {
      const incident = `dependency-${'x'.repeat(1_300)}`;
      return { ...route, incident, request: { ...route.request, incident } } as Route;
    });
    const seed = new Journal(join(config.dataDir, 'intake'));
    await seed.append({ deliveryId: 'webhook:dl-good', source: 'generic', receivedAt: new Date().toISOString(), routes: good });
    await seed.append({ deliveryId: 'webhook:dl-bad', source: 'generic', receivedAt: new Date().toISOString(), routes: bad });
    await seed.close();

    const intake = await start(config.dataDir);
    const afterDrain = await pollUntil(() => readyz(intake), (r) => r.body.backlog === 0 && r.body.deadLetters === 1, 30_000);
    expect(afterDrain.status).toBe(200);
    expect(afterDrain.body).toMatchObject({ ready: true, backlog: 0, deadLetters: 1, journal: { acknowledging: true } });
    const [letter] = readFileSync(join(config.dataDir, 'intake', 'dead-letters.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(letter).toMatchObject({ incident: bad[0]!.incident, reportIds: [bad[0]!.report.reportId], entries: [2] });
    expect(String(letter!.error)).toMatch(/length|limit/i);

    // The good incident got its report once; closed now, it must never be started again by a resend.
    const handle = client.workflow.getHandle(good[0]!.incident);
    const firstRun = (await handle.describe()).runId;
    expect((await handle.query(watchQuery)).reports.map((r) => r.reportId)).toEqual([good[0]!.report.reportId]);
    await handle.signal(closeSignal, 'test: closed by a person');
    await pollUntil(() => handle.describe(), (d) => d.status.name !== 'RUNNING', 30_000);

    // A later alert reaches its incident.
    const later = await sendStandard(intake.url, '/v1/alerts', JSON.stringify({ id: 'dl-later', kind: 'malware', title: 'later', package: { name: 'dead-letter-later', versions: ['1.0.0'] } }));
    expect(later.status).toBe(202);
    await intake.drainer.idle();
    const laterView = await pollUntil(() => client.workflow.getHandle(later.body.incidents![0]!.incident).query(watchQuery), (v) => v.reports.length > 0);
    expect(laterView.reports.map((r) => r.alert?.sourceId)).toEqual(['dl-later']);

    // A restart on the same data resends nothing: the closed incident has still one run, closed.
    await stop(intake);
    const restarted = await start(config.dataDir);
    expect((await readyz(restarted)).body).toMatchObject({ backlog: 0, deadLetters: 1 });
    await new Promise((r) => setTimeout(r, 1_500));
    const now = await handle.describe();
    expect(now.runId).toBe(firstRun);
    expect(now.status.name).not.toBe('RUNNING');
    await stop(restarted);
  });

  it('answers 503 while the journal cannot write, keeps nothing of it, and accepts the same delivery once the disk is back', async () => {
    let broken = false;
    const failing = <T extends unknown[], R>(call: (...args: T) => Promise<R>) => (...args: T): Promise<R> =>
      broken ? Promise.reject(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) : call(...args);
    const journalDisk: JournalDisk = { write: failing(NODE_DISK.write), fdatasync: failing(NODE_DISK.fdatasync), ftruncate: failing(NODE_DISK.ftruncate) };
    const intake = await startIntake(intakeConfig({ registry: registry(), taskQueue }), { client, logger: false, journalDisk });
    running.push(intake);
    const body = JSON.stringify({ id: 'disk-1', kind: 'malware', title: 'disk', package: { name: 'disk-failure-dep', versions: ['1.0.0'] } });

    broken = true;
    const refused = await sendStandard(intake.url, '/v1/alerts', body, { id: 'msg_disk_1' });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatch(/nothing was accepted, send it again/);
    expect(await readyz(intake)).toMatchObject({ status: 503, body: { ready: false, journal: { acknowledging: false } } });

    broken = false;
    const accepted = await sendStandard(intake.url, '/v1/alerts', body, { id: 'msg_disk_1' });
    expect(accepted.status).toBe(202);
    expect(accepted.body.duplicate).toBeUndefined();
    expect(await readyz(intake)).toMatchObject({ status: 200, body: { ready: true, journal: { acknowledging: true } } });
    await intake.drainer.idle();
    const view = await pollUntil(() => client.workflow.getHandle(accepted.body.incidents![0]!.incident).query(watchQuery), (v) => v.reports.length > 0);
    expect(view.reports.map((r) => r.reportId)).toEqual(['generic:webhook:msg_disk_1/0:0']);
    await stop(intake);
  });

  it('answers a GitHub body replayed under another delivery id with 200 duplicate, before and after a restart', async () => {
    const config = intakeConfig({ registry: registry(), taskQueue });
    const intake = await start(config.dataDir);
    // An npm advisory from GitHub's own webhook examples (harp, "updated").
    const payload = githubExample('security_advisory', 'updated') as { security_advisory: { summary: string } };
    const first = await sendGithub(intake.url, 'security_advisory', payload, { delivery: 'replay-orig-1' });
    expect(first.status).toBe(202);
    const incident = first.body.incidents![0]!.incident;
    const replay = await sendGithub(intake.url, 'security_advisory', payload, { delivery: 'attacker-chosen-2' });
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ duplicate: true, incidents: [{ incident, new: false }] });
    // Another body (another event) under a new id is a new report.
    const other = await sendGithub(intake.url, 'security_advisory', { ...payload, security_advisory: { ...payload.security_advisory, summary: `${payload.security_advisory.summary} (revised)` } }, { delivery: 'replay-other-3' });
    expect(other.status).toBe(202);
    await stop(intake);

    const restarted = await start(config.dataDir);
    const afterRestart = await sendGithub(restarted.url, 'security_advisory', payload, { delivery: 'attacker-chosen-4' });
    expect(afterRestart.status).toBe(200);
    expect(afterRestart.body.duplicate).toBe(true);
    await restarted.drainer.idle();
    const view = await pollUntil(() => client.workflow.getHandle(incident).query(watchQuery), (v) => v.reports.length >= 2);
    expect(view.reports.map((r) => r.reportId)).toEqual(['github:github:replay-orig-1/0:0', 'github:github:replay-other-3/0:0']);
    await stop(restarted);
  });
});
