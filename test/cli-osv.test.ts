// `quarantine --osv <file|folder>` end to end: OSV records as a user hands them over, the CLI as a user
// runs it, a real Temporal dev server and Verdaccio, and the npm CLI as the judge of what the registry
// serves afterwards. Only our packages' exact releases are contained; an over-broad range is shown and
// held; a package not ours is listed and left alone; bad input starts nothing.
import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { parseOsvAlerts } from '../core/alerts/osv';
import { advisoriesCompromiseId, advisoryCompromiseId } from '../core/incident-id';
import { routeAlert } from '../core/intake';
import type { CompromiseReport } from '../core/playbook/plan';
import { DEFAULT_POLICY } from '../core/playbook/policy';
import { osvContainment, type OsvContainment, type Published } from '../core/osv-report';
import type { PlaybookView } from '../core/playbook/view';
import { normalizeRegistryUrl } from '../core/registry-url';
import type { LocalRegistry } from '../stack/registry';
import { compromiseReportsSignal, playbookQuery } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import { jsonOf, npmCli, npmView, pollUntil, runCli, startInProcessWorker, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

type OsvJson = PlaybookView & { new: boolean; contained: boolean; osv: OsvContainment };

// @acme/solo is on the registry but not ours: what the command must leave alone.
const OWNED = '@acme/core,@acme/cli,@acme/utils';

const osvRecord = (id: string, affected: unknown[], more: Record<string, unknown> = {}) => ({
  schema_version: '1.7.4',
  id,
  modified: '2026-05-01T10:00:00Z',
  summary: `Malicious code in ${id}`,
  affected,
  ...more,
});
const npmPackage = (name: string, versions: string[], ...ranges: Record<string, string>[][]) => ({
  package: { ecosystem: 'npm', name },
  ...(versions.length > 0 ? { versions } : {}),
  ...(ranges.length > 0 ? { ranges: ranges.map((events) => ({ type: 'SEMVER', events })) } : {}),
});

function writeRecords(records: Record<string, unknown>): string {
  const folder = mkdtempSync(join(tmpdir(), 'quarantine-osv-'));
  for (const [file, body] of Object.entries(records)) writeFileSync(join(folder, file), typeof body === 'string' ? body : JSON.stringify(body));
  return folder;
}

describe('what --osv takes from records (no stack)', () => {
  const alertsOf = (...records: Record<string, unknown>[]) => (parseOsvAlerts(records) as { alerts: Parameters<typeof routeAlert>[0][] }).alerts;
  const owned = ['@acme/*'];
  const published = new Map<string, Published>([['@acme/core', ['1.0.0', '1.1.0', '1.2.0', '2.0.0']]]);

  it('resolves a bounded range to the published versions in it, and holds one that takes them all or cannot be read', () => {
    const containment = osvContainment(
      alertsOf(
        osvRecord('MAL-2026-6001', [npmPackage('@acme/core', [], [{ introduced: '1.1.0' }, { limit: '2.0.0' }], [{ introduced: '0.1.0' }, { last_affected: '2.0.0' }])]),
        osvRecord('MAL-2026-6002', [npmPackage('@acme/gone', [], [{ introduced: '1.0.0' }, { fixed: '1.0.1' }])]),
      ),
      owned,
      new Map([...published, ['@acme/gone', { error: 'read @acme/gone: 404 Not Found' }]]),
    );
    expect(containment.releases).toEqual([{ name: '@acme/core', versions: ['1.1.0', '1.2.0'] }]);
    expect(containment.containing).toEqual(['MAL-2026-6001']);
    expect(containment.overBroad.map((r) => `${r.name} ${r.range} ${r.reason}`)).toEqual([
      '@acme/core OSV range {introduced: "0.1.0"} {last_affected: "2.0.0"} resolves to every published version (all 4 published versions are affected)',
      '@acme/gone OSV range {introduced: "1.0.0"} {fixed: "1.0.1"} could not be resolved to releases: read @acme/gone: 404 Not Found',
    ]);
  });

  it('names one incident for a folder of records in any order, and a record alone as the intake does', () => {
    const registry = 'http://127.0.0.1:4873/';
    const both = advisoriesCompromiseId(registry, 'osv', ['MAL-2026-6002', 'MAL-2026-6001']);
    expect(both).toBe(advisoriesCompromiseId(registry, 'osv', ['MAL-2026-6001', 'MAL-2026-6002', 'MAL-2026-6001']));
    expect(both).toMatch(/^compromise-MAL-2026-6001-and-1-more-[0-9a-f]{12}$/);
    expect(advisoriesCompromiseId(registry, 'osv', ['MAL-2026-6001'], true)).toBe(`${advisoryCompromiseId(registry, 'osv', 'MAL-2026-6001')}-plan`);
    // A scanner's free-text id is hashed, never put in the id as it is.
    expect(advisoryCompromiseId(registry, 'osv', 'PYSEC-../../x')).toMatch(/^compromise-osv-[0-9a-f]{8}-[0-9a-f]{8}$/);
  });
});

describe('quarantine --osv on the real stack', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let worker: RunningWorker;
  let temporal: { client: Client; close(): Promise<void> };
  const taskQueue = uniqueTaskQueue('osv');
  const osv = (path: string, more: string[] = [], env: Record<string, string | undefined> = {}) =>
    runCli(['--osv', path, '--registry', proxy.url, ...more], { QUARANTINE_TASK_QUEUE: taskQueue, QUARANTINE_OWNED_PACKAGES: OWNED, ...env });

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
    worker = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue });
    temporal = await testClient();
  });
  afterAll(async () => {
    await worker?.stop();
    await temporal?.close();
    await proxy?.close();
    await registry?.stop();
  });

  // Two packages of ours named exactly (one also by a bounded range), one range of ours that names every
  // version, and a package that is not ours.
  const compromise = osvRecord(
    'MAL-2026-4242',
    [
      npmPackage('@acme/core', ['1.2.3'], [{ introduced: '1.2.1' }, { fixed: '1.2.2' }]),
      npmPackage('@acme/cli', ['2.0.1']),
      npmPackage('@acme/utils', [], [{ introduced: '0' }]),
      npmPackage('@acme/solo', ['1.0.0']),
    ],
    { aliases: ['GHSA-4242-4242-4242'] },
  );

  it('plans the exact releases of ours with --plan, shows the held range and the package not ours, and writes nothing', async () => {
    const file = join(writeRecords({ 'MAL-2026-4242.json': compromise }), 'MAL-2026-4242.json');
    const writesBefore = proxy.writes().length;
    const before = await npmView(npmCli(registry.url), '@acme/core', ['1.2.1', '1.2.3']);
    const plan = await osv(file, ['--plan']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('contain   @acme/cli@2.0.1\ncontain   @acme/core@1.2.1,1.2.3');
    expect(plan.stdout).toContain('  range   @acme/core OSV range {introduced: "1.2.1"} {fixed: "1.2.2"} (MAL-2026-4242): 1.2.1');
    expect(plan.stdout).toContain('HELD      @acme/utils OSV range {introduced: "0"} (MAL-2026-4242) matches every version: a person decides');
    expect(plan.stdout).toContain('not ours  @acme/solo@1.0.0 (MAL-2026-4242): left to the blast radius');
    expect(plan.stdout).toMatch(/status +planned/);
    expect(plan.stdout).toMatch(/auto +deprecate:@acme\/core/);
    expect(plan.stdout).toMatch(/HELD +@acme\/utils: OSV range \{introduced: "0"\} in MAL-2026-4242 matches every version/);
    expect(plan.stdout).not.toContain('deprecate:@acme/utils');
    expect(plan.stdout).not.toContain('deprecate:@acme/solo');
    expect(proxy.writes()).toHaveLength(writesBefore);
    expect(await npmView(npmCli(registry.url), '@acme/core', ['1.2.1', '1.2.3'])).toEqual(before);
  });

  it('contains the exact releases of ours at once, holds the over-broad range, leaves the package not ours alone, and exits 0', async () => {
    const folder = writeRecords({ 'MAL-2026-4242.json': compromise, 'README.md': 'not a record' });
    const npm = npmCli(registry.url);
    const [utilsBefore, soloBefore] = await Promise.all([npmView(npm, '@acme/utils', ['1.2.0']), npmView(npm, '@acme/solo', ['1.0.0'])]);
    const result = await osv(folder, ['--json']);
    expect(result.code).toBe(0);
    const view = jsonOf<OsvJson>(result);
    // The intake names its incident for the same advisory so: both meet in it.
    const [alert] = (parseOsvAlerts(compromise) as { alerts: Parameters<typeof routeAlert>[0][] }).alerts;
    const intake = routeAlert(alert!, { owned: OWNED.split(','), registry: normalizeRegistryUrl(proxy.url), deliveryId: 'd', receivedAt: new Date().toISOString() });
    expect(view.incident).toBe(intake.find((route) => route.workflow === 'playbookWorkflow')!.incident);
    expect(view.incident).toMatch(/^compromise-MAL-2026-4242-[0-9a-f]{8}$/);
    expect(view.status).toBe('contained');
    expect(view.contained).toBe(true);
    expect(view.compromise.releases).toEqual([
      { name: '@acme/cli', versions: ['2.0.1'] },
      { name: '@acme/core', versions: ['1.2.1', '1.2.3'] },
    ]);
    expect(view.holds.map((h) => h.reason)).toEqual([expect.stringMatching(/^@acme\/utils: OSV range \{introduced: "0"\} in MAL-2026-4242 matches every version; a person decides/)]);
    expect(view.osv.notOurs).toEqual([{ name: '@acme/solo', records: ['MAL-2026-4242'], versions: ['1.0.0'], ranges: [] }]);
    expect(view.actions.filter((a) => a.status === 'done').map((a) => a.action.id).sort()).toEqual([
      'deprecate:@acme/cli',
      'deprecate:@acme/core',
      'dist-tag:@acme/cli:latest',
      'dist-tag:@acme/core:latest',
    ]);

    const [core, cli, utils, solo] = await Promise.all([
      npmView(npm, '@acme/core', ['1.2.0', '1.2.1', '1.2.2', '1.2.3']),
      npmView(npm, '@acme/cli', ['2.0.1']),
      npmView(npm, '@acme/utils', ['1.2.0']),
      npmView(npm, '@acme/solo', ['1.0.0']),
    ]);
    expect(core.deprecated['1.2.1']).toMatch(/^SECURITY: this release is compromised.*MAL-2026-4242/);
    expect(core.deprecated['1.2.3']).toMatch(/^SECURITY: this release is compromised.*MAL-2026-4242/);
    expect(core.deprecated['1.2.0']).toBeUndefined();
    expect(core.deprecated['1.2.2']).toBeUndefined();
    expect(core.distTags.latest).toBe('1.2.2');
    expect(cli.deprecated['2.0.1']).toMatch(/^SECURITY/);
    expect(cli.distTags.latest).toBe('2.0.0');
    // Held, and not ours: the registry serves them as before.
    expect(utils).toEqual(utilsBefore);
    expect(solo).toEqual(soloBefore);
    expect(solo.deprecated['1.0.0']).toBeUndefined();
    expect(proxy.writes().filter((w) => w.path.includes('utils') || w.path.includes('solo'))).toEqual([]);
  });

  it("joins the incident the intake opened for the same advisory, adding its releases and the hold of an open range", async () => {
    // The intake's alert for MAL-2026-4343 came first and contained what it named.
    const first = osvRecord('MAL-2026-4343', [npmPackage('@acme/cli', ['2.1.0-beta.0'])]);
    const [alert] = (parseOsvAlerts(first) as { alerts: Parameters<typeof routeAlert>[0][] }).alerts;
    const route = routeAlert(alert!, { owned: OWNED.split(','), registry: normalizeRegistryUrl(proxy.url), deliveryId: 'intake-1', receivedAt: new Date().toISOString() }).find(
      (r) => r.workflow === 'playbookWorkflow',
    );
    if (route?.workflow !== 'playbookWorkflow') throw new Error('the intake opens no playbook incident for it');
    const handle = await temporal.client.workflow.signalWithStart<typeof playbookWorkflow, [CompromiseReport[]]>('playbookWorkflow', {
      workflowId: route.incident,
      taskQueue,
      args: [{ ...route.request, policy: DEFAULT_POLICY }],
      signal: compromiseReportsSignal,
      signalArgs: [[route.compromise]],
    });
    const opened = await pollUntil(() => handle.query(playbookQuery), (v) => ['contained', 'verified', 'failed'].includes(v.status));
    expect(opened.status).toBe('contained');

    // A later revision of the record: one more release of ours, and a range of ours with no end.
    const revised = osvRecord('MAL-2026-4343', [npmPackage('@acme/cli', ['2.1.0-beta.0']), npmPackage('@acme/utils', ['1.2.0']), npmPackage('@acme/core', [], [{ introduced: '1.2.0' }])], {
      modified: '2026-05-02T10:00:00Z',
    });
    const result = await osv(join(writeRecords({ 'revised.json': revised }), 'revised.json'), ['--json']);
    expect(result.code).toBe(0);
    const view = jsonOf<OsvJson>(result);
    expect(view.incident).toBe(route.incident);
    expect(view.new).toBe(false);
    expect(view.status).toBe('contained');
    expect(view.compromise.releases).toEqual([
      { name: '@acme/cli', versions: ['2.1.0-beta.0'] },
      { name: '@acme/utils', versions: ['1.2.0'] },
    ]);
    expect(view.holds.map((h) => h.reason)).toEqual([expect.stringMatching(/^@acme\/core: OSV range \{introduced: "1.2.0"\} in MAL-2026-4343 has no end/)]);
    const npm = npmCli(registry.url);
    const utils = await npmView(npm, '@acme/utils', ['1.2.0']);
    expect(utils.deprecated['1.2.0']).toMatch(/^SECURITY/);
    // 1.1.0 is deprecated by its maintainers: latest goes past it.
    expect(utils.distTags).toEqual({ latest: '1.0.0' });
    expect((await npmView(npm, '@acme/cli', ['2.1.0-beta.0'])).distTags).toEqual({ latest: '2.0.0' });
    // The open range of @acme/core held: 1.2.0, in it and deprecated by nothing else, is left as it was.
    expect((await npmView(npm, '@acme/core', ['1.2.0'])).deprecated['1.2.0']).toBeUndefined();
  });

  it('starts nothing when one record of a folder is bad, or the owned packages are not set, and the registry stays as it was', async () => {
    const good = osvRecord('MAL-2026-4444', [npmPackage('@acme/utils', ['1.0.0'])]);
    const bad = osvRecord('MAL-2026-4445', [npmPackage('@acme/core', ['1.2.0', 'latest'])]);
    const folder = writeRecords({ 'a.json': good, 'b.json': bad });
    const npm = npmCli(registry.url);
    const before = await npmView(npm, '@acme/utils', ['1.0.0']);
    const beforeCore = await npmView(npm, '@acme/core', ['1.2.0']);
    const writesBefore = proxy.writes().length;

    const refused = await osv(folder);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringMatching(/b\.json: not a valid OSV record: affected\.0\.versions\.1: "latest" is not an exact semver version$/)]);
    const unowned = await osv(join(folder, 'a.json'), [], { QUARANTINE_OWNED_PACKAGES: undefined });
    expect(unowned.code).toBe(2);
    expect(unowned.stderr).toMatch(/QUARANTINE_OWNED_PACKAGES is not set/);

    expect(proxy.writes()).toHaveLength(writesBefore);
    expect(await npmView(npm, '@acme/utils', ['1.0.0'])).toEqual(before);
    expect(await npmView(npm, '@acme/core', ['1.2.0'])).toEqual(beforeCore);
    // Neither the good record's incident nor the folder's was started.
    const registryUrl = normalizeRegistryUrl(proxy.url);
    for (const incident of [advisoryCompromiseId(registryUrl, 'osv', 'MAL-2026-4444'), advisoriesCompromiseId(registryUrl, 'osv', ['MAL-2026-4444', 'MAL-2026-4445'])]) {
      await expect(temporal.client.workflow.getHandle(incident).describe()).rejects.toMatchObject({ name: 'WorkflowNotFoundError' });
    }
  });
});

