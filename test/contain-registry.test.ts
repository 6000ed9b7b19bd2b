// Registry writes of a containment, end to end: dist-tag compare-and-set (the activity directly against
// Verdaccio, and the workflow planning again), `latest` kept in its major, a 30+ version containment and
// a 214-character name that verify, and the one-time-password refusal. The npm CLI judges the registry.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRegistryActivities } from '../activities/registry';
import type { IncidentRequest, IncidentView, Report } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { incidentMarker } from '../core/plan';
import type { LocalRegistry } from '../stack/registry';
import { reportSignal, timelineQuery } from '../workflows/definitions';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import { jsonOf, npmCli, npmView, pollUntil, runCli, startInProcessWorker, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const MANY = '@acme/many';
const MANY_VERSIONS = Array.from({ length: 34 }, (_, i) => `1.0.${i}`);
const LONG = `@acme/${'l'.repeat(214 - '@acme/'.length)}`;
const MAJOR = '@acme/major';

function malware(id = 'MAL-2026-5151'): Report {
  return {
    reportId: `osv:${id}:${randomUUID()}`,
    requestedBy: `osv:${id}`,
    reason: 'malware (critical): a credential stealer',
    at: new Date().toISOString(),
    alert: { source: 'osv', sourceId: id, kind: 'malware', severity: 'critical', aliases: [], evidence: [], withdrawn: false },
  };
}

describe('containment writes on the real registry', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  const taskQueue = uniqueTaskQueue('contain-registry');
  let npm: ReturnType<typeof npmCli>;
  let maintainer: ReturnType<typeof npmCli>;

  async function publish(name: string, versions: string[], tag?: (version: string) => string | undefined): Promise<void> {
    const work = mkdtempSync(join(tmpdir(), 'quarantine-publish-'));
    for (const version of versions) {
      const dir = join(work, version);
      mkdirSync(dir);
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js', license: 'MIT' }));
      writeFileSync(join(dir, 'index.js'), 'module.exports = 1;\n');
      const extra = tag?.(version);
      await maintainer(['publish', dir, ...(extra ? ['--tag', extra] : [])]);
    }
  }

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
    ({ client, close: closeClient } = await testClient());
    worker = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue });
    npm = npmCli(registry.url);
    maintainer = npmCli(registry.url, registry.tokens.admin);
    const started = Date.now();
    // Once per file: versions of one package in order, packages side by side.
    await Promise.all([
      publish(MANY, MANY_VERSIONS),
      publish(LONG, ['1.0.0', '1.0.1']),
      publish(MAJOR, ['1.0.0', '1.0.1', '2.0.0'], (v) => (v === '2.0.0' ? 'next' : undefined)),
    ]);
    console.log(`published ${MANY_VERSIONS.length + 5} versions in ${Date.now() - started} ms`);
  }, 600_000);
  afterAll(async () => {
    await worker?.stop();
    await closeClient?.();
    await proxy?.close();
    await registry?.stop();
  });

  function requestFor(name: string, versions: string[], more: Partial<IncidentRequest> = {}): IncidentRequest {
    return { incident: incidentId(proxy.url, name, versions), registry: proxy.url, name, versions, dryRun: false, report: malware(), ...more };
  }

  async function contain(request: IncidentRequest): Promise<IncidentView> {
    const handle = await client.workflow.signalWithStart('incidentWorkflow', {
      workflowId: request.incident,
      taskQueue,
      args: [request],
      signal: reportSignal,
      signalArgs: [[request.report]],
    });
    return pollUntil(() => handle.query(timelineQuery), (v) => v.status !== 'running', 120_000);
  }

  describe('setDistTag compare-and-set, run against Verdaccio', () => {
    const activities = () => createRegistryActivities({ tokenFor: () => registry.tokens.admin });
    const run = async <T>(fn: () => Promise<T>): Promise<T> => (await new MockActivityEnvironment().run(fn)) as T;
    const target = () => ({ registry: registry.url, name: '@acme/utils' });

    it('leaves a tag a maintainer moved since the plan read it, and says so', async () => {
      await maintainer(['dist-tag', 'add', '@acme/utils@1.0.0', 'latest']);
      const result = await run(() => activities().setDistTag({ ...target(), tag: 'latest', from: '1.2.0', version: '1.1.0' }));
      expect(result).toEqual({ changed: [], unchanged: [], conflict: { tag: 'latest', expected: '1.2.0', found: '1.0.0' } });
      expect((await npmView(npm, '@acme/utils', [])).distTags.latest).toBe('1.0.0');
    });

    it('removes a non-latest tag only while it still points where the plan read it', async () => {
      await maintainer(['dist-tag', 'add', '@acme/utils@1.0.0', 'beta']);
      const moved = await run(() => activities().setDistTag({ ...target(), tag: 'beta', from: '1.2.0', version: null }));
      expect(moved.conflict).toEqual({ tag: 'beta', expected: '1.2.0', found: '1.0.0' });
      expect((await npmView(npm, '@acme/utils', [])).distTags).toEqual({ latest: '1.0.0', beta: '1.0.0' });
      const removed = await run(() => activities().setDistTag({ ...target(), tag: 'beta', from: '1.0.0', version: null }));
      expect(removed).toEqual({ changed: ['beta'], unchanged: [] });
      expect((await npmView(npm, '@acme/utils', [])).distTags).toEqual({ latest: '1.0.0' });
    });

    it('moves a tag that is where the plan read it', async () => {
      const result = await run(() => activities().setDistTag({ ...target(), tag: 'latest', from: '1.0.0', version: '1.2.0' }));
      expect(result).toEqual({ changed: ['latest'], unchanged: [] });
      expect((await npmView(npm, '@acme/utils', [])).distTags.latest).toBe('1.2.0');
    });
  });

  it('plans again when a maintainer moves latest between the read and the write, and leaves their tag', async () => {
    const request = requestFor('@acme/core', ['1.2.3']);
    const held = proxy.holdNext((r) => r.method === 'GET' && r.path.startsWith('/@acme%2fcore?'));
    const outcome = contain(request);
    await held;
    // The plan now reads latest=1.2.3; the maintainer fixes it first, by hand.
    await maintainer(['dist-tag', 'add', '@acme/core@1.2.1', 'latest']);
    proxy.releaseHeld();
    const view = await outcome;
    expect(view.status).toBe('verified');
    const steps = view.timeline.map((e) => e.step);
    expect(steps).toContain('plan again');
    expect(view.timeline.find((e) => e.step === 'move dist-tag latest')?.detail).toBe('latest: left alone, someone moved it from 1.2.3 to 1.2.1 since our read');
    expect(proxy.writes().filter((w) => w.path.includes('/dist-tags/'))).toEqual([]);
    const after = await npmView(npm, '@acme/core', ['1.2.3']);
    expect(after.distTags.latest).toBe('1.2.1');
    expect(after.deprecated['1.2.3']).toContain(incidentMarker(request.incident));
  });

  it('never moves latest to a higher major', async () => {
    expect((await npmView(npm, MAJOR, [])).distTags).toEqual({ latest: '1.0.1', next: '2.0.0' });
    const view = await contain(requestFor(MAJOR, ['1.0.1']));
    expect(view.status).toBe('verified');
    expect(view.plan?.tagMoves).toEqual([{ tag: 'latest', from: '1.0.1', to: '1.0.0' }]);
    expect((await npmView(npm, MAJOR, ['1.0.1'])).distTags).toEqual({ latest: '1.0.0', next: '2.0.0' });
  });

  it('contains and verifies 32 versions of one package: the marker survives', async () => {
    const affected = MANY_VERSIONS.slice(1, 33);
    const request = requestFor(MANY, affected, { maxVersions: 40 });
    // The old marker, "(quarantine incident <id>)" after our sentence, would not fit in a message.
    expect(`SECURITY: this release is compromised, do not install it (quarantine incident ${request.incident})`.length).toBeGreaterThan(300);
    const view = await contain(request);
    expect(view.failure).toBeUndefined();
    expect(view.status).toBe('verified');
    expect(view.checks).toHaveLength(33);
    const shown = JSON.parse(await npm(['view', `${MANY}@>=1.0.0`, 'deprecated', '--json'])) as string[];
    expect(shown).toHaveLength(32);
    for (const message of shown) expect(message).toContain(incidentMarker(request.incident));
    expect((await npmView(npm, MANY, ['1.0.0', '1.0.33'])).deprecated).toEqual({ '1.0.0': undefined, '1.0.33': undefined });
    // The same alert again reads, finds it contained and writes nothing.
    const writes = proxy.writes().length;
    const again = await client.workflow.getHandle(request.incident).executeUpdate('reportAndAwaitOutcome', { args: [malware('MAL-2026-5152')] });
    expect((again as IncidentView).status).toBe('verified');
    expect(proxy.writes()).toHaveLength(writes);
  });

  it('contains and verifies a release of a package with a 214-character name', async () => {
    expect(LONG).toHaveLength(214);
    const request = requestFor(LONG, ['1.0.1']);
    const view = await contain(request);
    expect(view.status).toBe('verified');
    const after = await npmView(npm, LONG, ['1.0.1']);
    expect(after.distTags.latest).toBe('1.0.0');
    expect(after.deprecated['1.0.1']).toContain(incidentMarker(request.incident));
    const shown = await runCli(['timeline', `${LONG}@1.0.1`, '--registry', proxy.url, '--json']);
    expect(jsonOf<IncidentView>(shown).status).toBe('verified');
  });
});

describe('a registry that asks for a one-time password', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    // npm's own answer to a write from an account with 2FA for writes, which Verdaccio cannot give:
    // 401 with `www-authenticate: OTP` (npm-registry-fetch turns it into EOTP).
    server = createServer((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ latest: '1.0.1' }));
        return;
      }
      res.writeHead(401, { 'www-authenticate': 'OTP', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'You must provide a one-time pass. Upgrade your client to npm@latest in order to use 2FA.' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fails with its own non-retryable type and a hint, not "the token lacks the rights"', async () => {
    const activities = createRegistryActivities({ tokenFor: () => 'npm_secret_token' });
    let error: unknown;
    try {
      await new MockActivityEnvironment().run(() => activities.setDistTag({ registry: url, name: 'pkg', tag: 'latest', from: '1.0.1', version: '1.0.0' }));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApplicationFailure);
    const failure = error as ApplicationFailure;
    expect(failure.type).toBe('RegistryOtpRequired');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toMatch(/one-time password.*bypass two-factor authentication/);
    expect(failure.message).not.toMatch(/lacks the rights/);
    expect(failure.message).not.toContain('npm_secret_token');
  });
});
