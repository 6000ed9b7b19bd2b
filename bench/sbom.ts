// SBOM ingest cost by dependency depth, and what a large SBOM does to alert acknowledgement.
//
// 1. Ingest (parseSbom then putSbom into a fresh SQLite index), each case in a process of its own so
//    that its peak RSS is its own: chain-shaped SBOMs (each component depends on the next: the deepest
//    graph a component count allows) of 1,000 / 4,000 / 8,000 components, and the same counts as a
//    tree exactly as deep as the depth limit (a trunk of SBOM_LIMITS.depth components, the rest hanging
//    off it at every level). Measured with this build's default limits, with the limits lifted (parse
//    only: how the reduction scales), and, with --before DIR, with another build's dist/ (e.g. main's):
//    the baseline of the same command.
// 2. Acknowledgement latency: an intake on this machine, with signed alerts sent one after another
//    while a large signed SBOM is being ingested. With --before DIR, the same against that build's
//    intake. The intake's drainer points at no Temporal server: acknowledgement depends on the
//    journal only, which is what is measured.
// Usage: npm run build && node dist/bench/sbom.js [--before /path/to/other/checkout/dist] [--sizes 1000,4000,8000]
//        [--ack-components 8000] [--only ingest|ack]
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

type Shape = 'chain' | 'deepest-tree';

