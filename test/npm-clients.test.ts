// clients/npm against the test registry's npmjs stand-in: every call's effect read back with the npm
// CLI, every failure sorted into its RegistryError code, and every repeated write proven absent from
// the stand-in's write log.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import npmFetch from 'npm-registry-fetch';
import {
  lastWeekDownloads,
  listOwners,
  listStagedPublishes,
  listTokens,
  listTrustedPublishers,
  readAccessSettings,
  registryCall,
  RegistryError,
  rejectStagedPublish,
  requirePublish2fa,
  revokeToken,
  revokeTrustedPublisher,
  standinDependentsCount,
  toRegistryError,
  unpublishVersion,
  type NpmClientOptions,
} from '../clients/npm';
import { githubPublisher, injectFault, seedDependents, seedDownloads, seedOwners, seedStagedPublish, seedToken, seedTrustedPublishers } from '../stack/npmjs-standin';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';
import { readWriteLog } from '../stack/verdaccio-plugins/npmjs-state';
import type { NpmCli } from '../stack/npm-cli';
import { npmCli, testRegistry } from './helpers/stack';

let registry: LocalRegistry;
let npm: NpmCli;
let admin: NpmClientOptions;

beforeAll(async () => {
  registry = await testRegistry();
  npm = npmCli(registry.url, registry.tokens.admin);
  admin = { registry: registry.url, token: registry.tokens.admin };
});
afterAll(() => registry?.stop());

async function failure(call: Promise<unknown>): Promise<RegistryError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('the call succeeded');
}

const logLength = () => readWriteLog(registry.dir).length;
const writesSince = (mark: number) => readWriteLog(registry.dir).slice(mark);

function trustIdsByNpm(stdout: string): string[] {
  return stdout
    .split(/\n\s*\n/)
    .map((chunk) => chunk.trim())
    .filter(Boolean)
    .map((chunk) => (JSON.parse(chunk) as { id: string }).id);
}

