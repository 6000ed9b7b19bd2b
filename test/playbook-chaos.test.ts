// Durability of the containment playbook under a killed worker: a 10-package malware incident, run once
// without faults for reference, then 10 times with the worker process SIGKILLed at a (seeded) random
// point and a new worker started in its place. Every run must end in the reference's registry state, as
// the npm CLI reads it, and the registry's write log must show each visible write exactly once.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { publishVersion } from '../bench/tarball';
import type { Report } from '../core/incident';
import { incidentMarker } from '../core/plan';
import type { Compromise } from '../core/playbook/plan';
import { parsePolicy } from '../core/playbook/policy-file';
import type { PlaybookView } from '../core/playbook/view';
import type { NpmCli } from '../stack/npm-cli';
import { stopChild } from '../stack/process';
import { startRegistryFromTemplate, type LocalRegistry } from '../stack/registry';
import { readWriteLog, type WriteLogEntry } from '../stack/verdaccio-plugins/npmjs-state';
import { playbookQuery, rollbackUpdate } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { startRegistryProxy, type SeenRequest } from './helpers/registry-proxy';
import { npmCli, startCliProcess, temporalAddress, temporalNamespace, testRegistry, uniqueTaskQueue } from './helpers/stack';

const PACKAGES = 10;
const KILLED_RUNS = 10;
/** Change it to explore other kill points; a failure names the seed and the delay that found it. */
const SEED = Number(process.env.QUARANTINE_CHAOS_SEED ?? 20261202);

interface SeedPackage {
  name: string;
  good: string[];
  bad: string[];
  /** A second tag on a bad release: the playbook removes it (a DELETE write). */
  nextOnBad?: string;
}

/** Varied on purpose: one or two bad releases, two or three good ones, some with a second tag on a bad one. */
const FLEET: SeedPackage[] = Array.from({ length: PACKAGES }, (_, i) => ({
  name: `@chaos/p${String(i).padStart(2, '0')}`,
  good: i % 2 === 0 ? ['1.0.0', '1.1.0', '1.2.0'] : ['1.0.0', '1.1.0'],
  bad: i % 3 === 0 ? ['1.3.0', '1.3.1'] : ['1.3.0'],
  ...(i % 4 === 0 ? { nextOnBad: '1.3.0' } : {}),
}));

/** The default policy, with the test as the approver that may roll an incident back. */
const CHAOS_POLICY = parsePolicy({ version: 1, approvers: [{ name: 'chaos-test', may: ['all'] }] });

/** A seeded pseudo-random generator (mulberry32): the kill points are the same on every run of the file. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function registryWrite(registry: LocalRegistry, method: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(new URL(path, registry.url), {
    method,
    headers: { authorization: `Bearer ${registry.tokens.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

/** Publishes the fleet (versions of a package in order, packages in parallel) and returns the folder later copies start from. */
async function seedTemplate(): Promise<string> {
  const registry = await testRegistry();
  try {
    await Promise.all(
      FLEET.map(async (pkg) => {
        for (const version of [...pkg.good, ...pkg.bad]) await publishVersion(registry.url, registry.tokens.admin, pkg.name, version);
        if (pkg.nextOnBad) await registryWrite(registry, 'PUT', `/-/package/${pkg.name.replace('/', '%2f')}/dist-tags/next`, pkg.nextOnBad);
      }),
    );
  } finally {
    await registry.stop();
  }
  return registry.dir;
}

/** What a user sees of one package: every version's deprecation, the dist-tags and the revision count. */
interface PackageSight {
  versions: string[];
  deprecated: Record<string, string>;
  distTags: Record<string, string>;
  /**
   * How many revisions the registry stored (the number before the dash in `_rev`): every write that
   * changed the packument, even to the same content, is one more. Its random part differs between runs.
   */
  revisions: number;
}

interface ViewedManifest {
  version: string;
  deprecated?: string;
  'dist-tags': Record<string, string>;
  _rev: string;
}

/** The npm CLI's view of one package: a range gives every version's manifest, each with its `deprecated`. */
async function npmSightOf(npm: NpmCli, name: string): Promise<PackageSight> {
  const manifests = JSON.parse(await npm(['view', `${name}@>=0.0.0`, '--json'])) as ViewedManifest[];
  return {
    versions: manifests.map((m) => m.version),
    deprecated: Object.fromEntries(manifests.filter((m) => m.deprecated).map((m) => [m.version, m.deprecated!])),
    distTags: manifests[0]!['dist-tags'],
    revisions: Number(manifests[0]!._rev.split('-')[0]),
  };
}

