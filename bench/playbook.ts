// A TanStack-scale compromise (42 packages, 84 bad versions, `latest` on a bad one, good versions below,
// a GitHub trusted publisher on every package, staged publishes on some) contained by the playbook, from
// the alert to `contained` and, after one approval with a one-time password, to `verified`; against a
// responder's runbook doing the same registry actions with the npm CLI, one command at a time, on an
// identical registry copy in the same run.
// Usage: npm run bench:playbook [-- --runs N --concurrency C --registry-concurrency R --cpu-prof-dir DIR
//   --temporal-address HOST:PORT --temporal-namespace NS]
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import type { Report } from '../core/incident';
import type { AuditEvent, PlaybookView } from '../core/playbook/view';
import { parsePolicy } from '../core/playbook/policy-file';
import { startCliProcess } from '../stack/cli-process';
import { npmCli, type NpmCli } from '../stack/npm-cli';
import { githubPublisher, seedStagedPublish, seedTrustedPublishers } from '../stack/npmjs-standin';
import { stopChild } from '../stack/process';
import { REGISTRY_OTP, startRegistryFromTemplate, startSeededRegistry, type LocalRegistry } from '../stack/registry';
import { startGithubStandin, type GithubStandin } from '../stack/github-standin';
import { startPrismProxy, type PrismProxy } from '../stack/prism';
import { SealedSecretCodec } from '../worker/secret-codec';
import { approveUpdate, compromiseReportsSignal, playbookQuery, type CompromiseReport } from '../workflows/definitions';
import type { playbookWorkflow, PlaybookRequest } from '../workflows/playbook';
import { INCIDENT_STATUS } from '../workflows/search-attributes';
import { registryFloor, type FloorResult } from './playbook-floor';
import { publishVersion } from './tarball';
import { benchTemporal } from './temporal-target';

const SCOPE = '@tanstack';
const NAMES = [
  'query-core', 'react-query', 'vue-query', 'solid-query', 'svelte-query', 'angular-query', 'query-devtools',
  'react-query-devtools', 'query-persist-client-core', 'query-sync-storage-persister', 'query-async-storage-persister',
  'react-query-persist-client', 'router-core', 'react-router', 'solid-router', 'router-devtools', 'router-generator',
  'router-plugin', 'router-cli', 'start', 'react-start', 'solid-start', 'start-server-core', 'start-client-core',
  'history', 'table-core', 'react-table', 'vue-table', 'solid-table', 'svelte-table', 'virtual-core', 'react-virtual',
  'vue-virtual', 'form-core', 'react-form', 'vue-form', 'store', 'react-store', 'db', 'react-db', 'pacer', 'ranger',
];
const ADVISORY = 'MAL-2026-4242';
const APPROVER = 'oncall-lead';
/** Tells this invocation's incidents and task queues from an earlier one's on the same server. */
const INVOCATION = randomBytes(3).toString('hex');
/** What the responder writes by hand: the same words for every version. */
const RUNBOOK_MESSAGE = `SECURITY: this release is compromised, do not install it (${ADVISORY})`;
// The status is polled from the server (a search attribute, no worker round trip); each poll costs CPU
// on the two cores the incident runs on, and adds at most this much to the time reported.
const STATUS_POLL_MS = 100;

/** One package of the compromise: good versions below, the two bad ones on top with `latest` on the last. */
interface SeededPackage {
  name: string;
  good: string[];
  bad: string[];
  /** A version the attacker staged, waiting for approval (some packages only). */
  staged?: string;
}

