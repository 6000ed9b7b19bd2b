// A long-running `quarantine <command>` whose start-up is under test: it either prints its ready line
// or exits, and the test needs to know which, with everything it printed.
import { spawn, type ChildProcess } from 'node:child_process';
import { stopChild } from '../../stack/process';

export interface StartedCli {
  child: ChildProcess;
  /** Set when the process exited before it was ready. */
  exitCode?: number | null;
  stderr(): string;
  stop(): Promise<void>;
}

/** Runs `node <bin> args` with exactly `env` on top of this process's environment. */
export function startUntilReadyOrExit(bin: string, args: string[], env: Record<string, string | undefined>, ready: RegExp, timeoutMs = 120_000): Promise<StartedCli> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const started: StartedCli = { child, stderr: () => stderr, stop: () => stopChild(child) };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child);
      reject(new Error(`quarantine ${args.join(' ')} neither became ready nor exited within ${timeoutMs} ms: ${stderr}`));
    }, timeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (ready.test(stderr)) {
        clearTimeout(timer);
        resolve(started);
      }
    });
    // 'close', not 'exit': by then everything the process printed has been read.
    child.on('close', (code) => {
      clearTimeout(timer);
      started.exitCode = code;
      resolve(started);
    });
    child.on('error', reject);
  });
}
