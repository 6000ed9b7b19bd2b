// Builds and runs the quarantine worker: workflows from the prebuilt bundle, activities from their
// dependencies (credentials from the worker's environment).
import { existsSync } from 'node:fs';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client } from '@temporalio/client';
import { createIncidentActivities } from '../activities/incidents';
import { createProvenanceActivities } from '../activities/provenance';
import { createOfflineVerifier } from '../activities/provenance-verify';
import { createRegistryActivities } from '../activities/registry';
import { createReleaseIndexActivities } from '../activities/release-index';
import type { ReleaseIndex } from '../core/release-index';
import { openReleaseIndex } from '../store/sqlite-store';
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

/** Opens the release index on first use and keeps it for the process: the worker may start before the data directory exists. */
function lazyReleaseIndex(file: string): () => ReleaseIndex {
  let index: ReleaseIndex | undefined;
  return () => (index ??= openReleaseIndex(file));
}

export function createWorker({ connection, namespace, config, overrides }: CreateWorkerOptions): Promise<Worker> {
  // The worker's own connection serves the client that opens containment incidents from other incidents.
  const client = new Client({ connection, namespace });
  const index = lazyReleaseIndex(config.releaseIndexFile);
  const provenance = createProvenanceActivities({ registry: config.registry, credentials: config.credentials, verifier: createOfflineVerifier(config.sigstore) });
  return Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...workflowSource(),
    activities: {
      ...createRegistryActivities(config.credentials),
      ...createReleaseIndexActivities({ index, provenance }),
      ...createIncidentActivities(client, config.taskQueue),
    },
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
