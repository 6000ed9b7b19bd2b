// Starts a long-running `quarantine <command>` (worker, serve) in its own process, as deployed.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../worker/bundle';

export const CLI_BIN = join(packageRoot(__dirname), 'bin', 'quarantine.js');

/**
 * Resolves once the command prints `ready` on stderr; rejects if it exits first. `nodeArgs` go to node
 * itself (a benchmark's `--cpu-prof`, which NODE_OPTIONS may not carry).
 */
export function startCliProcess(args: string[], env: NodeJS.ProcessEnv, ready: string, nodeArgs: string[] = []): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes(ready)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`quarantine ${args[0]} exited (${code}) before it was ready: ${stderr}`)));
  });
}
