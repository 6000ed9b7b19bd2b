// The Docker image's runtime stage, assembled without Docker from the Dockerfile's own lines: its ENV,
// its COPY lines (the context's files, and what it takes from the build stage, which is this built
// checkout) and its dependency install (the same `npm ci` command, against the npm registry through
// the npm cache). Then `serve` and `worker` run from that folder alone, as the compose services do,
// sharing one data directory: an SBOM posted to the intake is what the worker's blast radius reads.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import type { WatchView } from '../workflows/watch-incident';
import { watchQuery } from '../workflows/watch-incident';
import { freePort } from '../stack/ports';
import { npmSbom } from '../stack/npm-cli';
import { GITHUB_SECRETS, sendStandard, STANDARD_SECRETS } from './helpers/intake';
import { startUntilReadyOrExit, type StartedCli } from './helpers/cli-process';
import { pollUntil, temporalAddress, temporalNamespace, testClient, uniqueTaskQueue } from './helpers/stack';
import { dockerfileInstructions, type DockerfileInstruction } from './helpers/dockerfile';

const ROOT = join(__dirname, '..');
const DOCKERFILE = join(ROOT, 'Dockerfile');
/** The build stage's WORKDIR: what it holds there is this checkout, installed and built. */
const BUILD_WORKDIR = '/app';
const SBOM_PROJECT = join(__dirname, 'fixtures', 'sbom-projects', 'acme-core-1.2.2');

/** The steps after the last FROM: the image that ships. */
function runtimeStage(): DockerfileInstruction[] {
  const steps = dockerfileInstructions(readFileSync(DOCKERFILE, 'utf8'));
  return steps.slice(steps.map((step) => step.keyword).lastIndexOf('FROM'));
}

/** `RUN a && b`: the shell commands one by one. */
function commands(run: string): string[] {
  return run.split('&&').map((part) => part.trim()).filter(Boolean);
}

/**
 * RUN commands that make sense only inside an image, each with why it is not replayed here. Any other
 * command fails the test: a new step in the runtime stage must be replayed or explained.
 */
const IMAGE_ONLY: [RegExp, string][] = [
  [/^npm install --global --no-audit --no-fund "npm@\$\{NPM_VERSION\}"$/, 'the npm that runs here is checked against NPM_VERSION instead'],
  [/^npm cache clean --force$/, "it would empty this machine's npm cache; it only makes the layer smaller"],
  [/^mkdir \/data$/, 'the data directory is a temporary one here'],
  [/^chown node:node \/data$/, 'the data directory is a temporary one here'],
];

/** npm_config_* from an outer `npm test` must not change what the install does. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.toLowerCase().startsWith('npm_')) env[key] = value;
  return { ...env, ...extra };
}

function sh(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`\`${command}\` exited ${code}: ${stderr}`))));
  });
}

interface Assembled {
  dir: string;
  env: Record<string, string>;
  replayed: string[];
}

/** Builds the runtime stage's /app in `dir`, one Dockerfile step at a time. */
async function assembleRuntimeStage(dir: string): Promise<Assembled> {
  const env: Record<string, string> = {};
  const replayed: string[] = [];
  const npmVersion = /^ARG NPM_VERSION=(\S+)$/m.exec(readFileSync(DOCKERFILE, 'utf8'))?.[1];
  for (const { keyword, args } of runtimeStage()) {
    if (keyword === 'ENV') {
      for (const pair of args.split(/\s+/)) {
        const [key, ...value] = pair.split('=');
        env[key!] = value.join('=');
      }
    } else if (keyword === 'COPY') {
      const words = args.split(/\s+/);
      const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((word) => !word.startsWith('--'));
      const destination = paths.pop()!;
      for (const source of paths) {
        let origin: string;
        if (from === undefined) origin = join(ROOT, source);
        else if (from === 'build' && source.startsWith(`${BUILD_WORKDIR}/`)) origin = join(ROOT, posix.relative(BUILD_WORKDIR, source));
        else throw new Error(`COPY ${args}: no stand-in for stage ${from}`);
        if (!existsSync(origin)) throw new Error(`COPY ${args}: ${origin} does not exist (npm run build first)`);
        // Docker's rule: a destination ending in / is a folder the source goes into.
        const target = destination.endsWith('/') ? join(dir, destination, posix.basename(source)) : join(dir, destination);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(origin, target, { recursive: true });
      }
      replayed.push(`COPY ${args}`);
    } else if (keyword === 'RUN') {
      for (const command of commands(args)) {
        if (/^npm ci\b/.test(command)) {
          const npm = execFileSync('npm', ['--version'], { env: cleanEnv({}) }).toString().trim();
          if (npm !== npmVersion) throw new Error(`the image installs with npm ${npmVersion}; this machine has npm ${npm}`);
          await sh(command, dir, cleanEnv({ ...env, npm_config_loglevel: 'error', npm_config_update_notifier: 'false' }));
          replayed.push(`RUN ${command}`);
        } else if (!IMAGE_ONLY.some(([pattern]) => pattern.test(command))) {
          throw new Error(`the runtime stage runs \`${command}\`, which this test neither replays nor explains`);
        }
      }
    }
  }
  return { dir, env, replayed };
}