describe('writes: read first, write once, OTP when npm asks for one', () => {
  test('revokeTrustedPublisher: OTP_REQUIRED without an OTP (nothing written), then one DELETE, then nothing', async () => {
    const [kept, revoked] = await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/core', [githubPublisher('acme/core'), githubPublisher('acme/fork')]);
    expect((await listTrustedPublishers('@acme/core', admin)).map((p) => p.id)).toEqual(trustIdsByNpm(await npm(['trust', 'list', '@acme/core', '--json'])));

    let mark = logLength();
    const asked = await failure(revokeTrustedPublisher('@acme/core', revoked!.id, admin));
    expect(asked).toMatchObject({ code: 'OTP_REQUIRED', status: 401, retryable: false });
    expect(writesSince(mark).map((w) => w.outcome)).toEqual(['otp-required']);
    expect(trustIdsByNpm(await npm(['trust', 'list', '@acme/core', '--json']))).toEqual([kept!.id, revoked!.id]);

    const wrongOtp = await failure(revokeTrustedPublisher('@acme/core', revoked!.id, { ...admin, otp: '999999' }));
    expect(wrongOtp.code).toBe('OTP_REQUIRED');
    expect(wrongOtp.message).not.toContain('999999');

    const done = await revokeTrustedPublisher('@acme/core', revoked!.id, { ...admin, otp: REGISTRY_OTP });
    expect(done).toMatchObject({ changed: true, before: { id: revoked!.id, claims: { repository: 'acme/fork' } } });
    expect(trustIdsByNpm(await npm(['trust', 'list', '@acme/core', '--json']))).toEqual([kept!.id]);

    mark = logLength();
    expect(await revokeTrustedPublisher('@acme/core', revoked!.id, { ...admin, otp: REGISTRY_OTP })).toEqual({ changed: false });
    expect(writesSince(mark)).toEqual([]);
  });

  test('rejectStagedPublish: lists what npm stage list lists, rejects once, and an unknown id is no write', async () => {
    const id = await seedStagedPublish(registry.url, registry.tokens.admin, '@acme/utils', '1.3.0', 'next');
    await seedStagedPublish(registry.url, registry.tokens.admin, '@acme/cli', '2.2.0');
    const listed = await listStagedPublishes('@acme/utils', admin);
    expect(listed).toEqual(JSON.parse(await npm(['stage', 'list', '@acme/utils', '--json'])));
    expect(listed).toEqual([expect.objectContaining({ id, version: '1.3.0', tag: 'next' })]);

    let mark = logLength();
    expect((await failure(rejectStagedPublish(id, admin))).code).toBe('OTP_REQUIRED');
    expect(writesSince(mark).map((w) => [w.method, w.outcome])).toEqual([['DELETE', 'otp-required']]);
    expect(await rejectStagedPublish(id, { ...admin, otp: REGISTRY_OTP })).toMatchObject({ changed: true, before: { id } });
    expect(JSON.parse(await npm(['stage', 'list', '@acme/utils', '--json']))).toEqual([]);
    expect(JSON.parse(await npm(['stage', 'list', '@acme/cli', '--json']))).toHaveLength(1);

    mark = logLength();
    expect(await rejectStagedPublish(id, { ...admin, otp: REGISTRY_OTP })).toEqual({ changed: false });
    expect((await failure(rejectStagedPublish('not-a-uuid', admin))).code).toBe('REJECTED');
    expect(writesSince(mark)).toEqual([]);
  });

  test('revokeToken: the list npm token list shows, one revoke, then nothing', async () => {
    const ci = await seedToken(registry.url, registry.tokens.admin, { name: 'ci' });
    const other = await seedToken(registry.url, registry.tokens.admin, { name: 'laptop' });
    const listed = await listTokens(admin);
    expect(listed.map((t) => t.key)).toEqual((JSON.parse(await npm(['token', 'list', '--json'])) as { key: string }[]).map((t) => t.key));
    expect(listed.map((t) => t.key)).toEqual([ci.key, other.key]);

    expect(await revokeToken(ci.key, admin)).toMatchObject({ changed: true, before: { key: ci.key, name: 'ci' } });
    expect((JSON.parse(await npm(['token', 'list', '--json'])) as { key: string }[]).map((t) => t.key)).toEqual([other.key]);
    const mark = logLength();
    expect(await revokeToken(ci.key, admin)).toEqual({ changed: false });
    expect(writesSince(mark)).toEqual([]);
  });

  test('requirePublish2fa: OTP_REQUIRED and unchanged without an OTP, one POST with it, none after', async () => {
    expect(await readAccessSettings('@acme/cli', admin)).toEqual({ publishRequires2fa: false, automationTokenOverrides2fa: false });
    let mark = logLength();
    expect((await failure(requirePublish2fa('@acme/cli', admin))).code).toBe('OTP_REQUIRED');
    expect(writesSince(mark).map((w) => w.outcome)).toEqual(['otp-required']);
    expect(await readAccessSettings('@acme/cli', admin)).toEqual({ publishRequires2fa: false, automationTokenOverrides2fa: false });

    // What npm itself leaves behind with mfa=automation is not yet what we want: it is rewritten.
    await npm(['access', 'set', 'mfa=automation', '@acme/cli', '--otp', REGISTRY_OTP]);
    const done = await requirePublish2fa('@acme/cli', { ...admin, otp: REGISTRY_OTP });
    expect(done).toEqual({ changed: true, before: { publishRequires2fa: true, automationTokenOverrides2fa: true } });
    expect(await readAccessSettings('@acme/cli', admin)).toEqual({ publishRequires2fa: true, automationTokenOverrides2fa: false });

    mark = logLength();
    expect((await requirePublish2fa('@acme/cli', { ...admin, otp: REGISTRY_OTP })).changed).toBe(false);
    expect(writesSince(mark)).toEqual([]);
  });

  test('unpublishVersion: npm sees the version and its tarball gone and latest moved down; a second call writes nothing', async () => {
    await npm(['dist-tag', 'add', '@acme/core@1.2.3', 'security-hold']);
    const tarball = (await npm(['view', '@acme/core@1.2.3', 'dist.tarball'])).trim();
    const mark = logLength();
    expect(await unpublishVersion('@acme/core', '1.2.3', admin)).toEqual({ changed: true, tagsRemoved: ['security-hold'], latestMovedTo: '1.2.2' });
    expect(writesSince(mark).map((w) => [w.method, w.status])).toEqual([
      ['PUT', 201],
      ['DELETE', 201],
    ]);
    expect(JSON.parse(await npm(['view', '@acme/core', 'versions', '--json']))).toEqual(['1.2.0', '1.2.1', '1.2.2']);
    expect(JSON.parse(await npm(['view', '@acme/core', 'dist-tags', '--json']))).toEqual({ latest: '1.2.2' });
    expect((await fetch(tarball)).status).toBe(404);

    const again = logLength();
    expect(await unpublishVersion('@acme/core', '1.2.3', admin)).toEqual({ changed: false, tagsRemoved: [] });
    expect(writesSince(again)).toEqual([]);
  });

  test('unpublishVersion refuses the only version of a package (npm would delete the package) and writes nothing', async () => {
    const mark = logLength();
    const refused = await failure(unpublishVersion('@acme/solo', '1.0.0', admin));
    expect(refused).toMatchObject({ code: 'REJECTED', retryable: false });
    expect(refused.message).toContain('only version');
    expect(writesSince(mark)).toEqual([]);
    expect(JSON.parse(await npm(['view', '@acme/solo', 'versions', '--json']))).toEqual(['1.0.0']);
  });
});

