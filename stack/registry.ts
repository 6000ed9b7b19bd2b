// A local npm registry (Verdaccio on loopback, htpasswd auth, no uplinks) seeded with fixture releases
// through the real npm CLI, and with npm attestations (minted, stack/provenance-mint.ts) served by the
// stack's attestations plugin (stack/verdaccio-plugins). Seeding is slow (one npm process per publish),
// so a seeded registry folder can serve as a template that later registries copy.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';
import { npmCli } from './npm-cli';
import { stopChild } from './process';
import { NPMJS_STANDIN_FOLDER } from './verdaccio-plugins/npmjs-state';
import { seedFixtureProvenance, sigstoreTrustFiles } from './provenance-mint';

// Verdaccio loads plugins as JavaScript: from the build (dist/stack) this folder, from the sources
// (jest runs the stack from TypeScript) the build's copy.
const PLUGINS_DIR = existsSync(join(__dirname, 'verdaccio-plugins', 'verdaccio-attestations.js'))
  ? join(__dirname, 'verdaccio-plugins')
  : join(__dirname, '..', 'dist', 'stack', 'verdaccio-plugins');

export const ADMIN_USER = 'acme-release';
/** The one-time password the registry's npmjs stand-in accepts for 2FA-gated writes. */
export const REGISTRY_OTP = '246810';
/** A user who may read but not publish: its token is the "token without write rights". */
export const READER_USER = 'acme-reader';

export interface RegistryTokens {
  admin: string;
  reader: string;
}

export interface LocalRegistry {
  url: string;
  dir: string;
  tokens: RegistryTokens;
  pid: number;
  /** Files (in `dir`) with the Sigstore trusted root and npm keys that verify the seeded attestations. */
  sigstore: { trustedRoot: string; npmKeys: string };
  stop(): Promise<void>;
}

export interface FixtureRelease {
  name: string;
  version: string;
  tag?: string;
  deprecated?: string;
}

/** The demo and test fleet. `@acme/core` 1.2.3 is the release the demo contains. */
export const FIXTURE_RELEASES: readonly FixtureRelease[] = [
  { name: '@acme/core', version: '1.2.0' },
  { name: '@acme/core', version: '1.2.1' },
  { name: '@acme/core', version: '1.2.2' },
  { name: '@acme/core', version: '1.2.3' },
  { name: '@acme/cli', version: '2.0.0' },
  { name: '@acme/cli', version: '2.0.1' },
  { name: '@acme/cli', version: '2.1.0-beta.0', tag: 'next' },
  { name: '@acme/utils', version: '1.0.0' },
  { name: '@acme/utils', version: '1.1.0', deprecated: 'broken build, use 1.0.0' },
  { name: '@acme/utils', version: '1.2.0' },
  { name: '@acme/solo', version: '1.0.0' },
];

function verdaccioConfig(): string {
  // Deprecate needs both publish and unpublish rights in Verdaccio.
  return [
    'storage: ./storage',
    'auth:',
    '  htpasswd:',
    '    file: ./htpasswd',
    '    max_users: 100',
    'uplinks: {}',
    'packages:',
    "  '**':",
    '    access: $all',
    `    publish: ${ADMIN_USER}`,
    `    unpublish: ${ADMIN_USER}`,
    // npm's attestations API (GET/PUT /-/npm/v1/attestations/<name>@<version>, dist.attestations).
    `plugins: ${JSON.stringify(PLUGINS_DIR)}`,
    'middlewares:',
    '  attestations:',
    '    storage: ./attestations',
    // npmjs-only routes (trust, stage, tokens, access, downloads) and their write log.
    '  npmjs:',
    `    storage: ./${NPMJS_STANDIN_FOLDER}`,
    `    otp: ${JSON.stringify([REGISTRY_OTP])}`,
    // JWT API tokens: a legacy token makes Verdaccio re-check the bcrypt password on every request (~90 ms).
    'security:',
    '  api:',
    '    legacy: false',
    '    jwt:',
    '      sign:',
    '        expiresIn: 30d',
    'web:',
    '  enable: false',
    'log: { type: stdout, format: json, level: error }',
    '',
  ].join('\n');
}

async function addUser(url: string, name: string): Promise<string> {
  const response = await fetch(new URL(`/-/user/org.couchdb.user:${encodeURIComponent(name)}`, url), {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password: `${name}-local-only`, email: `${name}@example.invalid` }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (!response.ok || !body.token) throw new Error(`could not create registry user ${name}: ${response.status} ${body.error ?? ''}`);
  return body.token;
}

async function startVerdaccio(dir: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const bin = require.resolve('verdaccio/bin/verdaccio');
  const child = spawn(process.execPath, [bin, '--config', join(dir, 'config.yaml'), '--listen', `127.0.0.1:${port}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = () => stopChild(child);
  try {
    await waitFor('Verdaccio', async () => {
      if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}: ${stderr.trim()}`);
      return (await fetch(new URL('/-/ping', url))).ok;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid ?? -1, stop };
}

async function publishFixtures(url: string, token: string, releases: readonly FixtureRelease[]): Promise<void> {
  const npm = npmCli(url, token);
  const work = mkdtempSync(join(tmpdir(), 'quarantine-fixtures-'));
  const byPackage = new Map<string, FixtureRelease[]>();
  for (const release of releases) byPackage.set(release.name, [...(byPackage.get(release.name) ?? []), release]);
  // Versions of one package go in order (each publish rewrites its packument); packages go in parallel.
  await Promise.all(
    [...byPackage.values()].map(async (versions) => {
      for (const release of versions) {
        const dir = join(work, `${release.name.replace('/', '__')}-${release.version}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          join(dir, 'package.json'),
          JSON.stringify({ name: release.name, version: release.version, description: 'quarantine fixture', main: 'index.js', license: 'MIT' }),
        );
        writeFileSync(join(dir, 'index.js'), `module.exports = ${JSON.stringify(`${release.name}@${release.version}`)};\n`);
        await npm(['publish', dir, ...(release.tag ? ['--tag', release.tag] : [])]);
        if (release.deprecated) await npm(['deprecate', `${release.name}@${release.version}`, release.deprecated]);
      }
    }),
  );
}

/** Creates a registry folder, starts Verdaccio on it, creates users and publishes the fixtures. */
export async function startSeededRegistry(releases: readonly FixtureRelease[] = FIXTURE_RELEASES): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'quarantine-registry-'));
  mkdirSync(join(dir, 'storage'));
  writeFileSync(join(dir, 'config.yaml'), verdaccioConfig());
  writeFileSync(join(dir, 'htpasswd'), '');
  const server = await startVerdaccio(dir);
  try {
    const tokens: RegistryTokens = { admin: await addUser(server.url, ADMIN_USER), reader: await addUser(server.url, READER_USER) };
    writeFileSync(join(dir, 'tokens.json'), JSON.stringify(tokens), { mode: 0o600 });
    await publishFixtures(server.url, tokens.admin, releases);
    await seedFixtureProvenance(server.url, tokens.admin, dir, releases);
    return { ...server, dir, tokens, sigstore: sigstoreTrustFiles(dir) };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/**
 * Starts a fresh registry from a copy of a seeded registry's folder (its storage, users and token
 * secret): the same releases and tokens, in about a second, isolated from every other copy.
 */
export async function startRegistryFromTemplate(templateDir: string): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'quarantine-registry-'));
  cpSync(templateDir, dir, { recursive: true });
  const tokens = JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8')) as RegistryTokens;
  const server = await startVerdaccio(dir);
  return { ...server, dir, tokens, sigstore: sigstoreTrustFiles(dir) };
}
