// The recorder's own Temporal dev server: the same binary and search attributes as the test stack's,
// with the server's continue-as-new suggestion lowered from 4096 events to a few hundred, so that the
// continue-as-new path of a long incident is recorded from a few dozen reports instead of thousands.
// The suggestion reaches the workflow as workflowInfo().continueAsNewSuggested, which the history
// records on each workflow task; replay reads it from there, whatever the threshold was.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, waitFor } from '../../stack/ports';
import { stopChild } from '../../stack/process';
import { ensureTemporalCli } from '../../stack/temporal-cli';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

const run = promisify(execFile);

/** Above every non-continue-as-new scenario's history (the longest, failed then retried, is under 100 events). */
export const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 200;

export interface RecorderServer {
  address: string;
  stop(): Promise<void>;
}

export async function startRecorderServer(): Promise<RecorderServer> {
  const binary = await ensureTemporalCli(process.env);
  const [grpcPort, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(binary, [
    'server', 'start-dev', '--headless',
    '--ip', '127.0.0.1',
    '--port', String(grpcPort),
    '--http-port', String(httpPort),
    '--metrics-port', String(metricsPort),
    '--log-level', 'error',
    '--dynamic-config-value', `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS}`,
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${grpcPort}`;
  const stop = () => stopChild(child);
  try {
    await waitFor('the recorder\'s Temporal dev server', async () => {
      if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}: ${stderr.trim()}`);
      await run(binary, ['operator', 'cluster', 'health', '--address', address], { timeout: 5_000 });
      return true;
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, stop };
}
