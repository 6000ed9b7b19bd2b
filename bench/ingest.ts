// Ingest under an alert storm: distinct compromises and many duplicates, sent at a fixed concurrency to
// `quarantine serve` (journal first, batched delivery into Temporal). Baseline in the same run: the
// naive design, one signal-with-start per alert straight into the same Temporal server.
// Usage: npm run bench:ingest [-- --alerts N --concurrency C]
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { signStandardWebhook } from '../core/alerts/signatures';
import type { Report } from '../core/incident';
import { freePort } from '../stack/ports';
import { stopChild } from '../stack/process';
import { startTemporalDevServer } from '../stack/temporal-server';
import { workerConfigFromEnv } from '../worker/config';
import { createWorker } from '../worker/index';
import { reportSignal } from '../workflows/definitions';

const CLI = join(__dirname, '..', '..', 'bin', 'quarantine.js');
const SECRET = `whsec_${Buffer.from('quarantine-bench-standard-webhooks').toString('base64')}`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Stats {
  alerts: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
}

async function storm(count: number, concurrency: number, send: (n: number) => Promise<void>): Promise<Stats> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        const t = performance.now();
        await send(n);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { alerts: count, per_second: Math.round(count / seconds), p50_ms: Number(percentile(latencies, 50).toFixed(1)), p99_ms: Number(percentile(latencies, 99).toFixed(1)) };
}

/** Alert n of the storm: 100 distinct compromises; one delivery in five is a redelivery of an earlier one. */
function alert(n: number): { id: string; body: string } {
  const original = n % 5 === 4 ? n - 1 : n;
  return {
    id: `bench-${original}`,
    body: JSON.stringify({ id: `scanner-${original}`, kind: 'malware', severity: 'high', title: `storm ${original}`, package: { name: `storm-dep-${original % 100}`, versions: ['1.0.0'] } }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { alerts: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '32' } } });
  const count = Number(values.alerts);
  const concurrency = Number(values.concurrency);
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  const temporal = await startTemporalDevServer();
  const workerConnection = await NativeConnection.connect({ address: temporal.address });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const results: Record<string, unknown> = { alerts: count, concurrency };
  try {
    // quarantine serve, as deployed: its own process, journal on disk.
    const taskQueue = 'bench-ingest';
    const worker = await createWorker({ connection: workerConnection, namespace: 'default', config: workerConfigFromEnv({ QUARANTINE_TASK_QUEUE: taskQueue }) });
    const running = worker.run();
    const port = await freePort();
    const server = spawn(process.execPath, [CLI, 'serve', '--port', String(port)], {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: temporal.address,
        QUARANTINE_TASK_QUEUE: taskQueue,
        QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-bench-intake-')),
        GITHUB_WEBHOOK_SECRETS: 'bench',
        QUARANTINE_WEBHOOK_SECRETS: SECRET,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      server.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        if (stderr.includes('listening on')) resolve();
      });
      server.on('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
    });
    const url = `http://127.0.0.1:${port}/v1/alerts`;
    try {
      const started = performance.now();
      const intake = await storm(count, concurrency, async (n) => {
        const { id, body } = alert(n);
        const timestamp = Math.floor(Date.now() / 1000);
        const raw = Buffer.from(body);
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(raw, id, timestamp, SECRET) },
          body: raw,
        });
        await response.arrayBuffer();
        if (response.status !== 202 && response.status !== 200) throw new Error(`intake answered ${response.status}`);
      });
      for (;;) {
        const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { backlog: number };
        if (ready.backlog === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      results.intake = { ...intake, all_in_temporal_after_s: Number(((performance.now() - started) / 1000).toFixed(2)) };
    } finally {
      await stopChild(server);
    }

    // Baseline: one Temporal round trip per alert before answering.
    const baseline = await storm(count, concurrency, async (n) => {
      const { id } = alert(n);
      const report: Report = { reportId: `baseline:${id}`, requestedBy: 'bench', reason: 'storm', at: new Date().toISOString() };
      const incident = `baseline-storm-dep-${n % 100}`;
      await client.workflow.signalWithStart('watchIncidentWorkflow', {
        workflowId: incident,
        taskQueue,
        args: [{ incident, kind: 'dependency', subject: incident, report }],
        signal: reportSignal,
        signalArgs: [[report]],
      });
    });
    results.baseline_signal_with_start_per_alert = baseline;
    const intakeStats = results.intake as Stats;
    results.ratios = {
      throughput_intake_over_baseline: Number((intakeStats.per_second / baseline.per_second).toFixed(2)),
      p99_intake_over_baseline: Number((intakeStats.p99_ms / baseline.p99_ms).toFixed(3)),
    };
    results.target = { per_second: '>= 500', p99_ms: '<= 50', met: intakeStats.per_second >= 500 && intakeStats.p99_ms <= 50 };
    worker.shutdown();
    await running;
  } finally {
    await connection.close();
    await workerConnection.close();
    await temporal.stop();
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
