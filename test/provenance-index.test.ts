// Provenance for the blast-radius index, against the real Verdaccio of the test stack: its
// attestations plugin (judged with the npm CLI), bundles minted with @sigstore/mock and verified with
// @sigstore/verify, and the indexer activity's record for every seeded release.
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createProvenanceActivities } from '../activities/provenance';
import { createOfflineVerifier, type OfflineVerifier } from '../activities/provenance-verify';
import { PUBLISH_PREDICATE, SLSA_V1_PREDICATE } from '../core/provenance';
import type { ReleaseProvenance } from '../core/release-index';
import {
  createMintAuthority,
  FIXTURE_BUILDER,
  FIXTURE_BUILDS,
  mintReleaseAttestations,
  putAttestations,
  type FixtureBuild,
} from '../stack/provenance-mint';
import type { LocalRegistry } from '../stack/registry';
import { workerConfigFromEnv } from '../worker/config';
import { npmCli, testRegistry } from './helpers/stack';

type Packument = { versions: Record<string, { dist: Record<string, unknown> }>; time: Record<string, string> };

async function getJson(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.json() };
}

function trustOf(registry: LocalRegistry): OfflineVerifier {
  return createOfflineVerifier({
    trustedRoot: JSON.parse(readFileSync(registry.sigstore.trustedRoot, 'utf8')),
    npmKeys: JSON.parse(readFileSync(registry.sigstore.npmKeys, 'utf8')),
  });
}

const facts = (build: FixtureBuild) => ({
  status: 'verified',
  repository: build.repository,
  workflowPath: build.workflowPath,
  ref: build.ref,
  commit: build.commit,
  runId: build.runId,
  runAttempt: build.runAttempt,
  builderId: FIXTURE_BUILDER,
  predicateType: SLSA_V1_PREDICATE,
});

