// Time to contain one release, against the baseline of an engineer doing the same writes with the npm
// CLI by hand, on the same registry build in the same run. Each run gets a fresh registry copy, so
// every run contains a live release. The command is timed twice: connecting to Temporal itself, and
// through a running `quarantine serve` (QUARANTINE_SERVER), which loads none of the Temporal client.
// Usage: npm run bench [-- --runs N] [--cpu-prof-dir DIR] [--temporal-address HOST:PORT [--temporal-namespace NS]]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { serveConfigFromEnv } from '../server/config';
import { startIntake } from '../server/index';
import { startRegistryFromTemplate, startSeededRegistry, type LocalRegistry } from '../stack/registry';
import { npmCli } from '../stack/npm-cli';
import { CLI_BIN as CLI } from '../stack/cli-process';
import { workerConfigFromEnv } from '../worker/config';
import { createWorker } from '../worker/index';
import { benchTemporal } from './temporal-target';

const RELEASE = '@acme/core@1.2.3';
const REASON = 'benchmark: compromised release';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Where one on-call command's time went, from the incident's own audit trail (wall clock, this machine). */
interface Breakdown {
  start_to_report_ms: number;
  report_to_planned_ms: number;
  planned_to_written_ms: number;
  written_to_read_back_ms: number;
  read_back_to_exit_ms: number;
}

function breakdownOf(spawnedAt: number, exitedAt: number, events: readonly { phase: string; at: string }[]): Breakdown | undefined {
  const at = (phases: string[], last = false) => {
    const found = events.filter((e) => phases.includes(e.phase)).map((e) => Date.parse(e.at));
    return found.length === 0 ? undefined : last ? Math.max(...found) : Math.min(...found);
  };
  const report = at(['report']);
  const planned = at(['planned']);
  const written = at(['succeeded', 'unchanged'], true);
  const readBack = at(['verified'], true);
  if (report === undefined || planned === undefined || written === undefined || readBack === undefined) return undefined;
  return {
    start_to_report_ms: report - spawnedAt,
    report_to_planned_ms: planned - report,
    planned_to_written_ms: written - planned,
    written_to_read_back_ms: readBack - written,
    read_back_to_exit_ms: exitedAt - readBack,
  };
}

function runQuarantine(registry: string, temporal: { address: string; namespace: string }, taskQueue: string, extra: string[] = [], nodeArgs: string[] = [], env: Record<string, string> = {}): Promise<{ ms: number; status: string; breakdown?: Breakdown }> {
  const started = performance.now();
  const spawnedAt = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, RELEASE, '--reason', REASON, '--registry', registry, '--json', ...extra], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: temporal.namespace, QUARANTINE_TASK_QUEUE: taskQueue, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const ms = performance.now() - started;
      const exitedAt = Date.now();
      try {
        const view = JSON.parse(stdout) as { status: string; events?: { phase: string; at: string }[] };
        const breakdown = breakdownOf(spawnedAt, exitedAt, view.events ?? []);
        resolve({ ms, status: view.status, ...(breakdown ? { breakdown } : {}) });
      } catch {
        reject(new Error(`quarantine printed no JSON: ${stdout}`));
      }
    });
  });
}

