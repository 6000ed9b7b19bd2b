// The deployment files, checked offline: docker-compose 1.29 validates and renders docker-compose.yml
// (no Docker engine needed), and the Dockerfile is read for its supply-chain rules.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { dockerfileInstructions } from './helpers/dockerfile';

const run = promisify(execFile);

const ROOT = join(__dirname, '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const DOCKERFILE = join(ROOT, 'Dockerfile');
const NOT_INSTALLED =
  'docker-compose is not installed: apt-get install docker-compose ' +
  "(Debian's 1.29 validates docker-compose.yml offline; no Docker engine is needed)";

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  restart?: string;
  volumes?: string[];
}

interface Rendered {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

let scratch: string;
let emptyEnvFile: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'quarantine-compose-'));
  emptyEnvFile = join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/**
 * Runs docker-compose on the project's file with exactly `vars` in its environment: neither the
 * caller's variables (a real NPM_TOKEN) nor a developer's .env can change what is checked.
 */
async function compose(args: string[], vars: Record<string, string>): Promise<Outcome> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...vars };
  if (process.env.HOME) env.HOME = process.env.HOME;
  try {
    const { stdout, stderr } = await run('docker-compose', ['--env-file', emptyEnvFile, '-f', COMPOSE_FILE, ...args], {
      cwd: ROOT,
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failure = err as { code?: unknown; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(NOT_INSTALLED);
    if (typeof failure.code === 'number') return { code: failure.code, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
    throw err;
  }
}

/** docker-compose 1.29 prints YAML only; its own dependency PyYAML turns that into JSON. */
async function yamlToJson(text: string): Promise<unknown> {
  const script = 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)';
  const pending = run('python3', ['-c', script], { timeout: 30_000 });
  pending.child.stdin?.end(text);
  const { stdout } = await pending;
  return JSON.parse(stdout);
}

const REQUIRED = {
  POSTGRES_PASSWORD: 'compose-test-password',
  GITHUB_WEBHOOK_SECRETS: 'compose-test-github-secret',
  QUARANTINE_WEBHOOK_SECRETS: 'whsec_Y29tcG9zZS10ZXN0LXN0YW5kYXJkLXdlYmhvb2tz',
  QUARANTINE_OWNED_PACKAGES: '@acme/*',
};

async function render(vars: Record<string, string>): Promise<Rendered> {
  const outcome = await compose(['config'], vars);
  expect(outcome).toMatchObject({ code: 0 });
  return (await yamlToJson(outcome.stdout)) as Rendered;
}

// Each docker-compose run costs most of a second: the usual rendering is shared.
let usual: Promise<Rendered> | undefined;
function rendered(): Promise<Rendered> {
  usual ??= render(REQUIRED);
  return usual;
}

function service(config: Rendered, name: string): Service {
  const found = config.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

describe('docker-compose.yml', () => {
  it('is valid for docker-compose 1.29 once the required variables are set', async () => {
    const outcome = await compose(['config', '-q'], REQUIRED);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
  });

  it('refuses to start without POSTGRES_PASSWORD, and says which variable is missing', async () => {
    const outcome = await compose(['config', '-q'], {});
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toContain('POSTGRES_PASSWORD');
  });

  it('refuses to start the intake without its webhook secrets, naming them', async () => {
    for (const missing of ['GITHUB_WEBHOOK_SECRETS', 'QUARANTINE_WEBHOOK_SECRETS'] as const) {
      const vars: Record<string, string> = { ...REQUIRED };
      delete vars[missing];
      const outcome = await compose(['config', '-q'], vars);
      expect(outcome.code).not.toBe(0);
      expect(outcome.stderr).toContain(missing);
    }
  });

  it('refuses to start the intake without QUARANTINE_OWNED_PACKAGES (serve would refuse), naming it', async () => {
    const vars: Record<string, string> = { ...REQUIRED };
    delete vars.QUARANTINE_OWNED_PACKAGES;
    const outcome = await compose(['config', '-q'], vars);
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toContain('QUARANTINE_OWNED_PACKAGES must be set');
    expect(service(await rendered(), 'intake').environment?.QUARANTINE_OWNED_PACKAGES).toBe('@acme/*');
  });

  it('gives the intake and the worker one data directory on one named volume: the index SBOMs go to is the one blast radii read', async () => {
    const config = await rendered();
    const dataMount = (name: string) => {
      const svc = service(config, name);
      const mounts = (svc.volumes ?? []).map(String).filter((v) => v.split(':')[1] === svc.environment?.QUARANTINE_DATA_DIR);
      expect({ name, mounts: mounts.length }).toEqual({ name, mounts: 1 });
      return mounts[0]!.split(':')[0];
    };
    expect(service(config, 'worker').environment?.QUARANTINE_DATA_DIR).toBe('/data');
    expect(service(config, 'intake').environment?.QUARANTINE_DATA_DIR).toBe('/data');
    const volume = dataMount('intake');
    expect(dataMount('worker')).toBe(volume);
    expect(Object.keys(config.volumes ?? {})).toContain(volume);
  });

  it('runs quarantine serve beside the worker, its journal on a volume', async () => {
    const intake = service(await rendered(), 'intake');
    expect(intake.build?.context).toBe(ROOT);
    expect(intake.command).toEqual(['serve']);
    expect(intake.environment).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      QUARANTINE_DATA_DIR: '/data',
      GITHUB_WEBHOOK_SECRETS: REQUIRED.GITHUB_WEBHOOK_SECRETS,
      QUARANTINE_WEBHOOK_SECRETS: REQUIRED.QUARANTINE_WEBHOOK_SECRETS,
    });
    expect(intake.volumes?.some((v) => String(v).includes('/data'))).toBe(true);
    expect(intake.ports?.every((p) => String(p).startsWith('127.0.0.1:'))).toBe(true);
  });

  it('runs the worker image built here against the Temporal service', async () => {
    const config = await rendered();
    const worker = service(config, 'worker');
    expect(worker.build?.context).toBe(ROOT);
    expect(worker.command).toEqual(['worker']);
    expect(worker.restart).toBe('unless-stopped');
    expect(worker.environment).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal:7233',
      TEMPORAL_NAMESPACE: 'default',
      QUARANTINE_REGISTRY: 'https://registry.npmjs.org/',
      GITHUB_API_URL: 'https://api.github.com',
    });
    expect(worker.depends_on).toMatchObject({
      temporal: { condition: 'service_healthy' },
      'temporal-search-attributes': { condition: 'service_completed_successfully' },
    });
  });

  it('holds no token or password: they come from the environment only', async () => {
    const unset = service(await rendered(), 'worker').environment;
    expect(unset?.NPM_TOKEN).toBe('');
    expect(unset?.GITHUB_TOKEN).toBe('');

    const passed = service(
      await render({ ...REQUIRED, NPM_TOKEN: 'npm-token-from-env', GITHUB_TOKEN: 'github-token-from-env' }),
      'worker',
    ).environment;
    expect(passed?.NPM_TOKEN).toBe('npm-token-from-env');
    expect(passed?.GITHUB_TOKEN).toBe('github-token-from-env');

    const text = readFileSync(COMPOSE_FILE, 'utf8');
    expect(text).not.toMatch(/\bnpm_[A-Za-z0-9]{36}\b/);
    expect(text).not.toMatch(/\bgh[pousr]_[A-Za-z0-9]{36,}\b|github_pat_/);
    // Every secret-bearing key holds a variable reference (or a YAML alias of one), never a literal.
    const secrets = [...text.matchAll(/^\s*([\w-]*(?:token|password|pwd)):\s*(.*)$/gim)];
    expect(secrets.length).toBeGreaterThan(0);
    for (const [, key, value] of secrets) {
      expect({ key, value }).toEqual({ key, value: expect.stringMatching(/^(&[\w-]+\s+)?(\$\{|\*)/) });
    }
  });

  it('hands the database password to every service that needs it from the one variable', async () => {
    const config = await rendered();
    expect(service(config, 'postgresql').environment?.POSTGRES_PASSWORD).toBe(REQUIRED.POSTGRES_PASSWORD);
    expect(service(config, 'temporal-admin-tools').environment?.SQL_PASSWORD).toBe(REQUIRED.POSTGRES_PASSWORD);
    expect(service(config, 'temporal').environment?.POSTGRES_PWD).toBe(REQUIRED.POSTGRES_PASSWORD);
    expect(service(config, 'postgresql').volumes).toContain('postgresql-data:/var/lib/postgresql/data:rw');
    expect(Object.keys(config.volumes ?? {})).toContain('postgresql-data');
  });

  it('creates the search attributes the workflows set, before the worker starts', async () => {
    const setup = service(await rendered(), 'temporal-search-attributes');
    const script = (setup.command ?? []).join(' ');
    expect(script).toContain('temporal operator search-attribute create --address temporal:7233');
    for (const key of SEARCH_ATTRIBUTES) {
      expect(script.toLowerCase()).toContain(`--name ${key.name} --type ${key.type}`.toLowerCase());
    }
    expect(setup.depends_on).toMatchObject({ temporal: { condition: 'service_healthy' } });
  });

  it('pins the Temporal images and sets the schema up before the server starts', async () => {
    const config = await rendered();
    const tag = /:\d+\.\d+\.\d+$/;
    for (const name of ['temporal', 'temporal-admin-tools', 'temporal-search-attributes', 'temporal-ui']) {
      expect(service(config, name).image).toMatch(tag);
    }
    expect(service(config, 'temporal').image).toMatch(/^temporalio\/server:/);
    expect(service(config, 'temporal-ui').image).toMatch(/^temporalio\/ui:/);
    expect(service(config, 'temporal').depends_on).toMatchObject({
      'temporal-admin-tools': { condition: 'service_completed_successfully' },
    });
  });

  it('binds the UI and the unauthenticated gRPC port to loopback by default', async () => {
    const config = await rendered();
    expect(service(config, 'temporal-ui').ports).toEqual([expect.stringMatching(/^127\.0\.0\.1:8080:8080(\/tcp)?$/)]);
    expect(service(config, 'temporal').ports).toEqual([expect.stringMatching(/^127\.0\.0\.1:7233:7233(\/tcp)?$/)]);
    for (const [name, svc] of Object.entries(config.services)) {
      for (const port of svc.ports ?? []) expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:/) });
    }
  });
});

