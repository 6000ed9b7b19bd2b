// The syncProvenance activity against the real registry of the test stack (Verdaccio with the
// attestations plugin, bundles minted with @sigstore/mock and verified offline), through a proxy that
// counts what reaches the registry: versions already recorded are never fetched again, a version
// published since is, the activity heartbeats per version and a retried attempt resumes from its
// heartbeat details; the build query itself reads nothing from the registry.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createProvenanceActivities } from '../activities/provenance';
import { createOfflineVerifier } from '../activities/provenance-verify';
import { createReleaseIndexActivities, type ProvenanceSyncProgress } from '../activities/release-index';
import type { ReleaseIndex } from '../core/release-index';
import { createMintAuthority, FIXTURE_BUILDS, mintReleaseAttestations, putAttestations } from '../stack/provenance-mint';
import type { LocalRegistry } from '../stack/registry';
import { openReleaseIndex } from '../store/sqlite-store';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import { npmCli, testRegistry } from './helpers/stack';

const OUR_PACKAGES = ['@acme/core', '@acme/cli', '@acme/utils', '@acme/solo'];
const ATTESTATIONS = '/-/npm/v1/attestations/';

let registry: LocalRegistry;
let proxy: RegistryProxy;
let work: string;
const indexes: ReleaseIndex[] = [];

beforeAll(async () => {
  registry = await testRegistry();
  // The registry writes attestation URLs for the host it is asked on: the proxy's, so they are fetched through it.
  proxy = await startRegistryProxy(registry.url, { keepHost: true });
  work = mkdtempSync(join(tmpdir(), 'quarantine-provenance-sync-'));
}, 60_000);
afterAll(async () => {
  for (const index of indexes) index.close();
  await proxy?.close();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

function activitiesOn(file: string) {
  const index = openReleaseIndex(join(work, file));
  indexes.push(index);
  const verifier = createOfflineVerifier({
    trustedRoot: JSON.parse(readFileSync(registry.sigstore.trustedRoot, 'utf8')),
    npmKeys: JSON.parse(readFileSync(registry.sigstore.npmKeys, 'utf8')),
  });
  const provenance = createProvenanceActivities({ registry: proxy.url, verifier });
  return { index, activities: createReleaseIndexActivities({ index: () => index, provenance }) };
}

async function sync(activities: ReturnType<typeof activitiesOn>['activities'], names: string[], heartbeatDetails?: ProvenanceSyncProgress) {
  const env = new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails } : {});
  const heartbeats: ProvenanceSyncProgress[] = [];
  env.on('heartbeat', (details: ProvenanceSyncProgress) => heartbeats.push(details));
  proxy.seen.length = 0;
  const result = await env.run(activities.syncProvenance, { names });
  const paths = proxy.seen.map((r) => r.path);
  return { result, heartbeats, attestations: paths.filter((p) => p.startsWith(ATTESTATIONS)).sort(), packuments: paths.filter((p) => !p.startsWith(ATTESTATIONS)).sort() };
}

const statuses = (index: ReleaseIndex, name: string) => Object.fromEntries(index.recordedProvenance(name).map((r) => [r.version, r.status]));