async function npmSight(registry: LocalRegistry): Promise<Record<string, PackageSight>> {
  const npm = npmCli(registry.url);
  return Object.fromEntries(await Promise.all(FLEET.map(async ({ name }) => [name, await npmSightOf(npm, name)] as const)));
}

const writeKey = (w: WriteLogEntry) => `${w.method} ${w.path}`;

interface Run {
  view: PlaybookView;
  sight: Record<string, PackageSight>;
  /** Writes the registry applied during the run (2xx/3xx), in order, and those it refused. */
  applied: WriteLogEntry[];
  refused: WriteLogEntry[];
  /** When the client's start call returned: the origin of the run's timeline. */
  startedAt: number;
  /** From the start to `contained` (the incident's own record of it). */
  containedMs: number;
  /** The seeded delay on the fault-free run's timeline, and what it meant there. */
  killAfterMs?: number;
  killAt?: KillPoint;
  /** Writes the registry had applied when the worker died: 0 is a kill in the reads, all of them one in verification. */
  appliedBeforeKill?: number;
  /** From the kill to `contained`, when the kill came first. */
  recoveryMs?: number;
  /** The Temporal timeouts the incident's history shows (what a recovery waits on), e.g. `activity HEARTBEAT`. */
  timeouts: string[];
  /** What the npm CLI sees after a rollback of the contained incident (when the run asked for one). */
  rolledBack?: Record<string, PackageSight>;
}

/**
 * A kill point on the fault-free run's timeline, as progress: after this many applied writes, and this
 * long after the last of them (after the start when none). A run on a loaded machine is slower than the
 * reference, so a bare delay would land ever earlier in it (in the reads, mostly); replayed as progress,
 * a delay that fell in the reference's writes or verification falls there in the killed run too.
 */
interface KillPoint {
  afterWrites: number;
  thenMs: number;
}

function killPointOf(reference: Run, delayMs: number): KillPoint {
  const times = reference.applied.map((w) => Date.parse(w.time) - reference.startedAt);
  const afterWrites = times.filter((t) => t <= delayMs).length;
  return { afterWrites, thenMs: delayMs - (afterWrites === 0 ? 0 : times[afterWrites - 1]!) };
}

const SETTLED = ['contained', 'verified', 'failed', 'held', 'recorded'];
/** Killed runs under way at once: most of a recovery is waiting on Temporal's timeouts, not on the CPU. */
const PARALLEL_RUNS = 2;

const timeoutName = (type: temporal.api.enums.v1.TimeoutType | null | undefined) =>
  (type == null ? 'unknown' : temporal.api.enums.v1.TimeoutType[type] ?? String(type)).replace('TIMEOUT_TYPE_', '');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

