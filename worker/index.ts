// Builds and runs the quarantine worker: workflows from the prebuilt bundle, activities from their
// dependencies (credentials from the worker's environment).
import { existsSync } from 'node:fs';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client } from '@temporalio/client';
import { createGithubActivities } from '../activities/github';
import { createGithubTargetActivities } from '../activities/github-targets';
import { createIncidentActivities } from '../activities/incidents';
import { createPackageWriterActivities } from '../activities/package-writers';
import { createPlaybookActivities } from '../activities/npm-playbook';
import { createProvenanceActivities } from '../activities/provenance';
import { createOfflineVerifier } from '../activities/provenance-verify';
import { createRegistryActivities } from '../activities/registry';
import { createReleaseIndexActivities } from '../activities/release-index';
import type { ReleaseIndex } from '../core/release-index';
import { openReleaseIndex } from '../store/sqlite-store';
import { cleartextTokenWarning, workerConfigFromEnv, type WorkerConfig } from './config';
import { createCommand, ensureSearchAttributes } from './search-attributes';
import { describeTemporalFailure, TemporalRefusal, type TemporalTarget } from './temporal-refusal';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { WORKFLOW_BUNDLE_PATH } from './bundle';
import { SealedSecretCodec } from './secret-codec';

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
  const codec = new SealedSecretCodec(config.secretKey);
  // The worker's own connection serves the client that opens containment incidents from other incidents
  // and hands writes to package writers: with the codec, so a password it passes on stays sealed.
  const client = new Client({ connection, namespace, dataConverter: { payloadCodecs: [codec] } });
  const index = lazyReleaseIndex(config.releaseIndexFile);
  const provenance = createProvenanceActivities({ registry: config.registry, credentials: config.credentials, verifier: createOfflineVerifier(config.sigstore) });
  return Worker.create({
    connection,
    namespace,
    taskQueue: config.taskQueue,
    ...workflowSource(),
    dataConverter: { payloadCodecs: [codec] },
    activities: {
      ...createRegistryActivities(config.credentials),
      ...createPlaybookActivities({ credentials: config.credentials, ...config.playbook }),
      ...createReleaseIndexActivities({ index, provenance }),
      ...createIncidentActivities(client, config.taskQueue, config.policy),
      ...createPackageWriterActivities(client, config.taskQueue, config.writerIdleTimeoutMs),
      ...createGithubTargetActivities({ credentials: config.credentials, index, configured: config.github !== undefined }),
      // Only with GitHub settings: a worker without them has nothing to act on GitHub with.
      ...(config.github ? createGithubActivities(config.github) : {}),
    },
    ...overrides,
  });
}

/**
 * `quarantine worker`: connects with @temporalio/envconfig settings, makes sure the namespace has the
 * incidents' search attributes, and runs until SIGINT/SIGTERM. Whatever Temporal refuses at start
 * comes out as a TemporalRefusal: one line saying what to do.
 */
export async function runWorker(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = console.error): Promise<void> {
  const config = workerConfigFromEnv(env);
  const warning = cleartextTokenWarning(config.registry, env.NPM_TOKEN || undefined, env);
  const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
  const target: TemporalTarget = { address: connectionOptions.address ?? 'localhost:7233', namespace };
  const refusal = (err: unknown) => {
    const line = describeTemporalFailure(err, target);
    return line === undefined ? err : new TemporalRefusal(line);
  };
  const connection = await NativeConnection.connect(connectionOptions).catch((err: unknown) => {
    throw refusal(err);
  });
  try {
    const check = await ensureSearchAttributes(connection.operatorService, target);
    if (check.outcome === 'created') log(`quarantine worker: created the search attributes ${check.names.join(', ')} on namespace ${namespace}`);
    if (check.outcome === 'unchecked') log(`quarantine worker: could not list the namespace's search attributes (${check.reason}); incidents fail if ${SEARCH_ATTRIBUTES.map((key) => key.name).join(', ')} are missing: ${createCommand(target, SEARCH_ATTRIBUTES)}`);
    const worker = await createWorker({ connection, namespace, config }).catch((err: unknown) => {
      throw refusal(err);
    });
    if (warning) log(`quarantine worker: ${warning}`);
    log(`quarantine worker: task queue ${config.taskQueue} on ${target.address}/${namespace}, registry ${config.registry}${env.NPM_TOKEN ? ' (token set)' : ' (no NPM_TOKEN: read-only)'}, GitHub ${config.github ? `${config.github.apiUrl} (${config.github.auth.kind === 'app' ? `App ${config.github.auth.appId}` : 'token'})` : 'not configured'}`);
    await worker.run().catch((err: unknown) => {
      throw refusal(err);
    });
  } finally {
    await connection.close();
  }
}
