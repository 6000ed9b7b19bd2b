// Builds and runs the quarantine worker: workflows from the prebuilt bundle, activities from their
// dependencies (credentials from the worker's environment).
import { existsSync } from 'node:fs';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { createRegistryActivities } from '../activities/registry';
import { workerConfigFromEnv, type WorkerConfig } from './config';
import { WORKFLOW_BUNDLE_PATH } from './bundle';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  config: WorkerConfig;
  /** Extra worker options (tests set identity, shutdown grace). */
  overrides?: Partial<WorkerOptions>;
}

export function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  return existsSync(WORKFLOW_BUNDLE_PATH)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../workflows') };
}

export function createWorker({ connection, namespace, config, overrides }: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...workflowSource(),
    activities: createRegistryActivities(config.credentials),
    ...overrides,
  });
}

/** `quarantine worker`: connects with @temporalio/envconfig settings and runs until SIGINT/SIGTERM. */
export async function runWorker(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.error): Promise<void> {
  const config = workerConfigFromEnv(env);
  const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const worker = await createWorker({ connection, namespace, config });
    log(`quarantine worker: task queue ${config.taskQueue} on ${connectionOptions.address ?? 'localhost:7233'}/${namespace}, registry ${config.registry}${env.NPM_TOKEN ? ' (token set)' : ' (no NPM_TOKEN: read-only)'}`);
    await worker.run();
  } finally {
    await connection.close();
  }
}
