// What integration tests need from the shared stack: their own registry copy, a worker on their own
// task queue, the CLI as a user runs it, and the npm CLI as the independent judge.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { CLI_BIN, startCliProcess as startStackCliProcess } from '../../stack/cli-process';
import { startRegistryFromTemplate, type LocalRegistry } from '../../stack/registry';
import { npmCli, type NpmCli } from '../../stack/npm-cli';
import { workerConfigFromEnv } from '../../worker/config';
import { createWorker } from '../../worker/index';

export const CLI = CLI_BIN;

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest's global set-up (npm test)`);
  return value;
}

export const temporalAddress = () => required('QUARANTINE_TEST_TEMPORAL_ADDRESS');

export function testRegistry(): Promise<LocalRegistry> {
  return startRegistryFromTemplate(required('QUARANTINE_TEST_REGISTRY_TEMPLATE'));
}

export async function testClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** A task queue no other test file polls, so that no other file's worker (other registry, other token) takes its tasks. */
export function uniqueTaskQueue(label: string): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/** A worker in this process; its release index is in `dataDir` (default: a fresh temporary one, never the user's). */
export async function startInProcessWorker(env: { registry: string; token?: string; taskQueue: string; dataDir?: string; more?: Record<string, string> }): Promise<RunningWorker> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const config = workerConfigFromEnv({
    QUARANTINE_REGISTRY: env.registry,
    NPM_TOKEN: env.token,
    QUARANTINE_TASK_QUEUE: env.taskQueue,
    QUARANTINE_DATA_DIR: env.dataDir ?? mkdtempSync(join(tmpdir(), 'quarantine-worker-data-')),
    ...env.more,
  });
  const worker = await createWorker({ connection, namespace: 'default', config });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A long-running `quarantine <command>` against the test Temporal server. */
export function startCliProcess(args: string[], env: Record<string, string>, ready: string): Promise<ChildProcess> {
  return startStackCliProcess(args, { TEMPORAL_ADDRESS: temporalAddress(), ...env }, ready);
}

/** Runs `quarantine ...` as a user would, in a child process, with the given environment on top. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function jsonOf<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`the CLI printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** The npm CLI's view of a package: the reference client judges what the registry now serves. */
export async function npmView(
  npm: NpmCli,
  name: string,
  versions: string[],
): Promise<{ deprecated: Record<string, string | undefined>; distTags: Record<string, string> }> {
  const [tags, ...messages] = await Promise.all([
    npm(['dist-tag', 'ls', name]),
    ...versions.map((version) => npm(['view', `${name}@${version}`, 'deprecated'])),
  ]);
  const deprecated = Object.fromEntries(versions.map((version, i) => [version, messages[i]!.trim() || undefined]));
  const distTags = Object.fromEntries(
    tags!
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(': ') as [string, string]),
  );
  return { deprecated, distTags };
}

export { npmCli };

/**
 * Reads until `done` holds or `timeoutMs` passes, then returns the last value. A read that fails is
 * retried: on two cores under the whole suite, a query can time out while the worker is starved,
 * which says nothing about the incident being read.
 */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
