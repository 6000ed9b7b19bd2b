// The worker's configuration, from the environment conventions users already have. Credentials are
// read here and only here: workflows name a registry, the worker decides which token goes with it.
import type { RegistryCredentials } from '../activities/registry';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY, sameRegistry } from '../core/registry-url';
import { TASK_QUEUE } from '../workflows/definitions';

export interface WorkerConfig {
  registry: string;
  taskQueue: string;
  credentials: RegistryCredentials;
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const registry = normalizeRegistryUrl(env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY);
  const token = env.NPM_TOKEN || undefined;
  return {
    registry,
    taskQueue: env.QUARANTINE_TASK_QUEUE || TASK_QUEUE,
    // Like npm's nerf-darted `//host/:_authToken`, the token goes to its own registry and nowhere else,
    // whatever registry an incident names.
    credentials: { tokenFor: (target) => (token && sameRegistry(target, registry) ? token : undefined) },
  };
}
