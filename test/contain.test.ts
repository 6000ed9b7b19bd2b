// `quarantine <name>@<version>...` end to end: the CLI as a user runs it, a real Temporal dev server, a
// real Verdaccio, and the npm CLI as the judge of what the registry serves afterwards. The command opens
// a playbook incident (workflows/playbook.ts) with the default policy.
import type { LocalRegistry } from '../stack/registry';
import type { PlaybookView } from '../core/playbook/view';
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

type ContainJson = PlaybookView & { workflowId: string; runId: string; new: boolean; contained: boolean };

const actionsOf = (view: PlaybookView, status?: string) => view.actions.filter((a) => status === undefined || a.status === status).map((a) => a.action.id);

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
    // Deprecation and the tag move are done and read back; requiring 2FA for publishing waits for an approver.
    expect(a.status).toBe('contained');
    expect(b.contained).toBe(true);
    expect(actionsOf(a, 'done').sort()).toEqual(['deprecate:@acme/core', 'dist-tag:@acme/core:latest']);
    expect(actionsOf(a, 'waiting')).toEqual(['require-2fa:@acme/core']);

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
    expect(view.status).toBe('contained');
    // The report made it read the registry again, after the report: a fresh answer, not one from memory.
    // (Counting passes would not say this: the first test's two reports at once share one pass or take two,
    // as they happen to arrive.)
    const reportSeqs = view.events.filter((e) => e.phase === 'report').map((e) => e.seq);
    expect(reportSeqs).toHaveLength(3);
    const planningsAfter = view.events.filter((e) => e.phase === 'planned' && !e.target?.startsWith('github:') && e.seq > Math.max(...reportSeqs));
    expect(planningsAfter).toHaveLength(1);
    expect(planningsAfter[0]!.detail).toMatch(/1 of 1 packages read; 0 actions at once, 0 waiting/);
    expect(proxy.writes()).toHaveLength(writesBefore);
  });

  it('prints the audit trail of an incident by release or by id, each action with who, what and the result', async () => {
    const byRelease = await runCli(['timeline', '@acme/core@1.2.3', '--registry', proxy.url], { QUARANTINE_TASK_QUEUE: taskQueue });
    expect(byRelease.stderr).toBe('');
    expect(byRelease.code).toBe(0);
    for (const phase of ['report', 'planned', 'started', 'succeeded', 'verified', 'approval-requested']) expect(byRelease.stdout).toContain(` ${phase} `);
    expect(byRelease.stdout).toContain('status    contained');
    expect(byRelease.stdout).toMatch(/move dist-tag latest of @acme\/core from 1\.2\.3 to 1\.2\.2: done \(on-call\.dist-tag=auto/);
    expect(byRelease.stdout).toContain('1 waiting: quarantine approve');

    const id = byRelease.stdout.split('\n')[0]!.replace('incident ', '');
    const view = jsonOf<PlaybookView>(await runCli(['timeline', id, '--json']));
    expect(view.status).toBe('contained');
    expect(view.reports).toHaveLength(3);
    expect(view.events.map((e) => e.phase)).not.toContain('failed');
    const moved = view.events.find((e) => e.phase === 'succeeded' && e.actionId === 'dist-tag:@acme/core:latest');
    expect(moved).toMatchObject({ target: 'npm:@acme/core#latest', before: { latest: '1.2.3' }, after: { latest: '1.2.2' } });
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

  it('writes nothing for --plan and prints the whole plan with its gates and the passwords it needs', async () => {
    const writesBefore = proxy.writes().length;
    const plan = await cli(['@acme/utils@1.2.0', '--plan']);
    expect(plan.code).toBe(0);
    const view = jsonOf<ContainJson>(plan);
    expect(view.status).toBe('planned');
    expect(view.incident).toMatch(/-plan$/);
    expect(view.actions.map((a) => [a.action.id, a.action.gate, a.action.otp])).toEqual([
      ['deprecate:@acme/utils', 'auto', false],
      ['dist-tag:@acme/utils:latest', 'auto', false],
      ['require-2fa:@acme/utils', 'approval', true],
    ]);
    expect(view.otp).toMatchObject({ actions: 1, passwords: 1 });
    expect(proxy.writes()).toHaveLength(writesBefore);
    const text = await runCli(['@acme/utils@1.2.0', '--plan', '--registry', proxy.url], { QUARANTINE_TASK_QUEUE: taskQueue });
    expect(text.stdout).toMatch(/auto +deprecate:@acme\/utils/);
    expect(text.stdout).toMatch(/approval\+otp +require-2fa:@acme\/utils/);
    expect(text.stdout).toContain('1 writes need a one-time password: 1 password');
  });

  it('contains releases of several packages in one incident, one deprecation write per package', async () => {
    const writesBefore = proxy.writes().length;
    const result = await cli(['@acme/utils@1.2.0', '@acme/cli@2.1.0-beta.0', '--reason', 'the same stolen token']);
    expect(result.code).toBe(0);
    const view = jsonOf<ContainJson>(result);
    expect(view.incident).toMatch(/^compromise-@acme\/cli-and-1-more-[0-9a-f]{12}$/);
    expect(view.compromise.releases.map((r) => r.name).sort()).toEqual(['@acme/cli', '@acme/utils']);
    const writes = proxy.writes().slice(writesBefore);
    expect(writes.filter((w) => w.method === 'PUT' && w.path === '/@acme%2futils')).toHaveLength(1);
    expect(writes.filter((w) => w.method === 'PUT' && w.path === '/@acme%2fcli')).toHaveLength(1);
  });

  it('lists the incidents newest first from Temporal visibility, and filters them by status', async () => {
    const id = jsonOf<ContainJson>(await cli(['@acme/core@1.2.3'])).incident;
    const listed = await pollUntil(
      async () => jsonOf<{ incident: string; kind: string; status: string; packages: string }[]>(await runCli(['list', '--json'])),
      (l) => l.some((i) => i.incident === id && i.status === 'contained'),
      30_000,
    );
    expect(listed.find((i) => i.incident === id)).toMatchObject({ kind: 'containment', status: 'contained', packages: '@acme/core' });
    const held = jsonOf<{ incident: string; status: string }[]>(await runCli(['list', '--status', 'held', '--json']));
    expect(held.every((i) => i.status.startsWith('held'))).toBe(true);
    expect(held.map((i) => i.incident)).not.toContain(id);
    const text = await runCli(['list']);
    expect(text.stdout).toMatch(new RegExp(`contained +containment +@acme/core +${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const bad = await runCli(['list', '--status', 'held; drop'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(bad.code).toBe(2);
  });

  it('moves latest past a deprecated release to the highest safe one', async () => {
    const after = await npmView(npmCli(registry.url), '@acme/utils', ['1.0.0', '1.1.0', '1.2.0']);
    expect(after.distTags).toEqual({ latest: '1.0.0' });
    expect(after.deprecated['1.1.0']).toBe('broken build, use 1.0.0');
    expect(after.deprecated['1.2.0']).toMatch(/^SECURITY/);
    expect(after.deprecated['1.0.0']).toBeUndefined();
  });

  it('removes a prerelease tag that points at the affected release and leaves latest alone', async () => {
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
    expect(view.contained).toBe(false);
    // The on-call command approves deprecating the only version; nothing can make latest safe.
    expect(view.holds).toEqual([]);
    expect(view.unresolved.join('\n')).toMatch(/latest stays on @acme\/solo@1.0.0.*publish a clean release/);
    const after = await npmView(npmCli(registry.url), '@acme/solo', ['1.0.0']);
    expect(after.deprecated['1.0.0']).toMatch(/^SECURITY/);
  });

  it.each([
    ['@acme/core@9.9.9', /@acme\/core@9\.9\.9 is not on the registry/],
    ['@acme/ghost@1.0.0', /@acme\/ghost is not on http/],
  ])('ends %s failed with the reason and changes nothing', async (spec, reason) => {
    const writesBefore = proxy.writes().length;
    const result = await cli([spec]);
    expect(result.code).toBe(1);
    const view = jsonOf<ContainJson>(result);
    expect(view.status).toBe('failed');
    expect(view.contained).toBe(false);
    expect(view.blockers.join('\n')).toMatch(reason);
    expect(view.actions).toEqual([]);
    expect(proxy.writes()).toHaveLength(writesBefore);
  });

  it('closes an incident on request; a later report opens a new run that finds the release still contained', async () => {
    const closed = await runCli(['close', '@acme/core@1.2.3', '--registry', proxy.url, '--reason', 'all clear'], { QUARANTINE_TASK_QUEUE: taskQueue });
    expect(closed.code).toBe(0);
    expect(closed.stdout).toMatch(/^closed compromise-@acme\/core@1\.2\.3-/);
    const shown = await runCli(['timeline', '@acme/core@1.2.3', '--registry', proxy.url]);
    expect(shown.stdout).toMatch(/ closed +quarantine: all clear/);

    const writesBefore = proxy.writes().length;
    const reopened = jsonOf<ContainJson>(await cli(['@acme/core@1.2.3', '--reason', 'seen again']));
    expect(reopened.new).toBe(true);
    expect(reopened.status).toBe('contained');
    // Every affected version already carries the incident's marker and latest is safe: nothing to write.
    expect(actionsOf(reopened)).toEqual(['require-2fa:@acme/core']);
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
    // Tags move first: the refusal is the first write's.
    const failed = view.actions.find((a) => a.action.id === `dist-tag:${name}:latest`);
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toMatch(status);
    expect(failed?.error).toMatch(hint);
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
    expect(view.status).toBe('contained');
    // The failed tag move stays on the record; a new one, planned from a fresh read, did it.
    expect(actionsOf(view, 'failed')).toEqual([]);
    expect(actionsOf(view, 'done')).toContain('dist-tag:@acme/core:latest~2');
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

  it('refuses a registry URL carrying credentials, an unknown flag, and a bad release among good ones', async () => {
    for (const args of [
      ['@acme/core@1.2.3', '--registry', 'https://me:secret@registry.example/'],
      ['@acme/core@1.2.3', '--force'],
      ['@acme/core@1.2.3', '@acme/cli@latest'],
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