describe('quarantine --osv refuses bad input before anything connects', () => {
  // Nothing listens here: a command that reached Temporal would exit 5, not 2.
  const nowhere = { TEMPORAL_ADDRESS: '127.0.0.1:1', QUARANTINE_OWNED_PACKAGES: OWNED };
  const record = osvRecord('MAL-2026-5000', [npmPackage('@acme/core', ['1.2.3'])]);
  const folder = writeRecords({
    'record.json': record,
    'broken.json': '{"id": "MAL-2026-5001",',
    'invalid.json': osvRecord('MAL-2026-5002', [{ package: { ecosystem: 'npm', name: '../../etc/passwd' }, versions: ['1.0.0'] }]),
    'pypi.json': osvRecord('MAL-2026-5003', [{ package: { ecosystem: 'PyPI', name: 'requests' }, versions: ['1.0.0'] }]),
  });
  mkdirSync(join(folder, 'empty'));
  writeFileSync(join(folder, 'empty', 'notes.txt'), 'no records');
  const huge = join(folder, 'huge.json');
  writeFileSync(huge, '');
  truncateSync(huge, 5 * 1024 * 1024 + 1);
  const escaping = join(folder, 'escaping');
  mkdirSync(escaping);
  writeFileSync(join(escaping, 'evil\u001b]0;owned\u0007.json'), '{');

  it.each([
    ['a release beside --osv', ['--osv', join(folder, 'record.json'), '@acme/core@1.2.3'], {}, /--osv takes the releases from the records/],
    ['a missing file', ['--osv', join(folder, 'nope.json')], {}, /nope\.json: no such file or folder/],
    ['invalid JSON', ['--osv', join(folder, 'broken.json')], {}, /broken\.json: not JSON/],
    ['a record failing validation', ['--osv', join(folder, 'invalid.json')], {}, /invalid\.json: not a valid OSV record: affected\.0\.package\.name: .* is not a valid npm package name/],
    ['a file over 5 MB', ['--osv', huge], {}, /huge\.json: larger than 5242880 bytes/],
    ['a folder with no records', ['--osv', join(folder, 'empty')], {}, /empty: no OSV records \(\*\.json\) in this folder/],
    ['records of no npm package', ['--osv', join(folder, 'pypi.json')], {}, /pypi\.json: no OSV record here names an npm package/],
    ['owned packages that match nothing', ['--osv', join(folder, 'record.json')], { QUARANTINE_OWNED_PACKAGES: '@acme' }, /"@acme" names a scope without packages/],
  ] as const)('refuses %s with one line and exit 2', async (_label, args, env, reason) => {
    const result = await runCli([...args], { ...nowhere, ...env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(reason);
  });

  it('escapes what the records and their file names hold instead of printing it', async () => {
    const result = await runCli(['--osv', escaping], nowhere);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('\u001b');
    expect(result.stderr).not.toContain('\u0007');
    expect(result.stderr).toContain('evil\\u001b]0;owned\\u0007.json: not JSON');
  });

  it.each([
    ['a withdrawn record', osvRecord('MAL-2026-5004', [npmPackage('@acme/core', ['1.2.3'])], { withdrawn: '2026-05-03T00:00:00Z' }), 0, /OSV MAL-2026-5004 \(malware, WITHDRAWN: not contained\)/],
    ['only packages not ours', osvRecord('MAL-2026-5005', [npmPackage('left-pad', ['1.3.0'])]), 0, /not ours {2}left-pad@1\.3\.0 \(MAL-2026-5005\): left to the blast radius/],
    ['only an over-broad range of ours', osvRecord('MAL-2026-5006', [npmPackage('@acme/core', [], [{ introduced: '0' }])]), 1, /HELD +@acme\/core OSV range \{introduced: "0"\}/],
  ])('starts no incident for %s, and says so', async (_label, body, code, shown) => {
    const result = await runCli(['--osv', join(writeRecords({ 'r.json': body }), 'r.json')], nowhere);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(code);
    expect(result.stdout).toMatch(shown);
    expect(result.stdout).toContain('nothing to contain: the records name no exact release of ours');
  });
});
