// Starts `temporal server start-dev` on free loopback ports, with the search attributes the product uses
// (unless told to start it bare, as an operator's server would be).
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ensureTemporalCli } from './temporal-cli';
import { freePort, waitFor } from './ports';
import { stopChild } from './process';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const run = promisify(execFile);

export interface TemporalDevServer {
  address: string;
  namespace: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  /** Serve the Temporal Web UI too (the local demo does; tests do not). */
  ui?: boolean;
  /** Keep history on disk in this SQLite file; in memory when absent. */
  dbFile?: string;
  /** Define the product's search attributes at start (default); false starts a server that lacks them. */
  searchAttributes?: boolean;
  /** Namespaces to create besides `default`. */
  namespaces?: string[];
  /** Server settings (`--dynamic-config-value key=value`), e.g. a lower continue-as-new suggestion. */
  dynamicConfig?: Record<string, string | number>;
  /** How long to wait for it to serve (default 30 s). */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export async function startTemporalDevServer(options: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const binary = await ensureTemporalCli(process.env, options.log);
  const [grpcPort, httpPort, metricsPort, uiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(grpcPort),
    '--http-port', String(httpPort),
    '--metrics-port', String(metricsPort),
    '--log-level', 'error',
    ...(options.ui ? ['--ui-port', String(uiPort)] : ['--headless']),
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.namespaces ?? []).flatMap((namespace) => ['--namespace', namespace]),
    ...Object.entries(options.dynamicConfig ?? {}).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${value}`]),
    ...(options.searchAttributes === false ? [] : SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`])),
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${grpcPort}`;
  const stop = () => stopChild(child);
  try {
    await waitFor('Temporal dev server', async () => {
      if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}: ${stderr.trim()}`);
      await run(binary, ['operator', 'cluster', 'health', '--address', address], { timeout: 5_000 });
      return true;
    }, { timeoutMs: options.startTimeoutMs ?? 30_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    address,
    namespace: 'default',
    ...(options.ui ? { uiUrl: `http://127.0.0.1:${uiPort}` } : {}),
    pid: child.pid ?? -1,
    stop,
  };
}