describe('Dockerfile', () => {
  const steps = dockerfileInstructions(readFileSync(DOCKERFILE, 'utf8'));
  const lastFrom = steps.map((step) => step.keyword).lastIndexOf('FROM');
  const runtime = steps.slice(lastFrom);

  it('pins every base image by digest', () => {
    const froms = steps.filter((step) => step.keyword === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = from.args.split(/\s+/).find((word) => !word.startsWith('--'));
      expect(image).toMatch(/^[^\s@]+:[^\s@]+@sha256:[0-9a-f]{64}$/);
    }
  });

  it('installs from the lockfile with npm ci, and only production dependencies without scripts at run time', () => {
    const runs = steps.filter((step) => step.keyword === 'RUN').map((step) => step.args);
    expect(runs.some((args) => /\bnpm ci\b/.test(args))).toBe(true);
    expect(runs.some((args) => /\bnpm (install|i)\b(?!.*--global)/.test(args))).toBe(false);
    const runtimeRuns = runtime.filter((step) => step.keyword === 'RUN').map((step) => step.args);
    expect(runtimeRuns.some((args) => /\bnpm ci\b/.test(args) && args.includes('--omit=dev') && args.includes('--ignore-scripts'))).toBe(true);
  });

  it('ships the better-sqlite3 binding its build stage compiled, on the same base image', () => {
    const froms = steps.filter((step) => step.keyword === 'FROM').map((step) => step.args.split(/\s+/)[0]);
    expect(new Set(froms).size).toBe(1);
    const copies = runtime.filter((step) => step.keyword === 'COPY').map((step) => step.args);
    expect(copies).toContain('--from=build /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node ./node_modules/better-sqlite3/build/Release/better_sqlite3.node');
  });

  it('runs as a non-root user', () => {
    const users = runtime.filter((step) => step.keyword === 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]?.args.split(':')[0];
    expect(user).not.toMatch(/^(root|0)$/);
  });

  it('starts the worker through the package bin', () => {
    const last = (keyword: string): unknown => {
      const found = runtime.filter((step) => step.keyword === keyword);
      const step = found[found.length - 1];
      return step ? JSON.parse(step.args) : undefined;
    };
    expect(last('ENTRYPOINT')).toEqual(['node', 'bin/quarantine.js']);
    expect(last('CMD')).toEqual(['worker']);
  });

  it('keeps dependencies, build output, git history and local secrets out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env']));
  });
});