describe('one index, synced again and again', () => {
  let state: ReturnType<typeof activitiesOn>;
  beforeAll(() => {
    state = activitiesOn('main.sqlite');
  });

  it('a first sync records every version, heartbeating per version', async () => {
    const first = await sync(state.activities, OUR_PACKAGES);
    expect(first.result).toEqual({ synced: 11 });
    expect(statuses(state.index, '@acme/utils')).toEqual({ '1.0.0': 'verified', '1.1.0': 'invalid', '1.2.0': 'invalid' });
    expect(statuses(state.index, '@acme/solo')).toEqual({ '1.0.0': 'none' });
    // One packument per package, one attestations document per version that lists one (@acme/solo has none).
    expect(first.packuments).toEqual(['/@acme%2fcli', '/@acme%2fcore', '/@acme%2fsolo', '/@acme%2futils']);
    expect(first.attestations).toHaveLength(10);
    // A heartbeat after every version recorded, saying where the sync is.
    for (let synced = 1; synced <= 11; synced++) expect(first.heartbeats).toContainEqual({ package: expect.any(String), synced });
    expect(first.heartbeats.at(-1)).toEqual({ package: '@acme/utils', synced: 11 });
  });

  it('a second sync fetches no attestations: every version is recorded, only the packuments are read', async () => {
    const second = await sync(state.activities, OUR_PACKAGES);
    expect(second.result).toEqual({ synced: 0 });
    expect(second.attestations).toEqual([]);
    expect(second.packuments).toEqual(['/@acme%2fcli', '/@acme%2fcore', '/@acme%2fsolo', '/@acme%2futils']);
  });

  it('with no names, every package the index knows; a version published since is synced, and only it', async () => {
    const dir = join(work, 'core-1.2.4');
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@acme/core', version: '1.2.4', main: 'index.js', license: 'MIT' }));
    writeFileSync(join(dir, 'index.js'), 'module.exports = 1;\n');
    await npmCli(registry.url, registry.tokens.admin)(['publish', dir, '--tag', 'next']);
    const packument = (await (await fetch(`${registry.url}@acme%2fcore`)).json()) as { versions: Record<string, { dist: { integrity: string } }> };
    // Signed by an authority our trust root does not know: recorded unverified, with its facts.
    const stranger = await createMintAuthority();
    const record = await mintReleaseAttestations(stranger, { name: '@acme/core', version: '1.2.4', integrity: packument.versions['1.2.4']!.dist.integrity }, { build: FIXTURE_BUILDS.release }, registry.url);
    await putAttestations(registry.url, registry.tokens.admin, '@acme/core', '1.2.4', record);

    const third = await sync(state.activities, []);
    expect(third.result).toEqual({ synced: 1 });
    expect(third.attestations).toEqual([`${ATTESTATIONS}@acme%2fcore@1.2.4`]);
    expect(third.packuments).toEqual(['/@acme%2fcli', '/@acme%2fcore', '/@acme%2fsolo', '/@acme%2futils']);
    expect(statuses(state.index, '@acme/core')).toEqual({ '1.2.0': 'verified', '1.2.1': 'verified', '1.2.2': 'verified', '1.2.3': 'verified', '1.2.4': 'unverified' });
  }, 60_000);

  it('the build query answers from the index and reads nothing from the registry', async () => {
    proxy.seen.length = 0;
    const radius = await state.activities.findReleasesBuiltBy({ runIds: [FIXTURE_BUILDS.poisoned.runId] });
    expect(radius.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.3']);
    expect(proxy.seen).toEqual([]);
  });
});

describe('a retried attempt', () => {
  it('resumes at the package its heartbeat details name, counting what the earlier attempt synced', async () => {
    const { index, activities } = activitiesOn('resumed.sqlite');
    const resumed = await sync(activities, OUR_PACKAGES, { package: '@acme/solo', synced: 7 });
    // Packages sort as @acme/cli, @acme/core, @acme/solo, @acme/utils: the first two were done.
    expect(resumed.packuments).toEqual(['/@acme%2fsolo', '/@acme%2futils']);
    expect(resumed.result).toEqual({ synced: 7 + 1 + 3 });
    expect(index.releases().map((r) => r.name)).toEqual(['@acme/solo', '@acme/utils', '@acme/utils', '@acme/utils']);
  });

  it('skips a package the registry does not have, and refuses a name that is not one', async () => {
    const { activities } = activitiesOn('missing.sqlite');
    const synced = await sync(activities, ['@acme/nope', '@acme/solo']);
    expect(synced.result).toEqual({ synced: 1 });
    const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    await expect(new MockActivityEnvironment({}, { logger: quiet }).run(activities.syncProvenance, { names: ['../../-/whoami'] })).rejects.toMatchObject({
      type: 'InvalidPackageName',
      nonRetryable: true,
    });
  });
});
