// The worker's configuration, from the environment conventions users already have. Credentials are
// read here and only here: workflows name a registry, the worker decides which token goes with it.
import { readFileSync } from 'node:fs';
import type { RegistryCredentials } from '../activities/registry';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY, sameRegistry } from '../core/registry-url';
import { releaseIndexFile } from '../store/paths';
import { TASK_QUEUE } from '../workflows/definitions';

export interface WorkerConfig {
  registry: string;
  taskQueue: string;
  credentials: RegistryCredentials;
  /** The release index (SBOMs, provenance) the blast-radius queries read. */
  releaseIndexFile: string;
  /**
   * Trust material for provenance verification (createOfflineVerifier): parsed from the files that
   * QUARANTINE_SIGSTORE_TRUSTED_ROOT and QUARANTINE_NPM_KEYS name; each absent one means the copy
   * @sigstore/tuf ships.
   */
  sigstore: { trustedRoot?: unknown; npmKeys?: unknown };
}

function jsonFile(variable: string, path: string | undefined): unknown {
  if (!path) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const message = (err as { message?: unknown }).message;
    throw new Error(`${variable}=${path}: ${typeof message === 'string' ? message : String(err)}`);
  }
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const registry = normalizeRegistryUrl(env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY);
  const token = env.NPM_TOKEN || undefined;
  return {
    registry,
    taskQueue: env.QUARANTINE_TASK_QUEUE || TASK_QUEUE,
    releaseIndexFile: releaseIndexFile(env),
    // Like npm's nerf-darted `//host/:_authToken`, the token goes to its own registry and nowhere else,
    // whatever registry an incident names.
    credentials: { tokenFor: (target) => (token && sameRegistry(target, registry) ? token : undefined) },
    sigstore: sigstoreTrustFromEnv(env),
  };
}

/** The provenance trust material the worker and `quarantine provenance sync` verify with. */
export function sigstoreTrustFromEnv(env: NodeJS.ProcessEnv): WorkerConfig['sigstore'] {
  return {
    trustedRoot: jsonFile('QUARANTINE_SIGSTORE_TRUSTED_ROOT', env.QUARANTINE_SIGSTORE_TRUSTED_ROOT),
    npmKeys: jsonFile('QUARANTINE_NPM_KEYS', env.QUARANTINE_NPM_KEYS),
  };
}
