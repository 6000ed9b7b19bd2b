// The npmjs stand-in's contract, with the real npm CLI as the client: what `npm trust|stage|token|access`
// send must be understood, and what they print must be what the stand-in stored. Writes guarded by 2FA
// must fail with EOTP and change nothing without the right `--otp`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';
import { githubPublisher, seedDependents, seedDownloads, seedOwners, seedStagedPublish, seedToken, seedTrustedPublishers } from '../stack/npmjs-standin';
import { readWriteLog } from '../stack/verdaccio-plugins/npmjs-state';
import { npmCli, testRegistry } from './helpers/stack';
import type { NpmCli } from '../stack/npm-cli';

let registry: LocalRegistry;
let npm: NpmCli;
let reader: NpmCli;

beforeAll(async () => {
  registry = await testRegistry();
  npm = npmCli(registry.url, registry.tokens.admin);
  reader = npmCli(registry.url, registry.tokens.reader);
});
afterAll(() => registry?.stop());

/** npm's `trust list --json` prints one JSON object per configuration, one after another. */
function trustObjects(stdout: string): { id: string; repository?: string; file?: string }[] {
  return stdout
    .split(/\n\s*\n/)
    .map((chunk) => chunk.trim())
    .filter(Boolean)
    .map((chunk) => JSON.parse(chunk) as { id: string });
}

async function trustIds(name: string): Promise<string[]> {
  return trustObjects(await npm(['trust', 'list', name, '--json'])).map((c) => c.id);
}

/** The npm CLI's failure, as the error code it printed (EOTP, E403...), else its first error line. */
async function npmFails(run: Promise<string>): Promise<string> {
  try {
    await run;
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr);
    return /npm error code (\S+)/.exec(stderr)?.[1] ?? /npm error (.*)/.exec(stderr)?.[1] ?? stderr;
  }
  throw new Error('npm succeeded');
}

function writesSince(mark: number) {
  return readWriteLog(registry.dir).slice(mark);
}

