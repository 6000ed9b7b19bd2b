// `quarantine <name>@<version>` end to end: the CLI as a user runs it, a real Temporal dev server, a real
// Verdaccio, and the npm CLI as the judge of what the registry serves afterwards.
import type { LocalRegistry } from '../stack/registry';
import type { IncidentView } from '../core/incident';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import {
  jsonOf,
  npmCli,
  npmView,
  runCli,
  startInProcessWorker,
  testClient,
  testRegistry,
  uniqueTaskQueue,
  type RunningWorker,
} from './helpers/stack';

interface ContainJson {
  incident: string;
  workflowId: string;
  runId: string;
  new: boolean;
  status: string;
  contained: boolean;
  failure?: string;
  timeline: { step: string; status: string; detail: string; startedAt: string; endedAt?: string }[];
}

describe('quarantine <name>@<version> with a publishing token', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let worker: RunningWorker;
  const taskQueue = uniqueTaskQueue('contain');
  const cli = (args: string[]) => runCli([...args, '--registry', proxy.url, '--json'], { QUARANTINE_TASK_QUEUE: taskQueue });

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
    worker = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue });
  });
  afterAll(async () => {
    await worker?.stop();
    await proxy?.close();
    await registry?.stop();
  });

  it('contains @acme/core@1.2.3, and two reports at once join one incident with one deprecation', async () => {
    const [first, second] = await Promise.all([
      cli(['@acme/core@1.2.3', '--reason', 'stolen token published a stealer']),
      cli(['@acme/core@1.2.3', '--reason', 'Socket flagged it too']),
    ]);
    expect([first.code, second.code]).toEqual([0, 0]);
    const [a, b] = [jsonOf<ContainJson>(first), jsonOf<ContainJson>(second)];
    expect(a.incident).toBe(b.incident);
    expect(a.runId).toBe(b.runId);
    expect([a.new, b.new].sort()).toEqual([false, true]);
    expect(a.status).toBe('verified');
    expect(b.contained).toBe(true);

    const npm = npmCli(registry.url);
    expect((await npm(['view', '@acme/core@1.2.3', 'deprecated'])).trim()).toMatch(/^SECURITY: this release is compromised/);
    expect((await npm(['dist-tag', 'ls', '@acme/core'])).trim()).toBe('latest: 1.2.2');
    expect((await npm(['view', '@acme/core@1.2.2', 'deprecated'])).trim()).toBe('');

    const deprecations = proxy.writes().filter((w) => w.method === 'PUT' && w.path === '/@acme%2fcore');
    const tagMoves = proxy.writes().filter((w) => w.path === '/-/package/@acme%2fcore/dist-tags/latest');
    expect(deprecations).toHaveLength(1);
    expect(tagMoves.map((w) => [w.method, w.body])).toEqual([['PUT', '"1.2.2"']]);
  });

  it('answers a later report from the contained incident, writing nothing', async () => {
    const writesBefore = proxy.writes().length;
    const again = await cli(['@acme/core@1.2.3']);
    expect(again.code).toBe(0);
    const view = jsonOf<ContainJson>(again);
    expect(view.new).toBe(false);
    expect(view.status).toBe('verified');
    expect(proxy.writes()).toHaveLength(writesBefore);
  });

  it('prints the timeline of an incident by release or by id, each step with its result and times', async () => {
    const byRelease = await runCli(['timeline', '@acme/core@1.2.3', '--registry', proxy.url], { QUARANTINE_TASK_QUEUE: taskQueue });
    expect(byRelease.stderr).toBe('');
    expect(byRelease.code).toBe(0);
    for (const step of ['intake', 'read registry', 'plan', 'move dist-tag latest', 'deprecate', 'verify', 'verified']) {
      expect(byRelease.stdout).toContain(`${step}:`);
    }
    expect(byRelease.stdout).toContain('status    verified');
    expect(byRelease.stdout).toMatch(/latest: 1\.2\.3 -> 1\.2\.2/);

    const id = byRelease.stdout.split('\n')[0]!.replace('incident ', '');
    const byId = await runCli(['timeline', id, '--json']);
    const view = jsonOf<IncidentView>(byId);
    expect(view.status).toBe('verified');
    expect(view.reports).toHaveLength(3);
    expect(view.timeline.map((e) => e.status)).not.toContain('failed');
    for (const entry of view.timeline) expect(Date.parse(entry.endedAt!)).toBeGreaterThanOrEqual(Date.parse(entry.startedAt));
  });

  it('keeps the registry token out of workflow history and the timeline', async () => {
    const { client, close } = await testClient();
    try {
      const id = jsonOf<ContainJson>(await cli(['@acme/core@1.2.3'])).incident;
      const history = JSON.stringify(await client.workflow.getHandle(id).fetchHistory());
      expect(history.length).toBeGreaterThan(1000);
      expect(history).toContain('@acme/core');
      expect(history).not.toContain(registry.tokens.admin);
    } finally {
      await close();
    }
  });

  it('writes nothing on a dry run and says what it would do', async () => {
    const writesBefore = proxy.writes().length;
    const dry = await cli(['@acme/utils@1.2.0', '--dry-run']);
    expect(dry.code).toBe(0);
    const view = jsonOf<ContainJson>(dry);
    expect(view.status).toBe('planned');
    expect(view.timeline.find((e) => e.step === 'plan')?.detail).toBe('deprecate 1.2.0; move latest 1.2.0 -> 1.0.0');
    expect(proxy.writes()).toHaveLength(writesBefore);
  });

  it('moves latest past a deprecated release to the highest safe one', async () => {
    const result = await cli(['@acme/utils@1.2.0']);
    expect(result.code).toBe(0);
    const after = await npmView(npmCli(registry.url), '@acme/utils', ['1.0.0', '1.1.0', '1.2.0']);
    expect(after.distTags).toEqual({ latest: '1.0.0' });
    expect(after.deprecated['1.1.0']).toBe('broken build, use 1.0.0');
    expect(after.deprecated['1.2.0']).toMatch(/^SECURITY/);
    expect(after.deprecated['1.0.0']).toBeUndefined();
  });

  it('removes a prerelease tag that points at the affected release and leaves latest alone', async () => {
    const result = await cli(['@acme/cli@2.1.0-beta.0']);
    expect(result.code).toBe(0);
    const after = await npmView(npmCli(registry.url), '@acme/cli', ['2.1.0-beta.0', '2.0.1']);
    expect(after.distTags).toEqual({ latest: '2.0.1' });
    expect(after.deprecated['2.1.0-beta.0']).toMatch(/^SECURITY/);
    expect(after.deprecated['2.0.1']).toBeUndefined();
  });

  it('deprecates a release with no safe predecessor but reports it not contained', async () => {
    const result = await cli(['@acme/solo@1.0.0']);
    expect(result.code).toBe(1);
    const view = jsonOf<ContainJson>(result);
    expect(view.status).toBe('failed');
    expect(view.failure).toMatch(/dist-tag latest/);
    expect(view.timeline.find((e) => e.step === 'plan')?.detail).toMatch(/latest stays on @acme\/solo@1.0.0.*publish a clean release/);
    const after = await npmView(npmCli(registry.url), '@acme/solo', ['1.0.0']);
    expect(after.deprecated['1.0.0']).toMatch(/^SECURITY/);
  });

  it.each([
    ['@acme/core@9.9.9', /@acme\/core@9\.9\.9 is not on the registry/],
    ['@acme/ghost@1.0.0', /404/],
  ])('ends %s failed with the reason on its timeline and changes nothing', async (spec, reason) => {
    const writesBefore = proxy.writes().length;
    const result = await cli([spec]);
    expect(result.code).toBe(1);
    const view = jsonOf<ContainJson>(result);
    expect(view.status).toBe('failed');
    expect(view.contained).toBe(false);
    expect(view.failure).toMatch(reason);
    expect(view.timeline.some((e) => e.status === 'failed' && reason.test(e.detail))).toBe(true);
    expect(proxy.writes()).toHaveLength(writesBefore);
  });

  it('closes an incident on request; a later report opens a new run that finds the release still contained', async () => {
    const closed = await runCli(['close', '@acme/core@1.2.3', '--registry', proxy.url, '--reason', 'all clear'], { QUARANTINE_TASK_QUEUE: taskQueue });
    expect(closed.code).toBe(0);
    expect(closed.stdout).toMatch(/^closed incident-@acme\/core@1\.2\.3-/);
    const shown = await runCli(['timeline', '@acme/core@1.2.3', '--registry', proxy.url]);
    expect(shown.stdout).toMatch(/ok {4}closed: all clear/);

    const writesBefore = proxy.writes().length;
    const reopened = jsonOf<ContainJson>(await cli(['@acme/core@1.2.3', '--reason', 'seen again']));
    expect(reopened.new).toBe(true);
    expect(reopened.status).toBe('verified');
    expect(reopened.timeline.find((e) => e.step === 'plan')?.detail).toBe('every affected version already deprecated');
    expect(reopened.timeline.map((e) => e.step)).not.toContain('deprecate');
    expect(proxy.writes()).toHaveLength(writesBefore);
  });
});