function compromisePackages(): SeededPackage[] {
  if (NAMES.length !== 42) throw new Error(`the bench needs 42 package names, has ${NAMES.length}`);
  return NAMES.map((short, i) => {
    const minor = `${1 + (i % 5)}.${10 + i}`;
    const pkg: SeededPackage = { name: `${SCOPE}/${short}`, good: [0, 1, 2].map((p) => `${minor}.${p}`), bad: [`${minor}.3`, `${minor}.4`] };
    // The second publish burst is still arriving: a quarter of the packages have a version staged.
    if (i % 4 === 0) pkg.staged = `${minor}.5`;
    return pkg;
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (ms: number) => Math.round(ms);

/** CPU time (user + system) a process has used so far, from /proc; undefined where there is no /proc. */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined || pid < 0) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU each process spent between two samples: on two shared cores, who is busy says what to change. */
function cpuSampler(processes: Record<string, number | undefined>): () => Record<string, number | null> {
  const start = Object.fromEntries(Object.entries(processes).map(([name, pid]) => [name, cpuMs(pid)]));
  return () => Object.fromEntries(Object.entries(processes).map(([name, pid]) => {
    const [before, after] = [start[name], cpuMs(pid)];
    return [name, before === undefined || after === undefined ? null : round(after - before)];
  }));
}
const load = () => loadavg().map((l) => Number(l.toFixed(2)));

/** Runs `work` on `items`, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

async function authorized(registry: LocalRegistry, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, registry.url), {
    method,
    headers: { authorization: `Bearer ${registry.tokens.admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

const escaped = (name: string) => name.replace('/', '%2f');

/**
 * The registry the compromise happened on, seeded once: every version published on the wire `npm
 * publish` uses (one PUT per version, a real tarball attached), a trusted publisher on each package,
 * the staged publishes. Runs copy its folder.
 */
async function seedTemplate(packages: readonly SeededPackage[]): Promise<string> {
  const registry = await startSeededRegistry([]);
  try {
    await eachLimited(packages, 8, async (pkg) => {
      // Versions in order: each publish moves `latest`, so it ends on the last bad one.
      for (const version of [...pkg.good, ...pkg.bad]) await publishVersion(registry.url, registry.tokens.admin, pkg.name, version);
      await seedTrustedPublishers(registry.url, registry.tokens.admin, pkg.name, [githubPublisher(`tanstack/${pkg.name.split('/')[1]}`)]);
      if (pkg.staged) await seedStagedPublish(registry.url, registry.tokens.admin, pkg.name, pkg.staged);
    });
    const template = mkdtempSync(join(tmpdir(), 'quarantine-bench-playbook-template-'));
    cpSync(registry.dir, template, { recursive: true });
    return template;
  } finally {
    await registry.stop();
  }
}

/** What a user (and the next responder) sees of one package: the same facts whoever contained it. */
interface PackageEndState {
  latest: string | undefined;
  deprecated: string[];
  trust: number;
  staged: number;
}

async function endState(registry: LocalRegistry, packages: readonly SeededPackage[]): Promise<Map<string, PackageEndState>> {
  const states = new Map<string, PackageEndState>();
  const stage = (await authorized(registry, 'GET', '/-/stage?page=0&perPage=100')) as { items: { packageName: string }[] };
  await eachLimited(packages, 8, async (pkg) => {
    const packument = (await authorized(registry, 'GET', `/${escaped(pkg.name)}`)) as { 'dist-tags': Record<string, string>; versions: Record<string, { deprecated?: string }> };
    const trust = (await authorized(registry, 'GET', `/-/package/${escaped(pkg.name)}/trust`)) as unknown[];
    states.set(pkg.name, {
      latest: packument['dist-tags'].latest,
      deprecated: Object.entries(packument.versions).filter(([, m]) => typeof m.deprecated === 'string' && m.deprecated !== '').map(([v]) => v).sort(),
      trust: trust.length,
      staged: stage.items.filter((s) => s.packageName === pkg.name).length,
    });
  });
  return states;
}

/** Every package as containment must leave it, or the first difference. */
function endStateProblem(states: Map<string, PackageEndState>, packages: readonly SeededPackage[]): string | undefined {
  for (const pkg of packages) {
    const state = states.get(pkg.name);
    const wanted: PackageEndState = { latest: pkg.good.at(-1), deprecated: [...pkg.bad].sort(), trust: 0, staged: 0 };
    if (JSON.stringify(state) !== JSON.stringify(wanted)) return `${pkg.name}: ${JSON.stringify(state)}, expected ${JSON.stringify(wanted)}`;
  }
  return undefined;
}

/** The npm CLI reads a few packages back: the judge of what a user would install. */
async function npmCliCheck(npm: NpmCli, packages: readonly SeededPackage[], marker: RegExp): Promise<string | undefined> {
  const sample = [packages[0]!, packages[17]!, packages[41]!];
  for (const pkg of sample) {
    const tags = JSON.parse(await npm(['view', pkg.name, 'dist-tags', '--json'])) as Record<string, string>;
    if (tags.latest !== pkg.good.at(-1)) return `npm view ${pkg.name} dist-tags: latest ${tags.latest}`;
    for (const version of pkg.bad) {
      const message = (await npm(['view', `${pkg.name}@${version}`, 'deprecated'])).trim();
      if (!marker.test(message)) return `npm view ${pkg.name}@${version} deprecated: ${JSON.stringify(message)}`;
    }
    const good = (await npm(['view', `${pkg.name}@${pkg.good.at(-1)!}`, 'deprecated'])).trim();
    if (good !== '') return `npm view ${pkg.name}@${pkg.good.at(-1)!} deprecated: a good version is deprecated (${good})`;
    const trust = (await npm(['trust', 'list', pkg.name, '--json'])).trim();
    if (trust !== '') return `npm trust list ${pkg.name}: ${trust}`;
  }
  const staged = (await npm(['stage', 'list', '--json'])).trim();
  if (stageIds(JSON.parse(staged || '[]')).length > 0) return `npm stage list: ${staged.slice(0, 300)}`;
  return undefined;
}

interface RunbookResult {
  contained_ms: number;
  total_ms: number;
  commands: number;
}

/** The responder's runbook: one npm command at a time, as written in an incident doc. */
async function runbook(registry: LocalRegistry, packages: readonly SeededPackage[]): Promise<RunbookResult> {
  const npm = npmCli(registry.url, registry.tokens.admin);
  let commands = 0;
  const run = async (args: string[]) => {
    commands += 1;
    return npm(args);
  };
  const started = performance.now();
  // First what a fresh install resolves to, then the warning on every bad version.
  for (const pkg of packages) await run(['dist-tag', 'add', `${pkg.name}@${pkg.good.at(-1)!}`, 'latest']);
  for (const pkg of packages) await run(['deprecate', `${pkg.name}@${pkg.bad.join(' || ')}`, RUNBOOK_MESSAGE]);
  const contained = performance.now() - started;
  // Then what lets the attacker publish again: the trusted publishers and the staged publishes.
  for (const pkg of packages) {
    const listed = trustIds(await run(['trust', 'list', pkg.name, '--json']));
    for (const id of listed) await run(['trust', 'revoke', pkg.name, `--id=${id}`, `--otp=${REGISTRY_OTP}`]);
  }
  const staged = JSON.parse(await run(['stage', 'list', '--json'])) as unknown;
  for (const id of stageIds(staged)) await run(['stage', 'reject', id, '--otp', REGISTRY_OTP]);
  return { contained_ms: round(contained), total_ms: round(performance.now() - started), commands };
}

/** The ids in `npm trust list --json`: one pretty-printed object after another, not an array. */
function trustIds(printed: string): string[] {
  const text = printed.trim();
  if (text === '') return [];
  return (JSON.parse(`[${text.replace(/}\s*{/g, '},{')}]`) as { id: string }[]).map((t) => t.id);
}

/** The ids in `npm stage list --json`, whichever shape this npm prints. */
function stageIds(listed: unknown): string[] {
  const items = Array.isArray(listed) ? listed : ((listed as { items?: unknown[] }).items ?? Object.values(listed as object));
  return items.flatMap((item) => (typeof item === 'object' && item !== null && typeof (item as { id?: unknown }).id === 'string' ? [(item as { id: string }).id] : []));
}

/** GitHub for the playbook side: the stand-in behind Prism validating against GitHub's OpenAPI. */
interface BenchGithub {
  standin: GithubStandin;
  prism: PrismProxy;
  token: string;
}

async function startBenchGithub(): Promise<BenchGithub> {
  const standin = await startGithubStandin();
  const prism = await startPrismProxy(standin.url).catch(async (err: unknown) => {
    await standin.close();
    throw err;
  });
  const token = `ghp_bench_${randomBytes(12).toString('hex')}`;
  standin.state.tokens.set(token, { permissions: { actions: 'write', repository_advisories: 'write', issues: 'write' } });
  return { standin, prism, token };
}

interface PlaybookResult {
  contained_ms: number;
  verified_ms: number;
  approval_to_verified_ms: number;
  /** The same, from the workflow's own clock (audit events): what the poll adds is the difference. */
  workflow_clock: { contained_ms: number; verified_ms: number };
  warmup_incident_ms: number;
  breakdown: Record<string, unknown>;
  /** The GitHub side, from the workflow's clock: it runs beside the registry's, after containment. */
  github?: { alert_to_advisory_draft_ms: number; alert_to_github_settled_ms: number; actions: Record<string, string>; advisory_versions: number };
}

/** Waits until the incident's status (a search attribute: no worker round trip) is one of `statuses`. */
async function statusReached(handle: WorkflowHandle, statuses: string[], timeoutMs = 120_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = (await handle.describe()).typedSearchAttributes.get(INCIDENT_STATUS);
    if (status !== undefined && statuses.includes(status)) return status;
    if (performance.now() > deadline) throw new Error(`incident ${handle.workflowId} still ${status ?? '(no status)'} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, STATUS_POLL_MS));
  }
}

function alertReport(id: string, at: Date): Report {
  return {
    reportId: `bench:${id}`,
    requestedBy: 'scanner:bench',
    reason: `malware alert ${id}: payload in prepare, published from the release workflow`,
    at: at.toISOString(),
    alert: { source: 'generic', sourceId: id, kind: 'malware', severity: 'critical', aliases: [], evidence: [], withdrawn: false },
  };
}

/** Starts the incident the way the intake does: signal-with-start with the report batch. */
async function signalAlert(client: Client, taskQueue: string, registry: string, incident: string, request: Omit<PlaybookRequest, 'first' | 'compromise'>, releases: CompromiseReport['releases'], report: Report): Promise<WorkflowHandle<typeof playbookWorkflow>> {
  const first: CompromiseReport = { report, releases, advisories: [report.alert!.sourceId] };
  return client.workflow.signalWithStart<typeof playbookWorkflow, [CompromiseReport[]]>('playbookWorkflow', {
    workflowId: incident,
    taskQueue,
    args: [{ ...request, first, compromise: { incident, registry, trigger: 'malware', severity: 'critical', releases, advisories: [], approvedReleases: [] } }],
    signal: compromiseReportsSignal,
    signalArgs: [[first]],
  });
}

const ms = (from: string, to: string | undefined) => (to === undefined ? NaN : Date.parse(to) - Date.parse(from));

/** Where the time went, from the audit trail (workflow clock) and the history (Temporal's work). */
async function breakdown(handle: WorkflowHandle, view: PlaybookView, alertAt: Date, approvedAt: Date): Promise<Record<string, unknown>> {
  const events = view.events;
  const first = (phase: AuditEvent['phase'], after = '') => events.find((e) => e.phase === phase && e.at >= after)?.at;
  const last = (phases: AuditEvent['phase'][], before: string) => events.filter((e) => phases.includes(e.phase) && e.at <= before).at(-1)?.at;
  const alert = alertAt.toISOString();
  const approved = approvedAt.toISOString();
  const planned = first('planned')!;
  const lastWrite = last(['succeeded', 'unchanged'], view.containedAt!)!;
  const lastVerified = last(['verified'], view.containedAt!)!;
  const approvalStarted = first('started', approved)!;
  const lastApprovedWrite = last(['succeeded', 'unchanged'], view.verifiedAt!)!;
  const durations = (kind: string) => {
    const list: number[] = [];
    for (const started of events.filter((e) => e.phase === 'started' && e.actionId?.startsWith(`${kind}:`))) {
      const end = events.find((e) => e.seq > started.seq && e.actionId === started.actionId && ['succeeded', 'unchanged', 'failed'].includes(e.phase));
      if (end) list.push(ms(started.at, end.at));
    }
    return list.length === 0 ? undefined : { actions: list.length, median_ms: median(list), max_ms: Math.max(...list) };
  };
  let workflowTasks = 0;
  let activities = 0;
  let historyEvents = 0;
  for (const event of (await handle.fetchHistory()).events ?? []) {
    historyEvents += 1;
    if (event.workflowTaskCompletedEventAttributes) workflowTasks += 1;
    if (event.activityTaskScheduledEventAttributes) activities += 1;
  }
  return {
    to_contained: {
      alert_to_first_report_event_ms: ms(alert, first('report')),
      read_and_plan_42_packages_ms: ms(first('report')!, planned),
      automatic_writes_ms: ms(planned, lastWrite),
      read_back_ms: ms(lastWrite, lastVerified),
      read_back_to_contained_ms: ms(lastVerified, view.containedAt),
    },
    to_verified: {
      approval_sent_to_first_write_ms: ms(approved, approvalStarted),
      approved_writes_ms: ms(approvalStarted, lastApprovedWrite),
      read_back_ms: ms(lastApprovedWrite, view.verifiedAt),
    },
    per_action_kind: Object.fromEntries(['dist-tag', 'deprecate', 'revoke-trust', 'reject-staged'].map((kind) => [kind, durations(kind)])),
    temporal: { history_events: historyEvents, workflow_tasks: workflowTasks, activities },
    audit_events: events.length,
  };
}

async function playbookSide(
  temporal: { address: string; namespace: string; pid?: number },
  client: Client,
  secretKey: Buffer,
  registry: LocalRegistry,
  packages: readonly SeededPackage[],
  run: number,
  options: { concurrency: number; registryConcurrency: number; profileDir?: string },
  github?: BenchGithub,
): Promise<PlaybookResult> {
  // Ids of this invocation only: on a server the bench did not start, an earlier bench's incidents may still be open.
  const taskQueue = `bench-playbook-${INVOCATION}-${run}`;
  // TanStack's packages live in one repository; its release workflow built the bad versions.
  const repository = `tanstack/router-${run}`;
  const seeded = github?.standin.state.seed({
    owner: 'tanstack',
    repo: `router-${run}`,
    workflows: [{ path: '.github/workflows/release.yml' }, { path: '.github/workflows/ci.yml' }],
    runs: [{ workflowPath: '.github/workflows/release.yml', status: 'in_progress' }],
    caches: Array.from({ length: 20 }, (_, i) => ({ key: `pnpm-store-${i}`, ref: 'refs/heads/main' })),
  });
  const policy = parsePolicy({
    version: 1,
    approvers: [{ name: APPROVER, may: ['all'] }],
    // What TanStack's responders did: tags and deprecations at once; trusted publishers and staged
    // publishes after a person says so, with one one-time password. Unpublish (refused for packages
    // with dependents) and 2FA settings are left out of this bench.
    triggers: { malware: { actions: { deprecate: 'auto', 'dist-tag': 'auto', 'revoke-trust': 'approval', 'reject-staged': 'approval', 'require-2fa': 'off', unpublish: 'off' } } },
    ...(github ? { github: { repositories: Object.fromEntries(packages.map((p) => [p.name, { repository, workflow: 'release.yml' }])) } } : {}),
  });
  // The worker in its own process, as deployed.
  const worker: ChildProcess = await startCliProcess(
    ['worker'],
    {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      QUARANTINE_TASK_QUEUE: taskQueue,
      QUARANTINE_REGISTRY: registry.url,
      NPM_TOKEN: registry.tokens.admin,
      QUARANTINE_SECRET_KEY: secretKey.toString('base64'),
      QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-bench-worker-')),
      QUARANTINE_REGISTRY_CONCURRENCY: String(options.registryConcurrency),
      // GitHub's pace (one write a second, its advice against secondary rate limits) is left as deployed.
      ...(github ? { GITHUB_TOKEN: github.token, GITHUB_API_URL: github.prism.url } : {}),
    },
    'quarantine worker: task queue',
    options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=worker-${run}.cpuprofile`] : [],
  );
  try {
    const request = { policy, concurrency: options.concurrency };
    // A deployed worker is warm when an alert comes: one incident on a package the registry does not
    // have (read, nothing written) loads the workflow code and opens the connections first.
    const warmupStarted = performance.now();
    const warmup = await signalAlert(client, taskQueue, registry.url, `bench-warmup-${INVOCATION}-${run}`, request, [{ name: `${SCOPE}/not-published`, versions: ['1.0.0'] }], alertReport('MAL-WARMUP', new Date()));
    await statusReached(warmup, ['verified', 'contained', 'failed', 'recorded', 'held']);
    const warmupMs = performance.now() - warmupStarted;

    const releases = packages.map((p) => ({ name: p.name, versions: p.bad }));
    const processes = { worker: worker.pid, registry: registry.pid, temporal_server: temporal.pid, bench: process.pid };
    const containing = cpuSampler(processes);
    const alertAt = new Date();
    const started = performance.now();
    const handle = await signalAlert(client, taskQueue, registry.url, `compromise-${ADVISORY}-${INVOCATION}-${run}`, request, releases, alertReport(ADVISORY, alertAt));
    const contained = await statusReached(handle, ['contained', 'verified', 'failed', 'held']);
    const containedMs = performance.now() - started;
    const cpuToContained = containing();
    if (contained !== 'contained') throw new Error(`the incident ended ${contained}, not contained: ${JSON.stringify((await handle.query(playbookQuery)).actions.filter((a) => a.status === 'failed' || a.status === 'conflict').slice(0, 3))}`);

    const approvedAt = new Date();
    const approvalCpu = cpuSampler(processes);
    const approving = performance.now();
    await handle.executeUpdate(approveUpdate, { args: [{ actionIds: [], by: APPROVER, note: 'release workflow compromised; publish rights pulled' }, { sealed: 'quarantine-secret/v1', value: REGISTRY_OTP }] });
    const verified = await statusReached(handle, ['verified', 'failed']);
    const verifiedMs = performance.now() - started;
    const approvalMs = performance.now() - approving;
    const cpuApprovalToVerified = approvalCpu();
    if (verified !== 'verified') throw new Error('the incident failed after the approval');

    let view = await handle.query(playbookQuery);
    const problem = viewProblem(view, packages);
    if (problem) throw new Error(`the view disagrees: ${problem}`);
    let githubResult: PlaybookResult['github'];
    if (github && seeded) {
      view = await githubSettled(handle);
      const draftId = `github:draft-advisory:${repository}`;
      const drafted = view.events.find((e) => e.actionId === draftId && e.phase === 'succeeded');
      const advisory = seeded.advisories[0];
      const named = (advisory?.vulnerabilities ?? []).map((v) => `${v.package?.name}:${v.vulnerable_version_range}`);
      // A fast wrong run is not a result: one draft naming every bad version exactly, the workflow off, nothing cached.
      const wrong = !drafted ? 'no advisory drafted' : seeded.advisories.length !== 1 ? `${seeded.advisories.length} advisories` : named.length !== packages.length ? `the advisory names ${named.length} packages` : seeded.caches.length > 0 ? `${seeded.caches.length} caches left` : seeded.workflows[0]!.state !== 'disabled_manually' ? 'the release workflow still runs' : undefined;
      if (wrong) throw new Error(`GitHub side: ${wrong}; ${JSON.stringify(view.github)}`);
      githubResult = {
        alert_to_advisory_draft_ms: ms(alertAt.toISOString(), drafted!.at),
        alert_to_github_settled_ms: ms(alertAt.toISOString(), view.github!.passedAt),
        actions: Object.fromEntries(view.github!.actions.map((a) => [a.action.id.replace(`:${repository}`, ''), a.status])),
        advisory_versions: packages.reduce((n, p) => n + p.bad.length, 0),
      };
    }
    return {
      contained_ms: round(containedMs),
      verified_ms: round(verifiedMs),
      approval_to_verified_ms: round(approvalMs),
      workflow_clock: { contained_ms: ms(alertAt.toISOString(), view.containedAt), verified_ms: ms(alertAt.toISOString(), view.verifiedAt) },
      warmup_incident_ms: round(warmupMs),
      breakdown: { ...(await breakdown(handle, view, alertAt, approvedAt)), cpu_ms: { to_contained: cpuToContained, approval_to_verified: cpuApprovalToVerified } },
      ...(githubResult ? { github: githubResult } : {}),
    };
  } finally {
    await stopChild(worker);
  }
}

/** Waits until the incident's GitHub pass ended with every action settled (done, waiting, failed). */
async function githubSettled(handle: WorkflowHandle, timeoutMs = 300_000): Promise<PlaybookView> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const view = await handle.query(playbookQuery);
    if (view.github?.passedAt && view.github.actions.length > 0 && view.github.actions.every((a) => a.status !== 'planned' && a.status !== 'running')) return view;
    if (performance.now() > deadline) throw new Error(`the GitHub side did not settle in ${timeoutMs} ms: ${JSON.stringify(view.github)}`);
    await new Promise((r) => setTimeout(r, STATUS_POLL_MS));
  }
}