describe('the containment playbook with its worker killed at random points', () => {
  let template: string;
  let connection: Connection;
  let client: Client;
  const children: ChildProcess[] = [];
  const registries: LocalRegistry[] = [];
  const dataDirs: string[] = [];
  const tag = Date.now().toString(36);
  let reference: Run;
  /** What the npm CLI saw of the seeded registry, before any incident. */
  let seededSight: Record<string, PackageSight> | undefined;
  let killedRuns: Promise<Run>[] | undefined;
  const killed: Run[] = [];

  beforeAll(async () => {
    [template, connection] = await Promise.all([seedTemplate(), Connection.connect({ address: temporalAddress() })]);
    client = new Client({ connection, namespace: temporalNamespace() });
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled(killedRuns ?? []);
    for (const child of children) await stopChild(child);
    for (const registry of registries) {
      await registry.stop();
      rmSync(registry.dir, { recursive: true, force: true });
    }
    for (const dir of [...dataDirs, ...(template ? [template] : [])]) rmSync(dir, { recursive: true, force: true });
    await connection?.close();
    if (reference && killed.length > 0) {
      const recoveries = killed.flatMap((r) => (r.recoveryMs === undefined ? [] : [r.recoveryMs]));
      process.stdout.write(
        `playbook chaos (seed ${SEED}): fault-free ${reference.containedMs} ms from start to contained for ${PACKAGES} packages (${reference.applied.length} writes); ` +
          `kills at ${killed.map((r) => `${r.killAfterMs} ms (after ${r.killAt!.afterWrites} writes + ${r.killAt!.thenMs} ms; ${r.appliedBeforeKill} applied at the kill)`).join(', ')}; ` +
          `kill to contained, ${recoveries.length} runs killed before containment: median ${recoveries.length > 0 ? median(recoveries) : NaN} ms (${recoveries.join(', ')}); ` +
          `timeouts waited on: ${killed.map((r) => `[${r.timeouts.join(', ')}]`).join(' ')}\n`,
      );
    }
  });

  function startWorker(registry: string, token: string, taskQueue: string): Promise<ChildProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-chaos-data-'));
    dataDirs.push(dataDir);
    const worker = startCliProcess(
      ['worker'],
      {
        QUARANTINE_REGISTRY: registry,
        NPM_TOKEN: token,
        QUARANTINE_TASK_QUEUE: taskQueue,
        QUARANTINE_DATA_DIR: dataDir,
      },
      'quarantine worker:',
    );
    return worker.then((child) => (children.push(child), child));
  }

  async function waitSettled(handle: WorkflowHandle<typeof playbookWorkflow>, timeoutMs: number): Promise<PlaybookView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const view = await handle.query(playbookQuery);
        if (SETTLED.includes(view.status) || Date.now() > deadline) return view;
      } catch (error) {
        // No worker answers while the killed one is gone and the new one starts: ask again.
        if (Date.now() > deadline) throw error;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * One incident on a fresh copy of the seeded registry; with `killAt`, its worker is SIGKILLed at that
   * point and a new one started. Each run has its own incident id (runs overlap), so the
   * id's marker in the deprecation messages is put back to a placeholder before runs are compared.
   */
  async function runIncident(label: string, killAt?: KillPoint | { answerLostOf: (req: SeenRequest) => boolean }, then: { rollBack?: boolean } = {}): Promise<Run> {
    const incident = `compromise-MAL-2026-1202-${tag}-${label}`;
    const registry = await startRegistryFromTemplate(template);
    registries.push(registry);
    // A proxy that can keep a write's answer from the worker after the registry applied it.
    const proxy = killAt && 'answerLostOf' in killAt ? await startRegistryProxy(registry.url) : undefined;
    const answerLost = killAt && 'answerLostOf' in killAt ? proxy!.holdNext(killAt.answerLostOf) : undefined;
    const registryUrl = proxy?.url ?? registry.url;
    const before = readWriteLog(registry.dir).length;
    const taskQueue = uniqueTaskQueue('chaos');
    let worker = await startWorker(registryUrl, registry.tokens.admin, taskQueue);
    const releases = FLEET.map((pkg) => ({ name: pkg.name, versions: pkg.bad }));
    const compromise: Compromise = { incident, registry: registryUrl, trigger: 'malware', severity: 'critical', releases, advisories: [], approvedReleases: [] };
    const report: Report = {
      reportId: `chaos:${incident}`,
      requestedBy: 'chaos-test',
      reason: 'malware alert naming the bad releases of ten packages',
      at: new Date().toISOString(),
      alert: { source: 'generic', sourceId: 'MAL-2026-1202', kind: 'malware', severity: 'critical', aliases: [], evidence: [], withdrawn: false },
    };
    const handle = await client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: incident,
      taskQueue,
      args: [{ compromise, policy: CHAOS_POLICY, first: { report, releases } }],
    });
    const startedAt = Date.now();
    let killedAt: number | undefined;
    let appliedBeforeKill: number | undefined;
    try {
      if (answerLost) {
        await answerLost;
      } else if (killAt && 'afterWrites' in killAt) {
        // Waits for the kill point's writes to show in the registry's log, then the rest of the delay.
        let origin = startedAt;
        if (killAt.afterWrites > 0) {
          const deadline = Date.now() + 60_000;
          for (;;) {
            const done = readWriteLog(registry.dir).slice(before).filter((w) => w.outcome === 'applied');
            if (done.length >= killAt.afterWrites) {
              origin = Date.parse(done[killAt.afterWrites - 1]!.time);
              break;
            }
            if (Date.now() > deadline) throw new Error(`${label}: ${killAt.afterWrites} writes never came (${done.length} in 60 s)`);
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        await new Promise((r) => setTimeout(r, Math.max(0, origin + killAt.thenMs - Date.now())));
      }
      if (killAt) {
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill('SIGKILL');
        killedAt = Date.now();
        await exited;
        appliedBeforeKill = readWriteLog(registry.dir).slice(before).filter((w) => w.outcome === 'applied').length;
        worker = await startWorker(registryUrl, registry.tokens.admin, taskQueue);
      }
      const view = await waitSettled(handle, 90_000);
      const log = readWriteLog(registry.dir).slice(before);
      const marker = incidentMarker(incident);
      const sight = Object.fromEntries(
        Object.entries(await npmSight(registry)).map(([name, seen]) => [
          name,
          { ...seen, deprecated: Object.fromEntries(Object.entries(seen.deprecated).map(([v, message]) => [v, message.replaceAll(marker, '(incident marker)')])) },
        ]),
      );
      const containedAt = view.containedAt ? Date.parse(view.containedAt) : NaN;
      const { events } = await handle.fetchHistory();
      const timeouts = (events ?? []).flatMap((e) => [
        ...(e.workflowTaskTimedOutEventAttributes ? [`workflow task ${timeoutName(e.workflowTaskTimedOutEventAttributes.timeoutType)}`] : []),
        ...(e.activityTaskTimedOutEventAttributes ? [`activity ${timeoutName(e.activityTaskTimedOutEventAttributes.failure?.timeoutFailureInfo?.timeoutType)}`] : []),
      ]);
      let rolledBack: Record<string, PackageSight> | undefined;
      if (then.rollBack) {
        await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'chaos-test', reason: 'false positive' }] });
        rolledBack = await npmSight(registry);
      }
      return {
        timeouts,
        view,
        sight,
        ...(rolledBack ? { rolledBack } : {}),
        applied: log.filter((w) => w.outcome === 'applied'),
        refused: log.filter((w) => w.outcome !== 'applied'),
        startedAt,
        containedMs: containedAt - startedAt,
        ...(killAt && 'afterWrites' in killAt ? { killAt } : {}),
        ...(appliedBeforeKill !== undefined ? { appliedBeforeKill } : {}),
        ...(killedAt !== undefined && containedAt > killedAt ? { recoveryMs: containedAt - killedAt } : {}),
      };
    } finally {
      await handle.terminate('chaos run over').catch(() => undefined);
      await stopChild(worker);
      await proxy?.close();
      await registry.stop();
    }
  }

  /** Starts every killed run at once (at most PARALLEL_RUNS under way), each at its seeded kill point. */
  function startKilledRuns(): Promise<Run>[] {
    const random = seededRandom(SEED);
    const delays = Array.from({ length: KILLED_RUNS }, () => Math.round(random() * reference.containedMs));
    let free = PARALLEL_RUNS;
    const waiting: (() => void)[] = [];
    const slot = async () => {
      if (free > 0) free -= 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
    };
    const release = () => (waiting.length > 0 ? waiting.shift()!() : (free += 1));
    return delays.map(async (delay, i) => {
      await slot();
      try {
        const run = { ...(await runIncident(`run${i + 1}`, killPointOf(reference, delay))), killAfterMs: delay };
        killed.push(run);
        return run;
      } finally {
        release();
      }
    });
  }

  it('seeds ten packages whose latest is a bad release, and contains them all without faults', async () => {
    const registry = await startRegistryFromTemplate(template);
    registries.push(registry);
    const seeded = await npmSight(registry);
    seededSight = seeded;
    for (const pkg of FLEET) {
      expect(seeded[pkg.name]).toMatchObject({
        versions: [...pkg.good, ...pkg.bad],
        deprecated: {},
        distTags: { latest: pkg.bad.at(-1), ...(pkg.nextOnBad ? { next: pkg.nextOnBad } : {}) },
      });
    }
    // Why a repeated write counts as visible even with the same body: the registry stores it as one
    // more revision, which the npm CLI shows (`_rev`), as npmjs's CouchDB does.
    const first = FLEET[0]!;
    await registryWrite(registry, 'PUT', `/-/package/${first.name.replace('/', '%2f')}/dist-tags/next`, first.nextOnBad);
    expect(await npmSightOf(npmCli(registry.url), first.name)).toEqual({ ...seeded[first.name], revisions: seeded[first.name]!.revisions + 1 });
    await registry.stop();

    reference = await runIncident('reference');
    expect(reference.view.status).toBe('contained');
    for (const pkg of FLEET) {
      const sight = reference.sight[pkg.name]!;
      expect(Object.keys(sight.deprecated).sort()).toEqual(pkg.bad);
      for (const message of Object.values(sight.deprecated)) expect(message).toMatch(/^SECURITY: .*\(incident marker\).*MAL-2026-1202/);
      expect(sight.distTags).toEqual({ latest: pkg.good.at(-1) });
      // One revision for the deprecation, one per tag moved or removed.
      expect(sight.revisions).toBe(seeded[pkg.name]!.revisions + 2 + (pkg.nextOnBad ? 1 : 0));
    }
    // One deprecation write per package, one write per tag on a bad release, nothing else.
    const expected = FLEET.flatMap((pkg) => {
      const escaped = pkg.name.replace('/', '%2f');
      return [`PUT /${escaped}`, `PUT /-/package/${escaped}/dist-tags/latest`, ...(pkg.nextOnBad ? [`DELETE /-/package/${escaped}/dist-tags/next`] : [])];
    });
    expect(reference.applied.map(writeKey).sort()).toEqual(expected.sort());
    expect(reference.refused).toEqual([]);
  }, 90_000);

  it('a deprecation the registry applied, whose answer the killed worker never got, is not written again, and rolls back', async () => {
    expect(reference).toBeDefined();
    const deprecation = `/${FLEET[4]!.name.replace('/', '%2f')}`;
    const run = await runIncident('answer-lost', { answerLostOf: (req) => req.method === 'PUT' && req.path === deprecation }, { rollBack: true });
    expect(run.view.status).toBe('contained');
    expect(run.sight).toEqual(reference.sight);
    // The write reached the registry before the kill; the new worker's retry read it there and wrote nothing.
    expect(run.applied.filter((w) => writeKey(w) === `PUT ${deprecation}`)).toHaveLength(1);
    expect(run.applied.map(writeKey).sort()).toEqual(reference.applied.map(writeKey).sort());
    const deprecate = run.view.events.filter((e) => e.actionId === `deprecate:${FLEET[4]!.name}` && (e.phase === 'succeeded' || e.phase === 'unchanged'));
    expect(deprecate.map((e) => e.phase)).toEqual(['unchanged']);
    // Its before-image is what the plan read (not deprecated), not the message the lost write had put
    // there: the rollback takes the deprecation away again, as for every other package.
    for (const pkg of FLEET) {
      const { deprecated, distTags } = run.rolledBack![pkg.name]!;
      expect({ name: pkg.name, deprecated, distTags }).toEqual({ name: pkg.name, deprecated: seededSight![pkg.name]!.deprecated, distTags: seededSight![pkg.name]!.distTags });
    }
  }, 120_000);

  it.each(Array.from({ length: KILLED_RUNS }, (_, i) => i + 1))('run %i: a SIGKILLed worker, replaced, ends where the fault-free run ended and repeats no visible write', async (n) => {
    expect(reference).toBeDefined();
    killedRuns ??= startKilledRuns();
    const run = await killedRuns[n - 1]!;
    const where = `seed ${SEED}, run ${n}: killed at ${run.killAfterMs} ms of the fault-free run (after ${run.killAt!.afterWrites} writes + ${run.killAt!.thenMs} ms), ${run.appliedBeforeKill} writes applied at the kill`;

    expect({ where, status: run.view.status }).toEqual({ where, status: 'contained' });
    expect(run.sight).toEqual(reference.sight);
    // The write log as the registry saw it. A repeated write is visible even with the same body (one
    // more revision, checked above), so the applied writes must be the reference's, each exactly once:
    // a retry after a write whose answer was lost must read first and write nothing. Refused writes
    // change nothing a user sees and are not counted.
    const counts = new Map<string, number>();
    for (const w of run.applied) counts.set(writeKey(w), (counts.get(writeKey(w)) ?? 0) + 1);
    const repeated = [...counts].filter(([, count]) => count > 1).map(([key, count]) => `${key} x${count}`);
    expect({ where, repeated }).toEqual({ where, repeated: [] });
    expect(run.applied.map(writeKey).sort()).toEqual(reference.applied.map(writeKey).sort());
  }, 150_000);
});
