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
  // Free ports are asked for, then bound by the server: another process may take one in between (a
  // busy test run starts registries, proxies and servers at once). A server that exits while starting
  // is started again on other ports.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(binary, options);
    } catch (err) {
      if (!(err instanceof ExitedWhileStarting) || attempt >= START_ATTEMPTS) throw err;
      options.log?.(`the Temporal dev server exited while starting (${err.message}); starting it again on other ports`);
    }
  }
}

const START_ATTEMPTS = 3;

class ExitedWhileStarting extends Error {}

async function startOnce(binary: string, options: TemporalDevServerOptions): Promise<TemporalDevServer> {
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
  const exited = () => new ExitedWhileStarting(`it exited with code ${child.exitCode}: ${stderr.trim()}`);
  // An exit while starting ends the wait at once (the probes would only time out).
  let ended = false;
  const exitedEarly = new Promise<never>((_, reject) => child.once('exit', () => reject(exited())));
  exitedEarly.catch(() => undefined);
  try {
    await Promise.race([
      waitFor('Temporal dev server', async () => {
        if (ended) return true;
        await run(binary, ['operator', 'cluster', 'health', '--address', address], { timeout: 5_000 });
        // Its HTTP API too: a port taken by someone else there ends the server after gRPC is up.
        await fetch(`http://127.0.0.1:${httpPort}/`, { signal: AbortSignal.timeout(2_000) });
        return true;
      }, { timeoutMs: options.startTimeoutMs ?? 30_000 }),
      exitedEarly,
    ]);
    if (child.exitCode !== null) throw exited();
  } catch (err) {
    ended = true;
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
