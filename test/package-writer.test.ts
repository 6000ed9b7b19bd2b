// Writes to one package, across incidents: each package has one writer that runs every incident's
// writes to it one request after another, and a plan made on a read that someone else's write made
// stale is made again rather than carried out. The registry proxy holds a read's answer back to make
// the stale read happen on purpose; the npm CLI judges what the registry serves.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { publishVersion } from '../bench/tarball';
import type { Report } from '../core/incident';
import { packageWriterId } from '../core/incident-id';
import type { Compromise } from '../core/playbook/plan';
import { parsePolicy } from '../core/playbook/policy-file';
import type { PlaybookView } from '../core/playbook/view';
import type { LocalRegistry } from '../stack/registry';
import { packageWriterQuery, playbookQuery } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import { npmCli, npmView, pollUntil, startInProcessWorker, temporalAddress, temporalNamespace, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const POLICY = parsePolicy({ version: 1, approvers: [{ name: 'alice', may: ['all'] }] });
const WRITER_IDLE_SECONDS = 3;

const malware = (id: string): Report => ({
  reportId: `test:${id}`,
  requestedBy: `test:${id}`,
  reason: `malware alert ${id}`,
  at: new Date().toISOString(),
  alert: { source: 'generic', sourceId: id, kind: 'malware', severity: 'critical', aliases: [], evidence: [], withdrawn: false },
});

describe('writes to packages across incidents', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const taskQueue = uniqueTaskQueue('package-writer');

  // @acme/web, @acme/server and @acme/client share a writer (packageWriterId: the shard is a hash of the name).
  const publish = (name: string, version: string) => publishVersion(registry.url, registry.tokens.admin, name, version);

  beforeAll(async () => {
    registry = await testRegistry();
    for (const name of ['@acme/web', '@acme/server', '@acme/client']) for (const version of ['1.0.0', '1.0.1', '1.0.2']) await publish(name, version);
    proxy = await startRegistryProxy(registry.url);
    worker = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue, more: { QUARANTINE_WRITER_IDLE_SECONDS: String(WRITER_IDLE_SECONDS) } });
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection, namespace: temporalNamespace() });
  });
  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await proxy?.close();
    await registry?.stop();
  });

  const start = (id: string, releases: Compromise['releases']): Promise<WorkflowHandle<typeof playbookWorkflow>> =>
    client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: `compromise-${id}`,
      taskQueue,
      args: [{ compromise: { incident: `compromise-${id}`, registry: proxy.url, trigger: 'malware', severity: 'critical', releases, advisories: [], approvedReleases: [] }, policy: POLICY, first: { report: malware(id), releases } }],
    });
  const settled = (handle: WorkflowHandle) => pollUntil(() => handle.query(playbookQuery), (v) => ['contained', 'verified', 'failed', 'held'].includes(v.status), 60_000);
  const details = (view: PlaybookView) => view.events.map((e) => e.detail).join('\n');
  const isPackumentRead = (name: string) => (req: { method: string; path: string }) => req.method === 'GET' && req.path.split('?')[0] === `/${name.replace('/', '%2f')}`;

  it('does not move latest onto a release deprecated between its read and its write: it plans that tag again', async () => {
    // The incident's first read of @acme/core is answered late; meanwhile a person deprecates 1.2.2,
    // the release the stale read would move latest to.
    const held = proxy.holdNext(isPackumentRead('@acme/core'));
    const handle = await start('MAL-stale-target', [{ name: '@acme/core', versions: ['1.2.3'] }]);
    await held;
    await npmCli(registry.url, registry.tokens.admin)(['deprecate', '@acme/core@1.2.2', 'found bad too']);
    proxy.releaseHeld();

    const view = await settled(handle);
    expect(view.status).toBe('contained');
    const core = await npmView(npmCli(registry.url), '@acme/core', ['1.2.3', '1.2.2']);
    expect(core.distTags.latest).toBe('1.2.1');
    expect(core.deprecated['1.2.3']).toMatch(/compromised/);
    expect(details(view)).toMatch(/@acme\/core@1\.2\.2 was deprecated since our read .*: latest not moved onto it; planning again/);
    // latest was written once, and only to the release still good.
    const tagWrites = proxy.writes().filter((w) => w.path.includes('/dist-tags/latest'));
    expect(tagWrites.map((w) => w.body)).toEqual(['"1.2.1"']);
  });

  it('moves a tag off a release it deprecates when the tag arrived there after its read', async () => {
    // The incident's read of @acme/core says latest is on 1.2.1; before its write, latest is put on
    // 1.2.0, the release it deprecates (another incident's move, or an attacker's).
    const held = proxy.holdNext(isPackumentRead('@acme/core'));
    const handle = await start('MAL-tag-arrived', [{ name: '@acme/core', versions: ['1.2.0'] }]);
    await held;
    await npmCli(registry.url, registry.tokens.admin)(['dist-tag', 'add', '@acme/core@1.2.0', 'latest']);
    proxy.releaseHeld();

    const view = await settled(handle);
    expect(view.status).toBe('contained');
    const core = await npmView(npmCli(registry.url), '@acme/core', ['1.2.0']);
    expect(core.deprecated['1.2.0']).toMatch(/compromised/);
    expect(core.distTags.latest).toBe('1.2.1');
    expect(details(view)).toMatch(/a dist-tag is on a version this incident deprecates/);
  });

  it('reads a package back right after its writes and catches a tag put back on the bad release at that moment', async () => {
    // The answer to the tag move (the package's last write) is held; meanwhile latest is put back on the
    // release just deprecated (as an attacker's token could), after our move and before the read that verifies.
    const held = proxy.holdNext((req) => req.method === 'PUT' && req.path.endsWith('/@acme%2futils/dist-tags/latest'));
    const handle = await start('MAL-utils-put-back', [{ name: '@acme/utils', versions: ['1.2.0'] }]);
    await held;
    await npmCli(registry.url, registry.tokens.admin)(['dist-tag', 'add', '@acme/utils@1.2.0', 'latest']);
    proxy.releaseHeld();

    const view = await settled(handle);
    expect(details(view)).toMatch(/a dist-tag is on a version this incident deprecates/);
    expect(view.status).toBe('contained');
    const utils = await npmView(npmCli(registry.url), '@acme/utils', ['1.2.0']);
    expect(utils.distTags.latest).toBe('1.0.0');
    expect(utils.deprecated['1.2.0']).toMatch(/compromised/);
    // latest went to the last good release twice: once as planned, once after the read-back saw it back on 1.2.0.
    expect(proxy.writes().filter((w) => w.path.endsWith('/@acme%2futils/dist-tags/latest')).map((w) => w.body)).toEqual(['"1.0.0"', '"1.0.0"']);
  });

  it('runs two incidents\' writes to one package one after the other, through one writer', async () => {
    const writesBefore = proxy.writes().length;
    const [first, second] = await Promise.all([start('MAL-cli-latest', [{ name: '@acme/cli', versions: ['2.0.1'] }]), start('MAL-cli-next', [{ name: '@acme/cli', versions: ['2.1.0-beta.0'] }])]);
    const views = await Promise.all([settled(first), settled(second)]);
    expect(views.map((v) => v.status)).toEqual(['contained', 'contained']);

    const cli = await npmView(npmCli(registry.url), '@acme/cli', ['2.0.1', '2.1.0-beta.0']);
    // Each release carries the marker of the incident that deprecated it: neither write undid the other.
    expect(cli.deprecated['2.0.1']).toMatch(/compromised.*\(qi:[0-9a-f]{8}/);
    expect(cli.deprecated['2.1.0-beta.0']).toMatch(/compromised.*\(qi:[0-9a-f]{8}/);
    expect(cli.deprecated['2.0.1']).not.toBe(cli.deprecated['2.1.0-beta.0']);
    expect(cli.distTags).toEqual({ latest: '2.0.0' });

    // One writer served both incidents' writes to @acme/cli, one request at a time.
    const writer = client.workflow.getHandle(packageWriterId(proxy.url, '@acme/cli', taskQueue));
    const served = (await writer.query(packageWriterQuery)).recent.filter((r) => r.name === '@acme/cli');
    expect(served.map((r) => r.incident).sort()).toEqual(['compromise-MAL-cli-latest', 'compromise-MAL-cli-next']);
    const spans = served.map((r) => [Date.parse(r.startedAt!), Date.parse(r.finishedAt!)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i += 1) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    // Each incident's deprecation is one write of the packument, each carrying only its own release's message.
    const puts = proxy.writes().slice(writesBefore).filter((w) => w.method === 'PUT' && w.path === '/@acme%2fcli');
    expect(puts).toHaveLength(2);

    // With nothing more to write, the writer ends; the next request starts it again.
    await pollUntil(() => writer.describe(), (d) => d.status.name === 'COMPLETED', (WRITER_IDLE_SECONDS + 10) * 1000);
  });

  it('writes them together, and a registry hiccup on one package is retried for that package alone', async () => {
    expect(new Set(['@acme/web', '@acme/server', '@acme/client'].map((name) => packageWriterId(proxy.url, name, taskQueue))).size).toBe(1);
    // The writer runs the three packages' writes in one activity. The registry fails @acme/web's
    // deprecation once (503, the write never reached it): the other packages' writes stand as done,
    // and only @acme/web's are tried again.
    const writesBefore = proxy.writes().length;
    proxy.failNext((req) => req.method === 'PUT' && req.path === '/@acme%2fweb', 503);
    const releases = [
      { name: '@acme/web', versions: ['1.0.2'] },
      { name: '@acme/server', versions: ['1.0.2'] },
      { name: '@acme/client', versions: ['1.0.2'] },
    ];
    const view = await settled(await start('MAL-three-packages', releases));
    expect(view.status).toBe('contained');
    expect(proxy.seen.filter((r) => r.refused === 503)).toHaveLength(1);

    const npm = npmCli(registry.url);
    const views = await Promise.all(['@acme/web', '@acme/server', '@acme/client'].map((name) => npmView(npm, name, ['1.0.2', '1.0.1'])));
    expect(views.map((v) => v.distTags.latest)).toEqual(['1.0.1', '1.0.1', '1.0.1']);
    for (const pkg of views) expect(pkg.deprecated['1.0.2']).toMatch(/compromised/);
    expect(views.map((v) => v.deprecated['1.0.1'])).toEqual([undefined, undefined, undefined]);

    // Every write the registry took, once: a packument PUT (the deprecation) and a tag move per package.
    const applied = proxy.writes().slice(writesBefore).filter((w) => w.refused === undefined).map((w) => `${w.method} ${w.path}`).sort();
    expect(applied).toEqual(
      ['@acme%2fweb', '@acme%2fserver', '@acme%2fclient'].flatMap((p) => [`PUT /-/package/${p}/dist-tags/latest`, `PUT /${p}`]).sort(),
    );
    // In the writer's history: one activity for the three packages, then @acme/web's two actions, each alone.
    const writer = client.workflow.getHandle(packageWriterId(proxy.url, '@acme/web', taskQueue));
    const scheduled = ((await writer.fetchHistory()).events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
    expect(scheduled).toEqual(['runPackagesWrites', 'runNpmAction', 'runNpmAction']);
  });
});