async function raw(method: string, path: string, token?: string, body?: unknown, otp?: string) {
  const response = await fetch(new URL(path, registry.url), {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(otp ? { 'npm-otp': otp } : {}), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, authenticate: response.headers.get('www-authenticate'), body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('trusted publishers', () => {
  test('npm trust list shows what was configured; revoke fails with EOTP and changes nothing until --otp is right', async () => {
    const [kept, revoked] = await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/core', [
      githubPublisher('acme/core', 'release.yml'),
      githubPublisher('acme/core-mirror', 'publish.yml'),
    ]);
    const listed = trustObjects(await npm(['trust', 'list', '@acme/core', '--json']));
    expect(listed).toEqual([
      expect.objectContaining({ id: kept!.id, repository: 'acme/core', file: 'release.yml' }),
      expect.objectContaining({ id: revoked!.id, repository: 'acme/core-mirror', file: 'publish.yml' }),
    ]);

    const mark = readWriteLog(registry.dir).length;
    expect(await npmFails(npm(['trust', 'revoke', '@acme/core', '--id', revoked!.id]))).toBe('EOTP');
    expect(await npmFails(npm(['trust', 'revoke', '@acme/core', '--id', revoked!.id, '--otp=000000']))).toBe('EOTP');
    expect(await trustIds('@acme/core')).toEqual([kept!.id, revoked!.id]);
    expect(writesSince(mark).map((w) => [w.method, w.status, w.outcome])).toEqual([
      ['DELETE', 401, 'otp-required'],
      ['DELETE', 401, 'otp-invalid'],
    ]);

    await npm(['trust', 'revoke', '@acme/core', '--id', revoked!.id, `--otp=${REGISTRY_OTP}`]);
    expect(await trustIds('@acme/core')).toEqual([kept!.id]);
    expect(writesSince(mark).filter((w) => w.outcome === 'applied')).toEqual([
      expect.objectContaining({ method: 'DELETE', path: `/-/package/@acme%2fcore/trust/${revoked!.id}`, status: 204 }),
    ]);
    // Gone is gone: a second revoke is a 404, not a second write.
    expect(await npmFails(npm(['trust', 'revoke', '@acme/core', '--id', revoked!.id, `--otp=${REGISTRY_OTP}`]))).toBe('E404');
  });

  test('a scoped name works escaped or not; anonymous is 401, a reader 403, an unknown package 404', async () => {
    const [config] = await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/cli', [githubPublisher('acme/cli')]);
    const escaped = await raw('GET', '/-/package/@acme%2fcli/trust', registry.tokens.admin);
    const slashed = await raw('GET', '/-/package/@acme/cli/trust', registry.tokens.admin);
    expect(escaped).toMatchObject({ status: 200, body: [expect.objectContaining({ id: config!.id })] });
    expect(slashed.body).toEqual(escaped.body);

    expect((await raw('GET', '/-/package/@acme%2fcli/trust')).status).toBe(401);
    expect(await npmFails(reader(['trust', 'list', '@acme/cli']))).toBe('E403');
    expect(await npmFails(reader(['trust', 'revoke', '@acme/cli', '--id', config!.id, `--otp=${REGISTRY_OTP}`]))).toBe('E403');
    expect(await npmFails(npm(['trust', 'list', '@acme/nothing-here']))).toBe('E404');
    expect(await trustIds('@acme/cli')).toEqual([config!.id]);
  });

  test('a bad body is a 400 and a create without OTP a 401 OTP: neither adds anything', async () => {
    const before = await trustIds('@acme/utils');
    const mark = readWriteLog(registry.dir).length;
    const bad = await raw('POST', '/-/package/@acme%2futils/trust', registry.tokens.admin, [{ type: 'github', claims: { repository: 'no-slash' } }], REGISTRY_OTP);
    expect(bad).toMatchObject({ status: 400, body: { error: expect.stringContaining('repository (owner/repo)') } });
    expect((await raw('POST', '/-/package/@acme%2futils/trust', registry.tokens.admin, 'not json', REGISTRY_OTP)).status).toBe(400);
    const noOtp = await raw('POST', '/-/package/@acme%2futils/trust', registry.tokens.admin, [githubPublisher('acme/utils')]);
    expect(noOtp).toMatchObject({ status: 401, authenticate: 'OTP' });
    expect(await trustIds('@acme/utils')).toEqual(before);
    expect(writesSince(mark).map((w) => w.outcome)).toEqual(['invalid', 'invalid', 'otp-required']);
  });
});

describe('staged publishes', () => {
  test('npm stage publish, list and reject: reject needs the OTP, and a rejected version never goes live', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quarantine-stage-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@acme/utils', version: '1.3.0', license: 'MIT' }));
    const staged = await npm(['stage', 'publish', '--tag', 'next'], { cwd: dir });
    const id = /staged with id ([0-9a-f-]{36})/.exec(staged)?.[1];
    expect(id).toBeDefined();
    const other = await seedStagedPublish(registry.url, registry.tokens.admin, '@acme/cli', '2.2.0');

    const listed = JSON.parse(await npm(['stage', 'list', '@acme/utils', '--json'])) as Record<string, unknown>[];
    expect(listed).toEqual([
      expect.objectContaining({ id, packageName: '@acme/utils', version: '1.3.0', tag: 'next', actor: 'acme-release', actorType: 'user', shasum: expect.stringMatching(/^[0-9a-f]{40}$/) }),
    ]);
    expect(JSON.parse(await npm(['stage', 'view', id!, '--json']))).toEqual(listed[0]);
    expect(JSON.parse(await reader(['stage', 'list', '--json']))).toEqual([]);

    expect(await npmFails(npm(['stage', 'reject', id!]))).toBe('EOTP');
    expect((JSON.parse(await npm(['stage', 'list', '@acme/utils', '--json'])) as unknown[]).length).toBe(1);
    expect(await npmFails(npm(['stage', 'approve', id!, '--otp', REGISTRY_OTP]))).toBe('E501');

    await npm(['stage', 'reject', id!, '--otp', REGISTRY_OTP]);
    expect(JSON.parse(await npm(['stage', 'list', '@acme/utils', '--json']))).toEqual([]);
    expect(JSON.parse(await npm(['stage', 'list', '--json']))).toEqual([expect.objectContaining({ id: other, packageName: '@acme/cli' })]);
    expect(JSON.parse(await npm(['view', '@acme/utils', 'versions', '--json']))).not.toContain('1.3.0');
  });

  test('list pages as npm asks, and unknown ids are 404', async () => {
    const ids = [];
    for (const version of ['3.0.0', '3.0.1', '3.0.2']) ids.push(await seedStagedPublish(registry.url, registry.tokens.admin, '@acme/solo', version));
    const page = await raw('GET', '/-/stage?page=1&perPage=2&package=%40acme%2Fsolo', registry.tokens.admin);
    expect(page).toMatchObject({ status: 200, body: { total: 3, items: [expect.objectContaining({ id: ids[2], version: '3.0.2' })] } });
    expect((await raw('GET', '/-/stage?page=x', registry.tokens.admin)).status).toBe(400);
    expect(await npmFails(npm(['stage', 'view', '00000000-0000-4000-8000-000000000000']))).toBe('E404');
    expect((await raw('GET', '/-/stage')).status).toBe(401);
    // A name@version is never reused: neither a published nor an already staged one can be staged.
    await expect(seedStagedPublish(registry.url, registry.tokens.admin, '@acme/solo', '1.0.0')).rejects.toThrow(/409 .*already published/);
    await expect(seedStagedPublish(registry.url, registry.tokens.admin, '@acme/solo', '3.0.0')).rejects.toThrow(/409 .*already staged/);
    expect((JSON.parse(await npm(['stage', 'list', '@acme/solo', '--json'])) as unknown[]).length).toBe(3);
  });
});

