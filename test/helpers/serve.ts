// `quarantine serve` in its own process, as deployed (configured from the environment), with
// everything it writes to stdout and stderr kept for the test to read.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './stack';

export interface RunningServe {
  url: string;
  log: () => string;
  stop(): Promise<void>;
}

export async function startServe(env: Record<string, string>): Promise<RunningServe> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`quarantine serve exited (${code}): ${output}`)));
  });
  return {
    url,
    log: () => output,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
