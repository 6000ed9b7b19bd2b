// The CLI's own edges: which incident an argument names (every id kind the intake makes), which
// commands load Temporal's client, which files `affected --osv` reads, and which registries the
// worker sends its token to.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NormalizedAlert } from '../core/alert';
import { compromiseId, incidentId } from '../core/incident-id';
import { routeAlert, type RoutingContext } from '../core/intake';
import { INCIDENT_ID_PREFIXES, incidentIdFromArgument, incidentIdsFromArgument } from '../cli/timeline';
import { ALLOW_HTTP_TOKEN, cleartextTokenWarning, workerConfigFromEnv } from '../worker/config';
import { watchQuery } from '../workflows/watch-incident';
import { pollUntil, runCli, startInProcessWorker, testClient, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const REGISTRY = 'https://registry.npmjs.org/';
const context: RoutingContext = { owned: ['@acme/*'], registry: REGISTRY, deliveryId: 'delivery-1', receivedAt: '2026-12-01T00:00:00.000Z' };

function alert(over: Partial<NormalizedAlert>): NormalizedAlert {
  return { source: 'generic', sourceId: 'inhouse-1', kind: 'malware', severity: 'critical', title: 'a stealer', packages: [], aliases: [], evidence: [], withdrawn: false, ...over };
}
const pkg = (name: string, versions: string[], ranges: string[] = []) => ({ name, versions, ranges, osvRanges: [] });

/** One alert per kind of incident the intake opens; the ids come from the intake's own routing. */
const ROUTED: [string, NormalizedAlert][] = [
  ['containment', alert({ packages: [pkg('@acme/core', ['1.2.3'])] })],
  ['containment of many versions', alert({ packages: [pkg('@acme/core', Array.from({ length: 40 }, (_, i) => `1.${i}.0`))] })],
  ['review', alert({ packages: [pkg('@acme/core', [], ['>=1.0.0 <1.2.4'])] })],
  ['review of long ranges', alert({ packages: [pkg('@acme/core', [], Array.from({ length: 12 }, (_, i) => `>=${i}.0.0 <${i}.5.0`))] })],
  ['dependency', alert({ packages: [pkg('left-pad', ['1.3.0'])] })],
  ['withdrawn', alert({ withdrawn: true, packages: [pkg('left-pad', ['1.3.0'])] })],
  ['compromised-build', alert({ kind: 'compromised-build', build: { runIds: ['6666'] } })],
  ['leaked token', alert({ kind: 'leaked-token', leakedToken: { secretType: 'npm_access_token', repository: 'acme/core' } })],
];

describe('quarantine timeline|close <incident>', () => {
  it.each(ROUTED)('takes the id of a %s incident as it is', (_kind, routed) => {
    const ids = routeAlert(routed, context).map((route) => route.incident);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(incidentIdFromArgument(id, REGISTRY)).toBe(id);
  });

  it('covers every kind of id the intake makes', () => {
    const ids = ROUTED.flatMap(([, routed]) => routeAlert(routed, context).map((route) => route.incident));
    // `incident-` ids are no longer made (containments are playbook incidents now) but still taken.
    for (const prefix of INCIDENT_ID_PREFIXES.filter((p) => p !== 'incident')) expect({ prefix, used: ids.some((id) => id.startsWith(`${prefix}-`)) }).toEqual({ prefix, used: true });
    for (const id of ids) expect({ id, known: INCIDENT_ID_PREFIXES.some((prefix) => id.startsWith(`${prefix}-`)) }).toEqual({ id, known: true });
  });

  it('takes a release for the containment incident of that release, whatever its name starts with', () => {
    expect(incidentIdFromArgument('@acme/core@1.2.3', REGISTRY)).toBe(incidentId(REGISTRY, '@acme/core', ['1.2.3']));
    // The on-call command's playbook incident first, then the containment of the type before it.
    expect(incidentIdsFromArgument('@acme/core@1.2.3', REGISTRY)).toEqual([compromiseId(REGISTRY, [{ name: '@acme/core', versions: ['1.2.3'] }]), incidentId(REGISTRY, '@acme/core', ['1.2.3'])]);
    expect(incidentIdsFromArgument(incidentId(REGISTRY, '@acme/core', ['1.2.3']), REGISTRY)).toEqual([incidentId(REGISTRY, '@acme/core', ['1.2.3'])]);
    // A real package whose name starts like a dependency incident's id is still a release.
    expect(incidentIdFromArgument('dependency-cruiser@16.3.0', REGISTRY)).toBe(incidentId(REGISTRY, 'dependency-cruiser', ['16.3.0']));
    expect(incidentIdFromArgument('token-types@6.0.0', REGISTRY)).toBe(incidentId(REGISTRY, 'token-types', ['6.0.0']));
  });

  it('refuses what is neither, saying both forms', () => {
    expect(() => incidentIdFromArgument('compromised', REGISTRY)).toThrow(/names no version.*or give an incident id \(incident-…, review-…, dependency-…, compromised-build-…, token-…, withdrawn-…, compromise-…\)/);
    expect(() => incidentIdFromArgument('token-\u001b[2Jabcd1234', REGISTRY)).toThrow(/is not an incident id/);
    expect(() => incidentIdFromArgument(`token-${'a'.repeat(1200)}`, REGISTRY)).toThrow(/is not an incident id/);
  });

  describe('on a compromised-build incident waiting for a person', () => {
    const taskQueue = uniqueTaskQueue('build-id');
    let worker: RunningWorker;
    let stack: Awaited<ReturnType<typeof testClient>>;
    let incident: string;

    beforeAll(async () => {
      worker = await startInProcessWorker({ registry: process.env.QUARANTINE_TEST_REGISTRY_URL!, taskQueue });
      stack = await testClient();
      const [route] = routeAlert(alert({ kind: 'compromised-build', sourceId: `inhouse-${taskQueue}`, build: { runIds: [String(Date.now())] } }), {
        ...context,
        registry: process.env.QUARANTINE_TEST_REGISTRY_URL!,
      });
      if (route?.workflow !== 'watchIncidentWorkflow') throw new Error('expected a watch incident');
      incident = route.incident;
      await stack.client.workflow.start('watchIncidentWorkflow', { taskQueue, workflowId: incident, args: [route.request] });
    });
    afterAll(async () => {
      await stack?.close();
      await worker?.stop();
    });

    it('prints its timeline and closes it from the CLI', async () => {
      expect(incident).toMatch(/^compromised-build-[0-9a-f]{8}$/);
      const timeline = await runCli(['timeline', incident]);
      expect({ code: timeline.code, stderr: timeline.stderr }).toEqual({ code: 0, stderr: '' });
      expect(timeline.stdout).toContain(`incident ${incident}`);
      expect(timeline.stdout).toMatch(/kind\s+compromised-build/);

      const closed = await runCli(['close', incident, '--reason', 'the run was a rehearsal']);
      expect({ code: closed.code, stdout: closed.stdout, stderr: closed.stderr }).toEqual({ code: 0, stdout: `closed ${incident}\n`, stderr: '' });
      const view = await pollUntil(() => stack.client.workflow.getHandle(incident).query(watchQuery), (v) => v.status === 'closed');
      expect(view).toMatchObject({ status: 'closed', closeReason: 'the run was a rehearsal' });
    });
  });
});

describe('commands that need no Temporal', () => {
  let scratch: string;
  let hook: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'quarantine-cli-commands-'));
    hook = join(scratch, 'loaded-modules.js');
    // Prints, at exit, the Temporal and gRPC packages the process loaded.
    writeFileSync(hook, [
      "process.on('exit', () => {",
      "  const loaded = Object.keys(require.cache).map((file) => /node_modules\\/(@temporalio\\/[^/]+|@grpc\\/[^/]+)\\//.exec(file)?.[1]).filter(Boolean);",
      "  process.stderr.write(`LOADED ${JSON.stringify([...new Set(loaded)].sort())}\\n`);",
      '});',
    ].join('\n'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  const loadedBy = async (args: string[]): Promise<string[]> => {
    const result = await runCli(args, { QUARANTINE_DATA_DIR: scratch, NODE_OPTIONS: `--require ${hook}`, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const line = /^LOADED (.*)$/m.exec(result.stderr);
    if (!line) throw new Error(`no module list from quarantine ${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(line[1]!) as string[];
  };
  const CLIENT = ['@grpc/grpc-js', '@temporalio/client', '@temporalio/core-bridge', '@temporalio/envconfig', '@temporalio/worker'];

  it.each([
    ['affected', ['affected', 'left-pad@1.3.0']],
    ['affected --osv', ['affected', '--osv', join(__dirname, 'fixtures', 'osv', 'no-such-file.json')]],
    ['sbom', ['sbom', 'ingest', join(__dirname, 'no-such-sbom.json')]],
    ['provenance', ['provenance', 'sync']],
  ])('%s loads none of the Temporal client', async (_label, args) => {
    const loaded = await loadedBy(args);
    expect(loaded.filter((name) => CLIENT.includes(name))).toEqual([]);
  });

  it('(the probe sees the client where a command does load it)', async () => {
    expect(await loadedBy(['timeline', 'token-0123abcd'])).toEqual(expect.arrayContaining(['@grpc/grpc-js', '@temporalio/client']));
  }, 30_000);
});

describe('quarantine affected --osv FILE', () => {
  it('refuses a FIFO (or any file that is not a regular one) instead of blocking on it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-osv-fifo-'));
    try {
      const fifo = join(dir, 'advisory.json');
      execFileSync('mkfifo', [fifo]);
      const started = Date.now();
      const result = await Promise.race([
        runCli(['affected', '--osv', fifo], { QUARANTINE_DATA_DIR: dir }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('quarantine affected --osv blocked on a FIFO')), 20_000)),
      ]);
      expect({ code: result.code, error: result.stderr.split('\n')[0] }).toEqual({ code: 2, error: `quarantine affected: ${fifo}: not a regular file` });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect((await runCli(['affected', '--osv', '/dev/zero'], { QUARANTINE_DATA_DIR: dir })).stderr.split('\n')[0]).toBe('quarantine affected: /dev/zero: not a regular file');
    } finally {
      // A reader still blocked on the FIFO (the old behaviour) gets its end of file and exits.
      try {
        closeSync(openSync(join(dir, 'advisory.json'), constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // No reader is waiting: nothing to release.
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('the worker and a plain-http registry (the token would travel in cleartext)', () => {
  const token = 'npm_0123456789abcdefghijklmnopqrstuvwxyz';

  it('refuses a remote http:// registry with NPM_TOKEN, before connecting anywhere', async () => {
    expect(() => workerConfigFromEnv({ QUARANTINE_REGISTRY: 'http://registry.internal.example/', NPM_TOKEN: token })).toThrow(
      `NPM_TOKEN would travel in cleartext to registry.internal.example (QUARANTINE_REGISTRY is http://): use the registry's https:// URL, or set ${ALLOW_HTTP_TOKEN}=1 if the network to it is trusted`,
    );
    const result = await runCli(['worker'], { QUARANTINE_REGISTRY: 'http://10.0.0.8:4873/', NPM_TOKEN: token, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^quarantine worker: NPM_TOKEN would travel in cleartext to 10\.0\.0\.8:4873/)]);
    expect(result.stderr).not.toContain(token);
  });

  it('allows loopback registries (the local Verdaccio), https, no token, and an explicit opt-in with a warning', () => {
    for (const registry of ['http://127.0.0.1:4873/', 'http://localhost:4873/', 'http://[::1]:4873/', 'https://registry.internal.example/']) {
      expect(workerConfigFromEnv({ QUARANTINE_REGISTRY: registry, NPM_TOKEN: token }).credentials.tokenFor(registry)).toBe(token);
    }
    expect(workerConfigFromEnv({ QUARANTINE_REGISTRY: 'http://registry.internal.example/' }).credentials.tokenFor('http://registry.internal.example/')).toBeUndefined();
    const env = { QUARANTINE_REGISTRY: 'http://registry.internal.example/', NPM_TOKEN: token, [ALLOW_HTTP_TOKEN]: '1' };
    expect(workerConfigFromEnv(env).credentials.tokenFor('http://registry.internal.example/')).toBe(token);
    expect(cleartextTokenWarning('http://registry.internal.example/', token, env)).toBe(
      `WARNING: NPM_TOKEN would travel in cleartext to registry.internal.example (QUARANTINE_REGISTRY is http://); allowed by ${ALLOW_HTTP_TOKEN}=1`,
    );
    // A look-alike of loopback is not loopback.
    expect(() => workerConfigFromEnv({ QUARANTINE_REGISTRY: 'http://127.0.0.1.attacker.example/', NPM_TOKEN: token })).toThrow(/cleartext/);
  });
});