describe('the seeded registry (read only)', () => {
  let registry: LocalRegistry;
  let packuments: Record<string, Packument>;
  const published = (name: string, version: string) => packuments[name]!.time[version]!;
  const release = (name: string, version: string) => ({ release: { name, version }, publishedAt: published(name, version) });
  const attestationsUrl = (spec: string) => `${registry.url}-/npm/v1/attestations/${spec}`;

  beforeAll(async () => {
    registry = await testRegistry();
    packuments = {};
    for (const name of ['@acme/core', '@acme/cli', '@acme/utils', '@acme/solo']) {
      packuments[name] = (await getJson(`${registry.url}${name.replace('/', '%2f')}`)).body as Packument;
    }
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('answers GET /-/npm/v1/attestations/<name>@<version> like registry.npmjs.org, escaped or not, 404 when there are none', async () => {
    const escaped = await getJson(attestationsUrl('@acme%2fcore@1.2.3'));
    expect(escaped.status).toBe(200);
    const body = escaped.body as { attestations: { predicateType: string; bundle: { mediaType: string } }[] };
    expect(Object.keys(body)).toEqual(['attestations']);
    expect(body.attestations.map((a) => [a.predicateType, a.bundle.mediaType])).toEqual([
      [PUBLISH_PREDICATE, 'application/vnd.dev.sigstore.bundle.v0.3+json'],
      [SLSA_V1_PREDICATE, 'application/vnd.dev.sigstore.bundle.v0.3+json'],
    ]);
    expect((await getJson(attestationsUrl('@acme/core@1.2.3'))).body).toEqual(body);
    expect(await getJson(attestationsUrl('@acme%2fsolo@1.0.0'))).toEqual({ status: 404, body: { error: 'Not Found' } });
    expect((await getJson(attestationsUrl('@acme%2fcore@9.9.9'))).status).toBe(404);
  });

  it('puts dist.attestations into full and abbreviated packuments, as npmjs does; the npm CLI reads them', async () => {
    const expected = { url: attestationsUrl('@acme%2fcore@1.2.3'), provenance: { predicateType: SLSA_V1_PREDICATE } };
    expect(packuments['@acme/core']!.versions['1.2.3']!.dist.attestations).toEqual(expected);
    const corgi = (await getJson(`${registry.url}@acme%2fcore`, { accept: 'application/vnd.npm.install-v1+json' })).body as Packument;
    expect(corgi.versions['1.2.3']!.dist.attestations).toEqual(expected);
    expect(packuments['@acme/solo']!.versions['1.0.0']!.dist).not.toHaveProperty('attestations');

    const npm = npmCli(registry.url);
    expect(JSON.parse(await npm(['view', '@acme/core@1.2.3', 'dist.attestations', '--json']))).toEqual(expected);
    expect(JSON.parse(await npm(['view', '@acme/cli@2.1.0-beta.0', 'dist.attestations.url', '--json']))).toBe(attestationsUrl('@acme%2fcli@2.1.0-beta.0'));
    expect((await npm(['view', '@acme/solo@1.0.0', 'dist.attestations', '--json'])).trim()).toBe('');
  });

  it('indexes every release: build facts when verified, none without attestations, invalid when tampered', async () => {
    const index = createProvenanceActivities({ registry: registry.url, credentials: { tokenFor: () => registry.tokens.reader }, verifier: trustOf(registry) });
    const read = (name: string) => index.readPackageProvenance({ name });

    expect(await read('@acme/core')).toEqual([
      { ...release('@acme/core', '1.2.0'), ...facts(FIXTURE_BUILDS.release) },
      { ...release('@acme/core', '1.2.1'), ...facts(FIXTURE_BUILDS.release) },
      { ...release('@acme/core', '1.2.2'), ...facts(FIXTURE_BUILDS.release) },
      { ...release('@acme/core', '1.2.3'), ...facts(FIXTURE_BUILDS.poisoned) },
    ]);
    expect(await read('@acme/cli')).toEqual([
      { ...release('@acme/cli', '2.0.0'), ...facts(FIXTURE_BUILDS.release) },
      { ...release('@acme/cli', '2.0.1'), ...facts(FIXTURE_BUILDS.cli) },
      { ...release('@acme/cli', '2.1.0-beta.0'), ...facts(FIXTURE_BUILDS.fork) },
    ]);
    expect(FIXTURE_BUILDS.fork.repository).toBe('https://github.com/acme-forks/packages');
    expect(await read('@acme/utils')).toEqual([
      { ...release('@acme/utils', '1.0.0'), ...facts(FIXTURE_BUILDS.utils) },
      {
        ...release('@acme/utils', '1.1.0'),
        status: 'invalid',
        reason: 'https://slsa.dev/provenance/v1 attestation: signature check failed: TLOG_BODY_ERROR: DSSE payload hash mismatch',
      },
      {
        ...release('@acme/utils', '1.2.0'),
        status: 'invalid',
        reason: 'https://slsa.dev/provenance/v1 attestation: subject pkg:npm/%40acme/utils@1.2.0 does not match @acme/utils@1.2.0 and its dist.integrity',
      },
    ]);
    expect(await read('@acme/solo')).toEqual([
      { ...release('@acme/solo', '1.0.0'), status: 'none', reason: 'the registry lists no attestations for this release' },
    ]);
  });

  it('with a trust root that does not know the signer (the one @sigstore/tuf ships): unverified, facts kept; tampering still invalid', async () => {
    const index = createProvenanceActivities({ registry: registry.url, verifier: createOfflineVerifier() });
    const records = await index.readPackageProvenance({ name: '@acme/utils' });
    const key = JSON.parse(readFileSync(registry.sigstore.npmKeys, 'utf8')).keys[0].keyId as string;
    expect(records[0]).toEqual({
      ...release('@acme/utils', '1.0.0'),
      ...facts(FIXTURE_BUILDS.utils),
      status: 'unverified',
      reason: `signature not checked, the trust root does not know the signer: ${PUBLISH_PREDICATE} attestation: PUBLIC_KEY_ERROR: key not found: ${key}`,
    });
    // The payload no longer matches its own log entry: no trust is needed to see that.
    expect(records.slice(1).map((r) => [r.status, r.reason])).toEqual([
      ['invalid', 'https://slsa.dev/provenance/v1 attestation: signature check failed: TLOG_BODY_ERROR: DSSE payload hash mismatch'],
      ['invalid', 'https://slsa.dev/provenance/v1 attestation: subject pkg:npm/%40acme/utils@1.2.0 does not match @acme/utils@1.2.0 and its dist.integrity'],
    ]);
  });

  it('fails typed when the package is not on the registry', async () => {
    const index = createProvenanceActivities({ registry: registry.url, verifier: trustOf(registry) });
    await expect(index.readPackageProvenance({ name: '@acme/nope' })).rejects.toMatchObject({ type: 'PackageNotFound', nonRetryable: true });
  });
});

describe('a registry copy the tests write to', () => {
  let registry: LocalRegistry;
  let attacker: Server;
  let attackerUrl: string;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    registry = await testRegistry();
    attacker = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"attestations":[]}');
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => attacker?.close(resolve));
    await registry?.stop();
  });

  const putUrl = (spec: string) => `${registry.url}-/npm/v1/attestations/${spec}`;
  const put = (spec: string, body: unknown, token?: string) =>
    fetch(putUrl(spec), {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  it('stores attestations only for a user with publish rights, and only for a release the registry has', async () => {
    const record = { attestations: [{ predicateType: SLSA_V1_PREDICATE, bundle: {} }] };
    expect((await put('@acme%2fsolo@1.0.0', record)).status).toBe(401);
    expect((await put('@acme%2fsolo@1.0.0', record, registry.tokens.reader)).status).toBe(403);
    expect((await put('@acme%2fsolo@9.9.9', record, registry.tokens.admin)).status).toBe(404);
    expect((await put('@acme%2fsolo@1.0.0', { attestations: 'nope' }, registry.tokens.admin)).status).toBe(400);
    expect((await fetch(putUrl('@acme%2fsolo@1.0.0'))).status).toBe(404);
  });

  it('a release signed by an authority the trust root does not hold is unverified, with its facts', async () => {
    const packument = (await getJson(`${registry.url}@acme%2fsolo`)).body as Packument;
    const integrity = packument.versions['1.0.0']!.dist.integrity as string;
    const stranger = await createMintAuthority();
    const record = await mintReleaseAttestations(stranger, { name: '@acme/solo', version: '1.0.0', integrity }, { build: FIXTURE_BUILDS.fork }, registry.url);
    await putAttestations(registry.url, registry.tokens.admin, '@acme/solo', '1.0.0', record);

    const index = createProvenanceActivities({ registry: registry.url, verifier: trustOf(registry) });
    const [solo] = await index.readPackageProvenance({ name: '@acme/solo' });
    expect(solo).toMatchObject({ ...facts(FIXTURE_BUILDS.fork), status: 'unverified', publishedAt: packument.time['1.0.0'] });
    expect(solo!.reason).toMatch(/^signature not checked, the trust root does not know the signer: .* PUBLIC_KEY_ERROR: key not found: SHA256:/);
    // The same bundles under the stranger's own trust root verify.
    const own = createProvenanceActivities({ registry: registry.url, verifier: createOfflineVerifier({ trustedRoot: stranger.trustedRoot, npmKeys: stranger.npmKeys }) });
    expect((await own.readPackageProvenance({ name: '@acme/solo' }))[0]).toMatchObject(facts(FIXTURE_BUILDS.fork));
  });

  it("a provenance signed with a certificate issued to another repository's workflow is invalid, with what differs", async () => {
    const packument = (await getJson(`${registry.url}@acme%2fsolo`)).body as Packument;
    const integrity = packument.versions['1.0.0']!.dist.integrity as string;
    // Any GitHub workflow can get a valid certificate; this one claims to be our release run.
    const evil: FixtureBuild = { repository: 'https://github.com/evil/x', workflowPath: '.github/workflows/y.yml', ref: 'refs/heads/main', commit: 'e'.repeat(40), runId: '1', runAttempt: '1' };
    const authority = await createMintAuthority();
    const record = await mintReleaseAttestations(
      authority,
      { name: '@acme/solo', version: '1.0.0', integrity },
      { build: FIXTURE_BUILDS.release, tamper: { kind: 'signer', build: evil } },
      registry.url,
    );
    await putAttestations(registry.url, registry.tokens.admin, '@acme/solo', '1.0.0', record);

    const reason = [
      `${SLSA_V1_PREDICATE} attestation: certificate identity https://github.com/evil/x/.github/workflows/y.yml@refs/heads/main does not match the provenance's https://github.com/acme/packages/.github/workflows/release.yml@refs/heads/main`,
      "certificate source repository https://github.com/evil/x does not match the provenance's https://github.com/acme/packages",
      `certificate commit ${'e'.repeat(40)} does not match the provenance's ${FIXTURE_BUILDS.release.commit}`,
      `certificate run https://github.com/evil/x/actions/runs/1/attempts/1 does not match the provenance's https://github.com/acme/packages/actions/runs/${FIXTURE_BUILDS.release.runId}/attempts/1`,
    ].join('; ');
    const expected: ReleaseProvenance = { release: { name: '@acme/solo', version: '1.0.0' }, publishedAt: packument.time['1.0.0']!, status: 'invalid', reason };
    // The signature verifies under the signer's own trust root; the claims are still not believed.
    const own = createProvenanceActivities({ registry: registry.url, verifier: createOfflineVerifier({ trustedRoot: authority.trustedRoot, npmKeys: authority.npmKeys }) });
    expect(await own.readPackageProvenance({ name: '@acme/solo' })).toEqual([expected]);
    // A trust root that does not know the signer: the certificate contradicts the statement all the same.
    const index = createProvenanceActivities({ registry: registry.url, verifier: trustOf(registry) });
    expect(await index.readPackageProvenance({ name: '@acme/solo' })).toEqual([expected]);
  });

  it('never follows a packument to another origin: nothing (and no token) goes there, the release is invalid', async () => {
    const current = (await getJson(putUrl('@acme%2fcli@2.0.0'))).body as { attestations: { predicateType: string; bundle: unknown }[] };
    const offsite = `${attackerUrl}/-/npm/v1/attestations/@acme%2fcli@2.0.0`;
    expect((await put('@acme%2fcli@2.0.0', { ...current, packumentUrl: offsite }, registry.tokens.admin)).status).toBe(201);
    expect(JSON.parse(await npmCli(registry.url)(['view', '@acme/cli@2.0.0', 'dist.attestations.url', '--json']))).toBe(offsite);

    const index = createProvenanceActivities({ registry: registry.url, credentials: { tokenFor: () => registry.tokens.admin }, verifier: trustOf(registry) });
    const records = await index.readPackageProvenance({ name: '@acme/cli' });
    expect(records.map((r) => [r.release.version, r.status])).toEqual([['2.0.0', 'invalid'], ['2.0.1', 'verified'], ['2.1.0-beta.0', 'verified']]);
    expect(records[0]).toEqual({
      release: { name: '@acme/cli', version: '2.0.0' },
      publishedAt: expect.any(String),
      status: 'invalid',
      reason: `dist.attestations.url points to ${attackerUrl}, not to the registry ${new URL(registry.url).origin}: not fetched`,
    } satisfies ReleaseProvenance);
    expect(seen).toEqual([]);
  });
});

describe('worker configuration', () => {
  it('reads the trust root and npm keys from the files the environment names, else leaves the shipped default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-trust-'));
    writeFileSync(join(dir, 'root.json'), '{"mediaType":"x"}');
    writeFileSync(join(dir, 'keys.json'), '{"keys":[]}');
    const base = { QUARANTINE_REGISTRY: 'http://127.0.0.1:1/' };
    expect(workerConfigFromEnv(base).sigstore).toEqual({ trustedRoot: undefined, npmKeys: undefined });
    expect(
      workerConfigFromEnv({ ...base, QUARANTINE_SIGSTORE_TRUSTED_ROOT: join(dir, 'root.json'), QUARANTINE_NPM_KEYS: join(dir, 'keys.json') }).sigstore,
    ).toEqual({ trustedRoot: { mediaType: 'x' }, npmKeys: { keys: [] } });
    expect(() => workerConfigFromEnv({ ...base, QUARANTINE_NPM_KEYS: join(dir, 'missing.json') })).toThrow(/^QUARANTINE_NPM_KEYS=.*missing\.json: ENOENT/);
  });
});
