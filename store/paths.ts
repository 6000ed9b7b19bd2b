// Where the product keeps its state on this machine: one data directory, shared by the CLI, the worker
// and the intake server (QUARANTINE_DATA_DIR, else the user's XDG data directory).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { INDEX_FILE } from './sqlite-store';

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return env.QUARANTINE_DATA_DIR || join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'quarantine');
}

export const releaseIndexFile = (env: NodeJS.ProcessEnv): string => join(defaultDataDir(env), INDEX_FILE);

/** The key that seals one-time passwords in Temporal payloads (worker/secret-codec.ts), unless QUARANTINE_SECRET_KEY is set. */
export const secretKeyFile = (env: NodeJS.ProcessEnv): string => join(defaultDataDir(env), 'secret.key');
