// Runs the real npm CLI against a registry: the reference client every registry write is checked with.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nerfDart } from '../core/registry-url';

const run = promisify(execFile);

// `npm test` exports npm_config_* for its scripts; a nested npm must not inherit the outer project's.
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith('npm_')) env[key] = value;
  }
  env.npm_config_loglevel = 'error';
  return env;
}

export interface NpmCli {
  (args: string[], options?: { cwd?: string }): Promise<string>;
  registry: string;
}

/**
 * An npm CLI bound to one registry and, optionally, one token, with a userconfig of its own so that
 * neither the user's ~/.npmrc nor this project's .npmrc leaks into what a test observes.
 */
export function npmCli(registry: string, token?: string): NpmCli {
  const home = mkdtempSync(join(tmpdir(), 'quarantine-npm-'));
  const userconfig = join(home, '.npmrc');
  writeFileSync(
    userconfig,
    [`registry=${registry}`, token ? `${nerfDart(registry)}:_authToken=${token}` : '', 'update-notifier=false', 'fund=false', 'audit=false', '']
      .join('\n'),
    { mode: 0o600 },
  );
  const cli = (async (args: string[], options: { cwd?: string } = {}) => {
    const { stdout } = await run(
      'npm',
      [...args, `--userconfig=${userconfig}`, `--registry=${registry}`, `--cache=${join(home, 'cache')}`, '--prefer-online'],
      { cwd: options.cwd ?? home, timeout: 120_000, maxBuffer: 16 * 1024 * 1024, env: cleanEnv() },
    );
    return stdout;
  }) as NpmCli;
  cli.registry = registry;
  return cli;
}

/**
 * `npm sbom --sbom-format cyclonedx --package-lock-only` in a project folder: the CycloneDX SBOM npm
 * itself generates. It reads the lockfile only, so the (unreachable) registry is never contacted.
 */
export function npmSbom(projectDir: string): Promise<string> {
  return npmCli('http://127.0.0.1:9/')(['sbom', '--sbom-format', 'cyclonedx', '--package-lock-only'], { cwd: projectDir });
}