async function byHand(registry: LocalRegistry): Promise<{ ms: number; ok: boolean }> {
  const npm = npmCli(registry.url, registry.tokens.admin);
  const started = performance.now();
  await npm(['dist-tag', 'add', '@acme/core@1.2.2', 'latest']);
  await npm(['deprecate', RELEASE, REASON]);
  const [deprecated, tags] = await Promise.all([npm(['view', RELEASE, 'deprecated']), npm(['dist-tag', 'ls', '@acme/core'])]);
  const ms = performance.now() - started;
  return { ms, ok: deprecated.trim() === REASON && tags.trim() === 'latest: 1.2.2' };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'cpu-prof-dir': { type: 'string' }, 'temporal-address': { type: 'string' }, 'temporal-namespace': { type: 'string' } } });
  // Where the timed command's start goes: a V8 CPU profile of each timed CLI process (read it with cpu-profile-summary).
  const profile = values['cpu-prof-dir'] ? ['--cpu-prof', '--cpu-prof-dir', values['cpu-prof-dir']] : [];
  const runs = Number(values.runs);
  // Task queues of this invocation only: on a server the bench did not start, an earlier bench's incidents may still be open.
  const invocation = randomBytes(3).toString('hex');
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const temporal = await benchTemporal(values['temporal-address'], values['temporal-namespace']);
  const seeded = await startSeededRegistry();
  const template = mkdtempSync(join(tmpdir(), 'quarantine-bench-template-'));
  cpSync(seeded.dir, template, { recursive: true });
  await seeded.stop();
  const connection = await NativeConnection.connect({ address: temporal.address });
  // The server's own client, as `quarantine serve` holds one: connected before any report comes.
  const serveConnection = await Connection.connect({ address: temporal.address });
  const serveClient = new Client({ connection: serveConnection, namespace: temporal.namespace });

  const quarantineMs: number[] = [];
  const viaServeMs: number[] = [];
  const viaServeBreakdowns: Breakdown[] = [];
  const breakdowns: Breakdown[] = [];
  const npmMs: number[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      // Alternate which side goes first, so neither always runs on a warmer machine.
      const sides = ['quarantine', 'npm', 'via-serve'];
      const order = [...sides.slice(run % sides.length), ...sides.slice(0, run % sides.length)];
      for (const side of order) {
        const registry = await startRegistryFromTemplate(template);
        try {
          if (side === 'npm') {
            const { ms, ok } = await byHand(registry);
            if (!ok) throw new Error('the npm CLI baseline did not leave the release contained');
            npmMs.push(ms);
          } else {
            const taskQueue = `bench-${invocation}-${run}`;
            const config = workerConfigFromEnv({ QUARANTINE_REGISTRY: registry.url, NPM_TOKEN: registry.tokens.admin, QUARANTINE_TASK_QUEUE: taskQueue });
            const worker = await createWorker({ connection, namespace: temporal.namespace, config });
            const running = worker.run();
            let stopServe: (() => Promise<void>) | undefined;
            try {
              let env: Record<string, string> = {};
              if (side === 'via-serve') {
                // `quarantine serve` runs all the time too, with its Temporal connection open.
                const password = randomBytes(12).toString('base64url');
                const serveConfig = serveConfigFromEnv(
                  {
                    QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-bench-serve-')),
                    QUARANTINE_REGISTRY: registry.url,
                    QUARANTINE_TASK_QUEUE: taskQueue,
                    QUARANTINE_OWNED_PACKAGES: '@acme/*',
                    QUARANTINE_UI_USERS: `oncall:${password}`,
                    GITHUB_WEBHOOK_SECRETS: randomBytes(32).toString('hex'),
                    QUARANTINE_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString('base64')}`,
                  },
                  0,
                );
                const intake = await startIntake(serveConfig, { logger: false, client: serveClient });
                stopServe = () => intake.close();
                env = { QUARANTINE_SERVER: intake.url, QUARANTINE_SERVER_USER: 'oncall', QUARANTINE_SERVER_PASSWORD: password, TEMPORAL_ADDRESS: '127.0.0.1:1' };
              }
              // A deployed worker runs all the time: its workflow sandbox is loaded before an incident
              // comes. A plan (it writes nothing) loads this one's, untimed.
              const warm = await runQuarantine(registry.url, temporal, taskQueue, ['--plan'], [], env);
              if (warm.status !== 'planned') throw new Error(`the warm-up plan ended ${warm.status}`);
              const { ms, status, breakdown } = await runQuarantine(registry.url, temporal, taskQueue, [], profile, env);
              if (breakdown) (side === 'via-serve' ? viaServeBreakdowns : breakdowns).push(breakdown);
              // contained: every automatic action read back (what waits for a person is not part of the by-hand baseline either).
              if (status !== 'contained' && status !== 'verified') throw new Error(`quarantine (${side}) ended ${status}`);
              (side === 'via-serve' ? viaServeMs : quarantineMs).push(ms);
            } finally {
              await stopServe?.();
              worker.shutdown();
              await running;
            }
          }
        } finally {
          await registry.stop();
        }
      }
      console.error(`run ${run}/${runs}: quarantine ${quarantineMs.at(-1)!.toFixed(0)} ms, through quarantine serve ${viaServeMs.at(-1)!.toFixed(0)} ms, npm CLI by hand ${npmMs.at(-1)!.toFixed(0)} ms`);
    }
  } finally {
    await connection.close();
    await serveConnection.close();
    await temporal.stop();
  }
  const parts = (list: Breakdown[]) =>
    Object.fromEntries((['start_to_report_ms', 'report_to_planned_ms', 'planned_to_written_ms', 'written_to_read_back_ms', 'read_back_to_exit_ms'] as const).map((k) => [k, Math.round(median(list.map((b) => b[k])))]));
  const result = {
    runs,
    worker: 'in this process, one per run, warmed by a --plan incident (it writes nothing) before the timed command',
    temporal: temporal.started ? `a dev server this bench started (${temporal.address})` : `a server this bench did not start (${temporal.address}, namespace ${temporal.namespace})`,
    quarantine_median_ms: Math.round(median(quarantineMs)),
    npm_cli_by_hand_median_ms: Math.round(median(npmMs)),
    ratio_quarantine_over_npm: Number((median(quarantineMs) / median(npmMs)).toFixed(2)),
    through_serve_median_ms: Math.round(median(viaServeMs)),
    ratio_through_serve_over_npm: Number((median(viaServeMs) / median(npmMs)).toFixed(2)),
    through_serve_ms: viaServeMs.map(Math.round),
    quarantine_ms: quarantineMs.map(Math.round),
    npm_cli_by_hand_ms: npmMs.map(Math.round),
    // Medians of each part over the runs (they need not add up to the median total).
    quarantine_breakdown_median_ms: parts(breakdowns),
    through_serve_breakdown_median_ms: parts(viaServeBreakdowns),
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