let image: Assembled;
let dataDir: string;
const started: StartedCli[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'quarantine-runtime-stage-'));
  dataDir = mkdtempSync(join(tmpdir(), 'quarantine-runtime-data-'));
  image = await assembleRuntimeStage(dir);
}, 900_000);

afterAll(async () => {
  for (const child of started) await child.stop();
  if (image) rmSync(image.dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

test('the runtime stage replays as: production dependencies without scripts, the build output, the SQLite binding', () => {
  expect(image.replayed).toEqual([
    'COPY package.json package-lock.json .npmrc ./',
    'RUN npm ci --omit=dev --ignore-scripts',
    'COPY --from=build /app/dist ./dist',
    'COPY --from=build /app/bin ./bin',
    'COPY --from=build /app/node_modules/better-sqlite3/build/Release/better_sqlite3.node ./node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  ]);
  expect(image.env).toMatchObject({ NODE_ENV: 'production', QUARANTINE_DATA_DIR: '/data' });
  // Nothing of this checkout's node_modules came along but the binding: no dev dependency is there.
  expect(existsSync(join(image.dir, 'node_modules', 'jest'))).toBe(false);
  expect(existsSync(join(image.dir, 'node_modules', 'better-sqlite3', 'lib'))).toBe(true);
});

test('serve and worker start from it on one data directory, and the worker answers from the SBOMs posted to serve', async () => {
  const taskQueue = uniqueTaskQueue('runtime-image');
  const bin = join(image.dir, 'bin', 'quarantine.js');
  // As in docker-compose.yml, where both services mount the one volume at QUARANTINE_DATA_DIR.
  const shared = {
    ...image.env,
    QUARANTINE_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    QUARANTINE_TASK_QUEUE: taskQueue,
    QUARANTINE_REGISTRY: process.env.QUARANTINE_TEST_REGISTRY_URL!,
  };
  const port = await freePort();
  const serve = await startUntilReadyOrExit(bin, ['serve'], {
    ...shared,
    HOST: '127.0.0.1',
    PORT: String(port),
    QUARANTINE_OWNED_PACKAGES: '@acme/*',
    GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','),
    QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','),
  }, /quarantine serve: listening on /);
  started.push(serve);
  expect({ exited: serve.exitCode, stderr: serve.exitCode === undefined ? '' : serve.stderr() }).toEqual({ exited: undefined, stderr: '' });
  const worker = await startUntilReadyOrExit(bin, ['worker'], shared, /quarantine worker: task queue /);
  started.push(worker);
  expect({ exited: worker.exitCode, stderr: worker.exitCode === undefined ? '' : worker.stderr() }).toEqual({ exited: undefined, stderr: '' });

  const url = `http://127.0.0.1:${port}`;
  expect((await fetch(`${url}/readyz`)).status).toBe(200);
  const posted = await sendStandard(url, '/v1/sboms', await npmSbom(SBOM_PROJECT), { contentType: 'application/vnd.cyclonedx+json' });
  expect(posted).toMatchObject({ status: 201, body: { release: { name: '@acme/core', version: '1.2.2' } } });

  // A dependency of @acme/core@1.2.2 (is@3.3.1, in that SBOM) is reported: the worker's blast radius
  // must find our release, which only the intake's write to the shared index can have told it.
  const alert = await sendStandard(url, '/v1/alerts', JSON.stringify({ id: `runtime-${taskQueue}`, kind: 'vulnerability', severity: 'high', title: 'a flaw in is', package: { name: 'is', versions: ['3.3.1'] } }));
  expect(alert.status).toBe(202);
  const incident = alert.body.incidents?.find((i) => i.kind === 'dependency')?.incident;
  expect(incident).toBeDefined();

  const stack = await testClient();
  try {
    const view: WatchView = await pollUntil(
      () => stack.client.workflow.getHandle(incident!).query(watchQuery),
      (v) => v.blastRadius !== undefined || v.assessmentError !== undefined,
      180_000,
    );
    expect(view.assessmentError).toBeUndefined();
    expect(view.blastRadius?.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.2']);
  } finally {
    await stack.close();
  }
}, 300_000);