describe('facts', () => {
  test('lastWeekDownloads, dependents and owners read what was seeded, as npm owner ls does', async () => {
    await seedDownloads(registry.url, registry.tokens.admin, '@acme/utils', 299);
    await seedDependents(registry.url, registry.tokens.admin, '@acme/utils', 0);
    await seedOwners(registry.url, registry.tokens.admin, '@acme/utils', [{ name: 'acme-release', email: 'release@example.invalid' }]);
    // No token goes to the downloads API: the options carry none, and the stand-in answers anonymously.
    const downloads = await lastWeekDownloads('@acme/utils', { baseUrl: registry.url });
    expect(downloads).toMatchObject({ downloads: 299, package: '@acme/utils' });
    expect(await standinDependentsCount('@acme/utils', { baseUrl: registry.url })).toBe(0);
    const owners = await listOwners('@acme/utils', admin);
    expect(owners).toEqual([{ name: 'acme-release', email: 'release@example.invalid' }]);
    expect((await npm(['owner', 'ls', '@acme/utils'])).trim()).toBe('acme-release <release@example.invalid>');
    expect((await failure(lastWeekDownloads('@acme/nope', { baseUrl: registry.url }))).code).toBe('NOT_FOUND');
  });
});

describe('failures sorted into codes, never carrying secrets', () => {
  test('a wrong token is AUTH, a reader writing is AUTH, no token at all is AUTH; none shows the token', async () => {
    const wrong = 'npm_wrongTOKENwrongTOKEN123';
    const bad = await failure(listTrustedPublishers('@acme/cli', { registry: registry.url, token: wrong }));
    expect(bad).toMatchObject({ code: 'AUTH', status: 401, retryable: false });
    expect(bad.message).not.toContain(wrong);
    const reader = await failure(revokeTrustedPublisher('@acme/cli', 'x', { registry: registry.url, token: registry.tokens.reader, otp: REGISTRY_OTP }));
    expect(reader).toMatchObject({ code: 'AUTH', status: 403 });
    expect(reader.message).not.toContain(registry.tokens.reader);
    expect((await failure(listTokens({ registry: registry.url }))).code).toBe('AUTH');
  });

  test('an unknown package is NOT_FOUND; a bad name or registry URL is REJECTED before any request', async () => {
    const mark = logLength();
    expect(await failure(listTrustedPublishers('@acme/nothing', admin))).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect((await failure(unpublishVersion('@acme/nothing', '1.0.0', admin))).code).toBe('NOT_FOUND');
    expect((await failure(requirePublish2fa('Not A Name', admin))).code).toBe('REJECTED');
    expect((await failure(listTokens({ registry: 'ftp://example.invalid/', token: 'x' }))).code).toBe('REJECTED');
    expect(writesSince(mark)).toEqual([]);
  });

  test('429 with retry-after in seconds or as a date is RATE_LIMITED with retryAfterMs; 503 is UNAVAILABLE', async () => {
    await injectFault(registry.url, registry.tokens.admin, { status: 429, count: 1, retryAfter: '7' });
    const limited = await failure(listTrustedPublishers('@acme/cli', admin));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterMs: 7000, retryable: true });

    const at = new Date(Date.now() + 120_000).toUTCString();
    await injectFault(registry.url, registry.tokens.admin, { status: 429, count: 1, retryAfter: at });
    const dated = await failure(listStagedPublishes('@acme/cli', admin));
    expect(dated.code).toBe('RATE_LIMITED');
    expect(dated.retryAfterMs).toBeGreaterThan(100_000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(120_000);

    await injectFault(registry.url, registry.tokens.admin, { status: 503, count: 1 });
    expect(await failure(listTokens(admin))).toMatchObject({ code: 'UNAVAILABLE', status: 503, retryable: true });
    // The switch is spent: the next call goes through.
    expect(Array.isArray(await listTokens(admin))).toBe(true);
  });

  test('a refused unpublish mid-way (429 on the PUT) leaves the version, and the retry completes it once', async () => {
    const mark = logLength();
    // The packument read passes; the write after it is refused.
    await injectFault(registry.url, registry.tokens.admin, { status: 429, count: 1, retryAfter: '1', methods: ['PUT'] });
    const limitedAt = logLength();
    expect((await failure(unpublishVersion('@acme/utils', '1.2.0', admin))).code).toBe('RATE_LIMITED');
    expect(JSON.parse(await npm(['view', '@acme/utils', 'versions', '--json']))).toContain('1.2.0');
    expect(writesSince(limitedAt).filter((w) => w.outcome === 'applied' && !w.path.startsWith('/-/quarantine-standin/'))).toEqual([]);
    expect((await unpublishVersion('@acme/utils', '1.2.0', admin)).changed).toBe(true);
    expect(JSON.parse(await npm(['view', '@acme/utils', 'versions', '--json']))).toEqual(['1.0.0', '1.1.0']);
    expect(writesSince(mark).filter((w) => w.method === 'PUT' && w.path.startsWith('/@acme') && w.outcome === 'applied')).toHaveLength(1);
  });

  test('no answer within timeoutMs, or no server at all, is UNAVAILABLE', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const started = Date.now();
      const timedOut = await failure(listTokens({ registry: `http://127.0.0.1:${port}/`, token: 't0k', timeoutMs: 300 }));
      expect(timedOut).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    const refused = await failure(listTokens({ registry: 'http://127.0.0.1:9/', token: 't0k' }));
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', retryable: true });
  });

  test('409 is CONFLICT, and a message holding a secret is redacted', async () => {
    // The stand-in answers 409 to a trusted publisher that already exists, as a registry with a unique constraint does.
    await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/solo', [githubPublisher('acme/solo')]);
    const conflict = await failure(
      registryCall({ ...admin, otp: REGISTRY_OTP }, 'add trusted publisher', (options) =>
        npmFetch('/-/package/@acme%2fsolo/trust', { ...options, method: 'POST', body: [githubPublisher('acme/solo')] }),
      ),
    );
    expect(conflict).toMatchObject({ code: 'CONFLICT', status: 409, retryable: false });
    const leaked = toRegistryError(Object.assign(new Error('GET failed for //h/:_authToken=s3cr3t otp 123456'), { statusCode: 500 }), 'read', ['s3cr3t', '123456']);
    expect(leaked).toMatchObject({ code: 'UNAVAILABLE' });
    expect(leaked.message).not.toMatch(/s3cr3t|123456/);
  });
});
