// Ingest under an alert storm: distinct compromises and many duplicates, sent to `quarantine serve`
// (journal first, batched delivery into Temporal) in two ways: as fast as 32 senders can (the most it
// takes), and at a steady rate (default 500/s, the target) to read the acknowledgement latency there
// (three runs; the median run is reported).
// Baseline in the same run: the naive design, one signal-with-start per alert straight into the same
// Temporal server, measured the same two ways.
// Usage: npm run bench:ingest [-- --alerts N --concurrency C --rate R --cpu-prof-dir DIR]
// With --cpu-prof-dir, serve and worker write V8 CPU profiles there (open them in Chrome's DevTools, or
// summarise them with `node dist/bench/cpu-profile-summary.js DIR`): where the tail's CPU goes.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { signStandardWebhook } from '../core/alerts/signatures';
import type { Report } from '../core/incident';
import { freePort } from '../stack/ports';
import { stopChild } from '../stack/process';
import { CLI_BIN as CLI, startCliProcess } from '../stack/cli-process';
import { startTemporalDevServer } from '../stack/temporal-server';
import { reportSignal } from '../workflows/definitions';

const SECRET = `whsec_${Buffer.from('quarantine-bench-standard-webhooks').toString('base64')}`;

const STEADY_RUNS = 3;

/** The run whose p99 is the median of the runs. */
function medianRun(runs: Stats[]): Stats {
  return [...runs].sort((a, b) => a.p99_ms - b.p99_ms)[Math.floor(runs.length / 2)]!;
}

function histogramMs(h: IntervalHistogram): { p99: number; max: number } {
  return { p99: Number((h.percentile(99) / 1e6).toFixed(1)), max: Number((h.max / 1e6).toFixed(1)) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Stats {
  alerts: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
  /** Sends that failed (a refusal or a timeout): counted, not timed. */
  errors: number;
}

function stats(count: number, started: number, latencies: number[]): Stats {
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    alerts: count,
    per_second: Math.round(count / seconds),
    p50_ms: Number(percentile(latencies, 50).toFixed(1)),
    p99_ms: Number(percentile(latencies, 99).toFixed(1)),
    errors: count - latencies.length,
  };
}

/** Times one send; a failed one is left out of the latencies (and so counted in `errors`). */
async function timed(send: () => Promise<void>, latencies: number[]): Promise<void> {
  const t = performance.now();
  try {
    await send();
    latencies.push(performance.now() - t);
  } catch {
    // An unanswered alert has no acknowledgement latency; stats() counts it.
  }
}

/** Closed loop: `concurrency` senders, each sending its next alert as soon as the last is answered. */
async function storm(count: number, concurrency: number, send: (n: number) => Promise<void>): Promise<Stats> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        await timed(() => send(n), latencies);
      }
    }),
  );
  return stats(count, started, latencies);
}

/** Open loop: alert n leaves at start + n / rate whether or not earlier ones were answered. */
async function steady(count: number, rate: number, offset: number, send: (n: number) => Promise<void>): Promise<Stats> {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(timed(() => send(offset + i), latencies));
  }
  await Promise.all(inFlight);
  return stats(count, started, latencies);
}

