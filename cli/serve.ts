// `quarantine serve`: the alert intake server, until SIGINT/SIGTERM.
import { serveConfigFromEnv } from '../server/config';
import { startIntake } from '../server/index';
import type { Output } from './contain';

export async function runServe(env: NodeJS.ProcessEnv, port: number | undefined, output: Output): Promise<number> {
  let config;
  try {
    config = serveConfigFromEnv(env, port);
  } catch (err) {
    output.err(`quarantine serve: ${(err as Error).message}`);
    return 2;
  }
  const intake = await startIntake(config, { logger: true });
  output.err(`quarantine serve: listening on ${intake.url} (journal in ${config.dataDir}/intake; task queue ${config.taskQueue}; owned: ${config.owned.join(', ') || 'none: every alert goes to the dependency side'})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await intake.close();
  return 0;
}