interface CdxDoc {
  bomFormat: 'CycloneDX';
  specVersion: '1.5';
  serialNumber: string;
  version: 1;
  metadata: { component: Record<string, string> };
  components: Record<string, string>[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

const component = (name: string): Record<string, string> => ({ type: 'library', 'bom-ref': `${name}@1.0.0`, name, version: '1.0.0', purl: `pkg:npm/${name}@1.0.0` });

/**
 * A valid CycloneDX 1.5 SBOM of `app@1.0.0` with `count` npm components. `chain`: each depends on the
 * next. `deepest-tree`: a trunk `depth` long, the other components spread over its levels as leaves.
 */
export function syntheticSbom(count: number, shape: Shape, depth = 100): string {
  const root = component('app');
  const names = Array.from({ length: count }, (_, i) => `pkg-${i}`);
  const dependsOn = new Map<string, string[]>([[root['bom-ref']!, []]]);
  for (const name of names) dependsOn.set(`${name}@1.0.0`, []);
  const trunk = shape === 'chain' ? count : Math.min(depth, count);
  for (let i = 0; i < count; i++) {
    const ref = `${names[i]}@1.0.0`;
    // Trunk: parent is the previous trunk component (or the release); leaves hang off the trunk, round-robin over its levels.
    const parent = i < trunk ? (i === 0 ? root['bom-ref']! : `${names[i - 1]}@1.0.0`) : i % trunk === 0 ? root['bom-ref']! : `${names[(i % trunk) - 1]}@1.0.0`;
    dependsOn.get(parent)!.push(ref);
  }
  const doc: CdxDoc = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: { component: root },
    components: names.map(component),
    dependencies: [...dependsOn].map(([ref, deps]) => ({ ref, dependsOn: deps })),
  };
  return JSON.stringify(doc);
}

// ---- one ingest case, in its own process -----------------------------------------------------------

interface CaseResult {
  ms: number;
  outcome: string;
  peakRssMiB: number;
  rssBeforeMiB: number;
  heapAfterMiB: number;
}

async function runCase(dist: string, size: number, shape: Shape, mode: 'default' | 'lifted-parse'): Promise<CaseResult> {
  const sbomModule = require(join(dist, 'core', 'sbom.js')) as typeof import('../core/sbom');
  const storeModule = require(join(dist, 'store', 'sqlite-store.js')) as typeof import('../store/sqlite-store');
  const text = syntheticSbom(size, shape);
  // Warm the schema validator and the modules on a small document, outside the measurement.
  await sbomModule.parseSbom(syntheticSbom(10, 'chain'));
  const dir = mkdtempSync(join(tmpdir(), 'quarantine-bench-sbom-'));
  const index = storeModule.openReleaseIndex(join(dir, 'releases.sqlite'));
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  let outcome: string;
  try {
    if (mode === 'lifted-parse') {
      const parsed = await sbomModule.parseSbom(text, { limits: { components: 1e9, depth: 1e9, pathEntries: 1e12 } });
      outcome = `parsed ${parsed.sbom.components.length} components`;
    } else {
      const result = await sbomModule.ingestSbom(index, text);
      outcome = `${result.outcome} ${result.components} components`;
    }
  } catch (error) {
    outcome = `refused: ${(error as Error).message}`;
  }
  const ms = performance.now() - started;
  const heapAfter = process.memoryUsage().heapUsed;
  index.close();
  rmSync(dir, { recursive: true, force: true });
  return { ms, outcome, peakRssMiB: process.resourceUsage().maxRSS / 1024, rssBeforeMiB: rssBefore / 2 ** 20, heapAfterMiB: heapAfter / 2 ** 20 };
}

function inChild(dist: string, size: number, shape: Shape, mode: 'default' | 'lifted-parse'): CaseResult {
  const out = execFileSync(process.execPath, ['--expose-gc', __filename, '--case', JSON.stringify({ dist, size, shape, mode })], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as CaseResult;
}

// ---- acknowledgement latency while an SBOM is ingested ---------------------------------------------

interface AckResult {
  sbomStatus: number;
  sbomMs: number;
  acks: number;
  /** Alerts answered other than 202: signed when sent, stale by the time a blocked intake read them. */
  refused: number;
  p50: number;
  p99: number;
  max: number;
}

async function ackLatency(dist: string, sbom: string): Promise<AckResult> {
  const { startIntake } = require(join(dist, 'server', 'index.js')) as typeof import('../server/index');
  const { signStandardWebhook } = require(join(dist, 'core', 'alerts', 'signatures.js')) as typeof import('../core/alerts/signatures');
  const { Client, Connection } = await import('@temporalio/client');
  const secret = `whsec_${Buffer.from('quarantine-bench-standard-webhooks-key').toString('base64')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-bench-ack-'));
  const connection = Connection.lazy({ address: '127.0.0.1:1' });
  const intake = await startIntake(
    {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      taskQueue: 'bench-unused',
      registry: 'http://127.0.0.1:9/',
      owned: ['@acme/*'],
      secrets: { github: ['bench-github-secret'], standard: [secret] },
      bodyLimit: 1024 * 1024,
      sbomBodyLimit: 32 * 1024 * 1024,
      signalsPerSecond: 50,
    },
    { client: new Client({ connection }) },
  );
  const post = async (path: string, body: string): Promise<number> => {
    const raw = Buffer.from(body);
    const id = `msg_${randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const response = await fetch(`${intake.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signStandardWebhook(raw, id, ts, secret) },
      body: raw,
    });
    await response.arrayBuffer();
    return response.status;
  };
  let n = 0;
  const alert = () => JSON.stringify({ id: `BENCH-${n++}`, kind: 'malware', severity: 'critical', title: 'bench', package: { name: 'left-pad', versions: ['1.3.0'] } });
  // Warm both routes.
  for (let i = 0; i < 20; i++) await post('/v1/alerts', alert());
  await post('/v1/sboms', syntheticSbom(10, 'chain'));

  const latencies: number[] = [];
  let refused = 0;
  const sbomStarted = performance.now();
  let sbomDone = false;
  const sent = post('/v1/sboms', sbom).then((status) => {
    sbomDone = true;
    return { status, ms: performance.now() - sbomStarted };
  });
  // Alerts one after another for as long as the SBOM is in the intake, and at least a second.
  while (!sbomDone || performance.now() - sbomStarted < 1000) {
    const started = performance.now();
    const status = await post('/v1/alerts', alert());
    if (status !== 202) refused += 1;
    latencies.push(performance.now() - started);
  }
  const { status, ms } = await sent;
  await intake.close();
  await connection.close();
  rmSync(dataDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return { sbomStatus: status, sbomMs: ms, acks: latencies.length - refused, refused, p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1]! };
}

function ackInChild(dist: string, components: number, shape: Shape): AckResult {
  const out = execFileSync(process.execPath, [__filename, '--ack', JSON.stringify({ dist, components, shape })], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: 600_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as AckResult;
}

// ---- report --------------------------------------------------------------------------------------

const f = (n: number, digits = 0): string => n.toFixed(digits);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      before: { type: 'string' },
      sizes: { type: 'string', default: '1000,4000,8000' },
      'ack-components': { type: 'string', default: '8000' },
      only: { type: 'string' },
      case: { type: 'string' },
      ack: { type: 'string' },
    },
  });
  if (values.case) {
    const c = JSON.parse(values.case) as { dist: string; size: number; shape: Shape; mode: 'default' | 'lifted-parse' };
    console.log(JSON.stringify(await runCase(c.dist, c.size, c.shape, c.mode)));
    return;
  }
  if (values.ack) {
    const c = JSON.parse(values.ack) as { dist: string; components: number; shape: Shape };
    console.log(JSON.stringify(await ackLatency(c.dist, syntheticSbom(c.components, c.shape))));
    return;
  }
  const own = resolve(__dirname, '..');
  const before = values.before ? resolve(values.before) : undefined;
  const sizes = values.sizes.split(',').map(Number);
  if (values.only !== 'ack') ingestReport(own, before, sizes);
  if (values.only !== 'ingest') ackReport(own, before, Number(values['ack-components']));
}

function ingestReport(own: string, before: string | undefined, sizes: number[]): void {
  console.log(`SBOM ingest (parseSbom + putSbom), one process per case; peak = max RSS of that process${before ? `; before = ${before}` : ''}`);
  for (const shape of ['chain', 'deepest-tree'] as const) {
    for (const size of sizes) {
      const rows: [string, CaseResult][] = [];
      if (before) rows.push(['before', inChild(before, size, shape, 'default')]);
      const after = inChild(own, size, shape, 'default');
      rows.push(['after', after]);
      rows.push(['after, limits lifted, parse only', inChild(own, size, shape, 'lifted-parse')]);
      for (const [label, r] of rows) {
        console.log(`  ${shape.padEnd(12)} ${String(size).padStart(6)}  ${label.padEnd(32)} ${f(r.ms).padStart(7)} ms  peak RSS ${f(r.peakRssMiB).padStart(5)} MiB (${f(r.rssBeforeMiB)} before)  heap after ${f(r.heapAfterMiB).padStart(5)} MiB  ${r.outcome.slice(0, 110)}`);
      }
      if (before) console.log(`  ${''.padEnd(12)} ${''.padStart(6)}  before/after: time x${f(rows[0]![1].ms / after.ms, 1)}, peak RSS x${f(rows[0]![1].peakRssMiB / after.peakRssMiB, 1)}`);
    }
  }
}

function ackReport(own: string, before: string | undefined, ackComponents: number): void {
  console.log(`\nalert acknowledgement while a ${ackComponents}-component SBOM is ingested (alerts sent one after another; latency in ms)`);
  for (const shape of ['chain', 'deepest-tree'] as const) {
    const rows: [string, AckResult][] = [];
    if (before) rows.push(['before', ackInChild(before, ackComponents, shape)]);
    rows.push(['after', ackInChild(own, ackComponents, shape)]);
    for (const [label, r] of rows) {
      console.log(`  ${shape.padEnd(12)} ${label.padEnd(7)} SBOM ${r.sbomStatus} in ${f(r.sbomMs)} ms; ${r.acks} alerts acknowledged meanwhile${r.refused > 0 ? ` and ${r.refused} refused (stale signature)` : ''}: p50 ${f(r.p50, 1)}  p99 ${f(r.p99, 1)}  max ${f(r.max, 1)}`);
    }
    if (before) console.log(`  ${''.padEnd(12)} before/after: ack max x${f(rows[0]![1].max / rows[1]![1].max, 1)}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