// node:http with keep-alive: the sender must cost less CPU than the server it measures (fetch costs
// several times more per request, and shares these two cores with everything else).
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
function post(url: URL, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
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
  const { values } = parseArgs({ options: { alerts: { type: 'string', default: '5000' }, concurrency: { type: 'string', default: '32' }, rate: { type: 'string', default: '500' }, 'cpu-prof-dir': { type: 'string' } } });
  const count = Number(values.alerts);
  const concurrency = Number(values.concurrency);
  const rate = Number(values.rate);
  const profileDir = values['cpu-prof-dir'];
  const nodeArgs = (name: string) => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);

  // The sender's own stalls: time it could not read an answer counts in the latency it measures.
  const senderDelay = monitorEventLoopDelay({ resolution: 5 });
  senderDelay.enable();
  const temporal = await startTemporalDevServer();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  // Two shared cores: how busy the machine was says how far to trust the tail.
  let worker: ChildProcess | undefined;
  const results: Record<string, unknown> = { alerts: count, concurrency, steady_rate_per_second: rate, machine: { cpus: cpus().length, load_average_at_start: loadavg().map((l) => Number(l.toFixed(2))) } };
  try {
    // quarantine serve, as deployed: its own process, journal on disk.
    const taskQueue = 'bench-ingest';
    // Each in its own process, as deployed, so that none of them stalls the sender's clock.
    worker = spawn(process.execPath, [...nodeArgs('worker'), CLI, 'worker'], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, QUARANTINE_TASK_QUEUE: taskQueue },
      stdio: 'ignore',
    });
    const port = await freePort();
    const server = await startCliProcess(
      ['serve', '--port', String(port)],
      {
        TEMPORAL_ADDRESS: temporal.address,
        QUARANTINE_TASK_QUEUE: taskQueue,
        QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-bench-intake-')),
        GITHUB_WEBHOOK_SECRETS: 'bench-github-webhook-secret',
        QUARANTINE_OWNED_PACKAGES: '@acme/*',
        QUARANTINE_WEBHOOK_SECRETS: SECRET,
      },
      'listening on',
      nodeArgs('serve'),
    );
    const url = new URL(`http://127.0.0.1:${port}/v1/alerts`);
    // Each phase's deliveries are signed before it starts: a scanner signs on its own machine, and here
    // the sender shares the two cores with the server it measures.
    let prepared = new Map<number, { headers: Record<string, string>; raw: Buffer }>();
    const prepare = (from: number, count: number) => {
      prepared = new Map();
      const timestamp = Math.floor(Date.now() / 1000);
      for (let n = from; n < from + count; n++) {
        const { id, body } = alert(n);
        const raw = Buffer.from(body);
        prepared.set(n, { raw, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandardWebhook(raw, id, timestamp, SECRET) } });
      }
    };
    const sendToIntake = async (n: number) => {
      const { headers, raw } = prepared.get(n)!;
      const status = await post(url, headers, raw);
      if (status !== 202 && status !== 200) throw new Error(`intake answered ${status}`);
    };
    // The server's own account of the run: journal group-commit times and event-loop delay.
    const serverTimes = async () => ((await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { sinceLastReadMs: unknown }).sinceLastReadMs;
    const drained = async () => {
      for (;;) {
        const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { backlog: number };
        if (ready.backlog === 0) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      prepare(0, count);
      const started = performance.now();
      const most = await storm(count, concurrency, sendToIntake);
      await drained();
      const allInTemporal = Number(((performance.now() - started) / 1000).toFixed(2));
      // Three steady runs: on two shared cores one run's p99 swings by tens of milliseconds.
      const runs: (Stats & { server_ms?: unknown; sender_event_loop_delay_ms?: unknown })[] = [];
      for (let run = 1; run <= STEADY_RUNS; run++) {
        prepare(count * 10 * run, count);
        await serverTimes(); // starts the server's window at this run
        senderDelay.reset();
        const result = await steady(count, rate, count * 10 * run, sendToIntake);
        runs.push({ ...result, server_ms: await serverTimes(), sender_event_loop_delay_ms: histogramMs(senderDelay) });
        await drained();
      }
      results.intake = { closed_loop: { ...most, all_in_temporal_after_s: allInTemporal }, steady: medianRun(runs), steady_runs: runs };
    } finally {
      await stopChild(server);
    }

    // Baseline: one Temporal round trip per alert before answering.
    const sendToTemporal = async (n: number) => {
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
    };
    const baselineMost = await storm(count, concurrency, sendToTemporal);
    const baselineSteady = await steady(count, rate, count * 10 * (STEADY_RUNS + 1), sendToTemporal);
    results.baseline_signal_with_start_per_alert = { closed_loop: baselineMost, steady: baselineSteady };
    const intake = results.intake as { closed_loop: Stats; steady: Stats };
    results.ratios = {
      most_per_second_intake_over_baseline: Number((intake.closed_loop.per_second / baselineMost.per_second).toFixed(2)),
      steady_p99_intake_over_baseline: Number((intake.steady.p99_ms / baselineSteady.p99_ms).toFixed(3)),
    };
    results.target = {
      per_second: '>= 500',
      p99_ms: '<= 50',
      met: intake.closed_loop.per_second >= 500 && intake.steady.per_second >= rate * 0.95 && intake.steady.p99_ms <= 50 && intake.steady.errors === 0,
    };
    (results.machine as Record<string, unknown>).load_average_at_end = loadavg().map((l) => Number(l.toFixed(2)));
  } finally {
    // Also when a phase failed: a worker left behind would load the machine of the next run.
    if (worker) await stopChild(worker);
    await connection.close();
    await temporal.stop();
  }
  console.log(JSON.stringify(results, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