describe('quarantine with a token that may not write', () => {
  let registry: LocalRegistry;
  const workers: RunningWorker[] = [];
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await registry?.stop();
  });
  beforeAll(async () => {
    registry = await testRegistry();
  });

  const readOnly = uniqueTaskQueue('read-only');

  it.each([
    ['a read-only token', 'reader', readOnly, '@acme/core', '1.2.3', /403/, /lacks the rights/],
    ['no token at all', undefined, uniqueTaskQueue('no-token'), '@acme/utils', '1.2.0', /401|403/, /holds no token/],
  ] as const)('records the refusal with %s and leaves the release as it was', async (_label, who, taskQueue, name, version, status, hint) => {
    workers.push(await startInProcessWorker({ registry: registry.url, token: who ? registry.tokens[who] : undefined, taskQueue }));
    const before = await npmView(npmCli(registry.url), name, [version]);
    const result = await runCli([`${name}@${version}`, '--registry', registry.url, '--json'], { QUARANTINE_TASK_QUEUE: taskQueue });
    expect(result.code).toBe(1);
    const view = jsonOf<ContainJson>(result);
    expect(view.status).toBe('failed');
    expect(view.failure).toMatch(status);
    expect(view.failure).toMatch(hint);
    expect(view.timeline.find((e) => e.status === 'failed')?.step).toBe('move dist-tag latest');
    expect(before.deprecated[version]).toBeUndefined();
    expect(await npmView(npmCli(registry.url), name, [version])).toEqual(before);
  });

  it('contains the failed incident when it is reported again after the token is fixed', async () => {
    await workers.shift()!.stop();
    workers.push(await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue: readOnly }));
    const result = await runCli(['@acme/core@1.2.3', '--registry', registry.url, '--json'], { QUARANTINE_TASK_QUEUE: readOnly });
    expect(result.code).toBe(0);
    const view = jsonOf<ContainJson>(result);
    expect(view.new).toBe(false);
    expect(view.status).toBe('verified');
    expect(view.timeline.map((e) => e.step)).toContain('retry');
    expect((await npmCli(registry.url)(['dist-tag', 'ls', '@acme/core'])).trim()).toBe('latest: 1.2.2');
  });
});

