// Durability: the worker is SIGKILLed after the registry applied the deprecation but before the worker
// heard back. A new worker finishes the incident, and the release is deprecated exactly once.
import type { ChildProcess } from 'node:child_process';
import type { LocalRegistry } from '../stack/registry';
import { stopChild } from '../stack/process';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import type { PlaybookView } from '../core/playbook/view';
import { jsonOf, npmCli, runCli, startCliProcess, testRegistry, uniqueTaskQueue } from './helpers/stack';

const startWorkerProcess = (env: Record<string, string>) => startCliProcess(['worker'], env, 'quarantine worker:');

describe('a worker killed in the middle of an incident', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
  });
  afterAll(async () => {
    for (const worker of workers) await stopChild(worker);
    await proxy?.close();
    await registry?.stop();
  });

  it('is replaced by another that ends the incident contained, with exactly one deprecation', async () => {
    const taskQueue = uniqueTaskQueue('restart');
    const env = { QUARANTINE_REGISTRY: proxy.url, NPM_TOKEN: registry.tokens.admin, QUARANTINE_TASK_QUEUE: taskQueue };
    const isDeprecation = (r: { method: string; path: string }) => r.method === 'PUT' && r.path === '/@acme%2fcore';

    const first = await startWorkerProcess(env);
    workers.push(first);
    const deprecationApplied = proxy.holdNext(isDeprecation);
    const report = runCli(['@acme/core@1.2.3', '--registry', proxy.url, '--json'], { QUARANTINE_TASK_QUEUE: taskQueue });

    await deprecationApplied;
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    // The write landed on the registry; the worker that made it never learned so.
    const npm = npmCli(registry.url);
    expect((await npm(['view', '@acme/core@1.2.3', 'deprecated'])).trim()).toMatch(/^SECURITY/);

    workers.push(await startWorkerProcess(env));
    const result = await report;
    expect(result.code).toBe(0);
    const view = jsonOf<PlaybookView>(result);
    expect(view.status).toBe('contained');
    // The retried activity read first, found the deprecation in place, and wrote nothing.
    expect(view.events.filter((e) => e.actionId === 'deprecate:@acme/core' && e.phase !== 'verified').map((e) => e.phase)).toEqual(['started', 'unchanged']);

    expect(proxy.writes().filter(isDeprecation)).toHaveLength(1);
    expect((await npm(['dist-tag', 'ls', '@acme/core'])).trim()).toBe('latest: 1.2.2');
  });
});