describe('tokens', () => {
  test('npm token list shows the seeded tokens masked; npm token revoke removes exactly one', async () => {
    const ci = await seedToken(registry.url, registry.tokens.admin, { name: 'ci', cidr_whitelist: ['10.0.0.0/8'] });
    const laptop = await seedToken(registry.url, registry.tokens.admin, { name: 'laptop', readonly: true });
    const readerToken = await seedToken(registry.url, registry.tokens.reader, { name: 'reader' });
    const listed = JSON.parse(await npm(['token', 'list', '--json'])) as { key: string; token: string; readonly: boolean }[];
    expect(listed.map((t) => t.key)).toEqual([ci.key, laptop.key]);
    expect(listed[1]).toMatchObject({ readonly: true, cidr_whitelist: null });
    expect(JSON.stringify(listed)).not.toContain(ci.token);
    expect(ci.token.startsWith(listed[0]!.token)).toBe(true);

    expect(await npmFails(reader(['token', 'revoke', ci.key]))).toMatch(/Unknown token id/);
    await npm(['token', 'revoke', ci.key.slice(0, 12)]);
    expect((JSON.parse(await npm(['token', 'list', '--json'])) as { key: string }[]).map((t) => t.key)).toEqual([laptop.key]);
    expect((JSON.parse(await reader(['token', 'list', '--json'])) as { key: string }[]).map((t) => t.key)).toEqual([readerToken.key]);
    expect((await raw('DELETE', `/-/npm/v1/tokens/token/${ci.key}`, registry.tokens.admin)).status).toBe(404);
  });
});

describe('publishing 2FA', () => {
  test('npm access set mfa=publish fails with EOTP without the OTP and stores the setting with it', async () => {
    const read = () => raw('GET', '/-/package/@acme%2fcore/access', registry.tokens.admin);
    expect((await read()).body).toEqual({ publish_requires_tfa: false, automation_token_overrides_tfa: false });
    expect(await npmFails(npm(['access', 'set', 'mfa=publish', '@acme/core']))).toBe('EOTP');
    expect((await read()).body).toEqual({ publish_requires_tfa: false, automation_token_overrides_tfa: false });
    expect(await npmFails(reader(['access', 'set', 'mfa=publish', '@acme/core', '--otp', REGISTRY_OTP]))).toBe('E403');

    await npm(['access', 'set', 'mfa=automation', '@acme/core', '--otp', REGISTRY_OTP]);
    expect((await read()).body).toEqual({ publish_requires_tfa: true, automation_token_overrides_tfa: true });
    await npm(['access', 'set', 'mfa=publish', '@acme/core', '--otp', REGISTRY_OTP]);
    expect((await read()).body).toEqual({ publish_requires_tfa: true, automation_token_overrides_tfa: false });

    const bad = await raw('POST', '/-/package/@acme%2fcore/access', registry.tokens.admin, { publish_requires_tfa: 'yes' }, REGISTRY_OTP);
    expect(bad.status).toBe(400);
    expect((await read()).body).toEqual({ publish_requires_tfa: true, automation_token_overrides_tfa: false });
  });
});

describe('facts npm unpublish policy turns on', () => {
  test('last week downloads in api.npmjs.org shape, dependents and owners, seeded per package', async () => {
    await seedDownloads(registry.url, registry.tokens.admin, '@acme/cli', 1234);
    await seedDependents(registry.url, registry.tokens.admin, '@acme/cli', 7);
    await seedOwners(registry.url, registry.tokens.admin, '@acme/cli', [{ name: 'acme-release', email: 'release@example.invalid' }, { name: 'alice', email: 'alice@example.invalid' }]);
    const downloads = await raw('GET', '/downloads/point/last-week/@acme/cli');
    expect(downloads).toMatchObject({ status: 200, body: { downloads: 1234, package: '@acme/cli', start: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) } });
    const { start, end } = downloads.body as { start: string; end: string };
    expect(Date.parse(end) - Date.parse(start)).toBe(6 * 86_400_000);
    expect((await raw('GET', '/downloads/point/last-week/@acme%2fcore')).body).toMatchObject({ downloads: 0, package: '@acme/core' });
    expect((await raw('GET', '/downloads/point/last-week/@acme/none')).status).toBe(404);
    expect((await raw('GET', '/-/quarantine-standin/dependents/@acme%2fcli')).body).toEqual({ package: '@acme/cli', dependents: 7 });
    expect((await npm(['owner', 'ls', '@acme/cli'])).trim().split('\n')).toEqual(['acme-release <release@example.invalid>', 'alice <alice@example.invalid>']);

    expect((await raw('PUT', '/-/quarantine-standin/downloads/@acme%2fcli', registry.tokens.reader, { downloads: 1 })).status).toBe(403);
    expect((await raw('PUT', '/-/quarantine-standin/downloads/@acme%2fcli', registry.tokens.admin, { downloads: -1 })).status).toBe(400);
    expect((await raw('GET', '/downloads/point/last-week/@acme/cli')).body).toMatchObject({ downloads: 1234 });
  });
});