describe('quarantine with no worker running', () => {
  it('stops waiting after --wait, says the incident goes on, and exits 3', async () => {
    const started = Date.now();
    const result = await runCli(['@acme/core@1.2.3', '--registry', 'http://127.0.0.1:9/', '--wait', '2', '--json'], {
      QUARANTINE_TASK_QUEUE: uniqueTaskQueue('nobody'),
    });
    expect(result.code).toBe(3);
    expect(jsonOf<{ status: string; error: string }>(result)).toMatchObject({ status: 'unknown', error: expect.stringMatching(/no outcome after 2000 ms/) });
    // The server would hold the call for a worker far longer; the CLI keeps its word.
    expect(Date.now() - started).toBeLessThan(12_000);
  });
});

describe('bad input', () => {
  // Nothing listens here: a command that reached Temporal would fail differently.
  const nowhere = { TEMPORAL_ADDRESS: '127.0.0.1:1' };

  it.each([
    ['@acme/core', /names no version/],
    ['foo@not-a-version', /not an exact semver version/],
    ['../../etc@1.0.0', /not a valid npm package name/],
  ])('refuses %s with one line before any workflow starts', async (spec, reason) => {
    const result = await runCli([spec], nowhere);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(reason);
  });

  it('refuses a registry URL carrying credentials, an unknown flag and a second release', async () => {
    for (const args of [
      ['@acme/core@1.2.3', '--registry', 'https://me:secret@registry.example/'],
      ['@acme/core@1.2.3', '--force'],
      ['@acme/core@1.2.3', '@acme/cli@2.0.1'],
    ]) {
      const result = await runCli(args, nowhere);
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).not.toContain('secret');
    }
  });

  it('escapes control characters from the command line instead of printing them', async () => {
    const result = await runCli(['evil\u001b]0;owned\u0007@1.0.0'], nowhere);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stderr).not.toContain('\u0007');
    expect(result.stderr).toContain('\\u001b');
  });
});