/** The view of all 42 packages: every action done and read back, each package's writes as planned. */
function viewProblem(view: PlaybookView, packages: readonly SeededPackage[]): string | undefined {
  if (view.status !== 'verified') return `status ${view.status}`;
  const undone = view.actions.filter((a) => a.status !== 'done');
  if (undone.length > 0) return `${undone.length} actions not done, first ${undone[0]!.action.id} ${undone[0]!.status}`;
  for (const pkg of packages) {
    const kinds = view.actions.filter((a) => 'package' in a.action && a.action.package === pkg.name).map((a) => a.action.kind).sort();
    const wanted = ['deprecate', 'dist-tag', 'revoke-trust', ...(pkg.staged ? ['reject-staged'] : [])].sort();
    if (JSON.stringify(kinds) !== JSON.stringify(wanted)) return `${pkg.name}: actions ${kinds.join(', ')}, expected ${wanted.join(', ')}`;
  }
  const verified = new Set(view.events.filter((e) => e.phase === 'verified').map((e) => e.actionId));
  const unverified = view.actions.filter((a) => !verified.has(a.action.id));
  if (unverified.length > 0 && view.eventsDropped === 0) return `${unverified.length} actions never read back, first ${unverified[0]!.action.id}`;
  return undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '8' },
      'registry-concurrency': { type: 'string', default: '8' },
      'cpu-prof-dir': { type: 'string' },
      // For profiling the playbook alone: no runbook, so no ratio.
      'skip-runbook': { type: 'boolean', default: false },
      // The playbook side without GitHub (the stand-in and Prism not started).
      'skip-github': { type: 'boolean', default: false },
      // A Temporal server the bench did not start (it starts a dev server otherwise).
      'temporal-address': { type: 'string' },
      'temporal-namespace': { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const options = { concurrency: Number(values.concurrency), registryConcurrency: Number(values['registry-concurrency']), ...(values['cpu-prof-dir'] ? { profileDir: values['cpu-prof-dir'] } : {}) };
  const packages = compromisePackages();
  const machine: Record<string, unknown> = { cpus: cpus().length, load_average_at_start: load() };

  const temporal = await benchTemporal(values['temporal-address'], values['temporal-namespace']);
  const github = values['skip-github'] ? undefined : await startBenchGithub();
  const secretKey = randomBytes(32);
  const connection = await Connection.connect({ address: temporal.address });
  // The approver's side of the codec: the password is sealed before it leaves this process.
  const client = new Client({ connection, namespace: temporal.namespace, dataConverter: { payloadCodecs: [new SealedSecretCodec(secretKey)] } });
  const playbooks: PlaybookResult[] = [];
  const runbooks: RunbookResult[] = [];
  const floors: FloorResult[] = [];
  let seedMs = 0;
  try {
    const seeding = performance.now();
    const template = await seedTemplate(packages);
    seedMs = performance.now() - seeding;
    for (let run = 1; run <= runs; run++) {
      // Alternate which side goes first, so neither always runs on a warmer machine.
      const sides = values['skip-runbook'] ? ['playbook'] : ['playbook', 'runbook'];
      const order = run % 2 === 1 ? sides : [...sides].reverse();
      for (const side of order) {
        const registry = await startRegistryFromTemplate(template);
        try {
          const before = endStateProblem(await endState(registry, packages), packages);
          if (before === undefined) throw new Error('the registry copy is already contained');
          if (side === 'playbook') {
            playbooks.push(await playbookSide(temporal, client, secretKey, registry, packages, run, options, github));
          } else {
            runbooks.push(await runbook(registry, packages));
          }
          // A fast wrong run is not a result: the registry and the npm CLI must both show the containment.
          const problem = endStateProblem(await endState(registry, packages), packages)
            ?? (await npmCliCheck(npmCli(registry.url, registry.tokens.admin), packages, side === 'playbook' ? new RegExp(`^SECURITY: .*${ADVISORY}`) : /^SECURITY: /));
          if (problem) throw new Error(`${side} run ${run} left the registry wrong: ${problem}`);
        } finally {
          await registry.stop();
        }
      }
      const registry = await startRegistryFromTemplate(template);
      try {
        floors.push(await registryFloor(registry, packages, options));
        const problem = endStateProblem(await endState(registry, packages), packages);
        if (problem) throw new Error(`the registry floor left the registry wrong: ${problem}`);
      } finally {
        await registry.stop();
      }
      console.error(`run ${run}/${runs}: playbook contained ${playbooks.at(-1)!.contained_ms} ms, verified ${playbooks.at(-1)!.verified_ms} ms; npm CLI runbook ${runbooks.at(-1)?.total_ms ?? '(skipped)'} ms; registry floor ${floors.at(-1)!.to_contained_ms} ms to contained, ${floors.at(-1)!.approval_to_verified_ms} ms approval to verified`);
    }
  } finally {
    await connection.close();
    await temporal.stop();
    await github?.prism.stop();
    await github?.standin.close();
  }
  machine.load_average_at_end = load();
  const containedMs = median(playbooks.map((p) => p.contained_ms));
  const verifiedMs = median(playbooks.map((p) => p.verified_ms));
  const runbookMs = runbooks.length > 0 ? median(runbooks.map((r) => r.total_ms)) : NaN;
  const runbookContainedMs = runbooks.length > 0 ? median(runbooks.map((r) => r.contained_ms)) : NaN;
  const ratios = {
    runbook_over_playbook_verified: Number((runbookMs / verifiedMs).toFixed(1)),
    runbook_tags_and_deprecations_over_playbook_contained: Number((runbookContainedMs / containedMs).toFixed(1)),
  };
  const result = {
    compromise: { packages: packages.length, bad_versions: packages.reduce((n, p) => n + p.bad.length, 0), good_versions: packages.reduce((n, p) => n + p.good.length, 0), trusted_publishers: packages.length, staged_publishes: packages.filter((p) => p.staged).length },
    runs,
    worker: 'own process (quarantine worker), warmed by one incident that writes nothing',
    temporal: temporal.started ? `a dev server this bench started (${temporal.address})` : `a server this bench did not start (${temporal.address}, namespace ${temporal.namespace}; its CPU is not sampled)`,
    concurrency: { incident: options.concurrency, per_registry: options.registryConcurrency },
    playbook_contained_median_ms: round(containedMs),
    playbook_verified_median_ms: round(verifiedMs),
    playbook_approval_to_verified_median_ms: round(median(playbooks.map((p) => p.approval_to_verified_ms))),
    ...(github ? { github_alert_to_advisory_draft_median_ms: round(median(playbooks.map((p) => p.github!.alert_to_advisory_draft_ms))), github_alert_to_settled_median_ms: round(median(playbooks.map((p) => p.github!.alert_to_github_settled_ms))) } : {}),
    runbook_median_ms: round(runbookMs),
    runbook_tags_and_deprecations_median_ms: round(runbookContainedMs),
    ratios,
    target: { contained_ms: '<= 5000', runbook_over_playbook: '>= 20', met: containedMs <= 5000 && ratios.runbook_over_playbook_verified >= 20, verified_within_5s: verifiedMs <= 5000 },
    playbook_runs: playbooks,
    runbook_runs: runbooks,
    // The same requests without Temporal (bench/playbook-floor.ts): what the playbook takes beyond them is Temporal's and the worker's.
    registry_floor_runs: floors,
    seed_template_ms: round(seedMs),
    machine,
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
