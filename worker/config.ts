// The worker's configuration, from the environment conventions users already have. Credentials are
// read here and only here: workflows name a registry, the worker decides which token goes with it.
import { readFileSync } from 'node:fs';
import { policyFromEnv } from '../app/policy';
import type { RegistryCredentials } from '../activities/registry';
import type { Policy } from '../core/playbook/policy';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY, sameRegistry } from '../core/registry-url';
import { NPM_DOWNLOADS_API } from '../clients/npm/downloads';
import { PUBLIC_GITHUB_API, type GithubSettings } from '../clients/github';
import { releaseIndexFile, secretKeyFile } from '../store/paths';
import { secretCodecKey } from './secret-codec';
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
  playbook: {
    /** QUARANTINE_DOWNLOADS_API: last week's downloads, for npm's unpublish rules (api.npmjs.org for the public registry). */
    downloadsApi?: string;
    /** QUARANTINE_DEPENDENTS_API: npmjs has no API for dependents; only a stand-in gives them. Unset: unknown, so no unpublish is planned. */
    dependentsApi?: string;
    /** QUARANTINE_REGISTRY_CONCURRENCY: requests in flight per registry across all incidents (default 8). */
    concurrencyPerRegistry: number;
  };
  /** QUARANTINE_WRITER_IDLE_SECONDS: a package's writer ends after this long with nothing to write (default 10 minutes). */
  writerIdleTimeoutMs?: number;
  /** Seals one-time passwords in Temporal payloads (QUARANTINE_SECRET_KEY, else a key file in the data directory). */
  secretKey: Buffer;
  /**
   * The containment policy (QUARANTINE_POLICY, else the safe default) of the playbook incidents the
   * worker itself opens: a dependency or build compromise its watch incidents contain.
   */
  policy: Policy;
  /**
   * GitHub (GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE;
   * GITHUB_API_URL): unset, the worker runs no GitHub activity and incidents record that GitHub is not
   * configured.
   */
  github?: GithubSettings;
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

/** The variable that lets a token go to a plain-http registry beyond this machine (loudly). */
export const ALLOW_HTTP_TOKEN = 'QUARANTINE_ALLOW_HTTP_REGISTRY_TOKEN';

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * A token sent over plain http can be read by anyone on the path, and it can deprecate our releases.
 * Refused unless the registry is on this machine (the local Verdaccio) or ALLOW_HTTP_TOKEN=1 says
 * the network is trusted; then the answer is the warning the worker prints at start.
 */
export function cleartextTokenWarning(registry: string, token: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const url = new URL(registry);
  if (!token || url.protocol !== 'http:' || isLoopback(url.hostname)) return undefined;
  const warning = `NPM_TOKEN would travel in cleartext to ${url.host} (QUARANTINE_REGISTRY is http://)`;
  if (env[ALLOW_HTTP_TOKEN] !== '1') {
    throw new Error(`${warning}: use the registry's https:// URL, or set ${ALLOW_HTTP_TOKEN}=1 if the network to it is trusted`);
  }
  return `WARNING: ${warning}; allowed by ${ALLOW_HTTP_TOKEN}=1`;
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const registry = normalizeRegistryUrl(env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY);
  const token = env.NPM_TOKEN || undefined;
  cleartextTokenWarning(registry, token, env);
  return {
    registry,
    taskQueue: env.QUARANTINE_TASK_QUEUE || TASK_QUEUE,
    releaseIndexFile: releaseIndexFile(env),
    // Like npm's nerf-darted `//host/:_authToken`, the token goes to its own registry and nowhere else,
    // whatever registry an incident names.
    credentials: { tokenFor: (target) => (token && sameRegistry(target, registry) ? token : undefined) },
    sigstore: sigstoreTrustFromEnv(env),
    playbook: playbookSettingsFromEnv(env, registry),
    secretKey: secretCodecKey(env, secretKeyFile(env)),
    policy: policyFromEnv(env),
    ...writerIdleFromEnv(env),
    ...githubFromEnv(env),
  };
}

/**
 * The worker's GitHub credential. An App (GITHUB_APP_ID) is preferred over a token when both are set:
 * it is how organisations grant a tool exactly the rights it needs, repository by repository.
 */
export function githubFromEnv(env: NodeJS.ProcessEnv): Pick<WorkerConfig, 'github'> {
  const apiText = env.GITHUB_API_URL || PUBLIC_GITHUB_API;
  let apiUrl: URL;
  try {
    apiUrl = new URL(apiText);
  } catch {
    throw new Error(`GITHUB_API_URL=${apiText}: not a URL`);
  }
  const appId = env.GITHUB_APP_ID || undefined;
  const token = env.GITHUB_TOKEN || undefined;
  if (!appId && !token) return {};
  const intervalText = env.QUARANTINE_GITHUB_WRITE_INTERVAL_MS;
  const writeIntervalMs = intervalText ? Number(intervalText) : undefined;
  if (writeIntervalMs !== undefined && (!Number.isInteger(writeIntervalMs) || writeIntervalMs < 0 || writeIntervalMs > 60_000)) {
    throw new Error(`QUARANTINE_GITHUB_WRITE_INTERVAL_MS=${intervalText}: a whole number of milliseconds from 0 to 60000`);
  }
  const common = { apiUrl: apiUrl.href.replace(/\/+$/, ''), ...(writeIntervalMs === undefined ? {} : { writeIntervalMs }) };
  if (apiUrl.protocol !== 'https:' && !(apiUrl.protocol === 'http:' && isLoopback(apiUrl.hostname))) {
    throw new Error(`GITHUB_API_URL=${apiText}: the GitHub credential would travel in cleartext; use https://`);
  }
  if (!appId) return { github: { ...common, auth: { kind: 'token', token: token! } } };
  if (!/^\d+$/.test(appId)) throw new Error(`GITHUB_APP_ID=${appId}: the App's numeric id`);
  let privateKey = env.GITHUB_APP_PRIVATE_KEY || undefined;
  if (!privateKey && env.GITHUB_APP_PRIVATE_KEY_FILE) {
    try {
      privateKey = readFileSync(env.GITHUB_APP_PRIVATE_KEY_FILE, 'utf8');
    } catch (err) {
      throw new Error(`GITHUB_APP_PRIVATE_KEY_FILE=${env.GITHUB_APP_PRIVATE_KEY_FILE}: ${(err as Error).message}`);
    }
  }
  if (!privateKey) throw new Error('GITHUB_APP_ID is set without GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE');
  // A key pasted into one line of an environment file keeps its line breaks as \n.
  privateKey = privateKey.includes('\\n') ? privateKey.replace(/\\n/g, '\n') : privateKey;
  if (!privateKey.includes('PRIVATE KEY-----')) throw new Error('the GitHub App private key is not a PEM key (-----BEGIN RSA PRIVATE KEY-----)');
  return { github: { ...common, auth: { kind: 'app', appId, privateKey } } };
}

function writerIdleFromEnv(env: NodeJS.ProcessEnv): Pick<WorkerConfig, 'writerIdleTimeoutMs'> {
  const text = env.QUARANTINE_WRITER_IDLE_SECONDS;
  if (!text) return {};
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 86_400) throw new Error(`QUARANTINE_WRITER_IDLE_SECONDS=${text}: a whole number of seconds from 1 to 86400`);
  return { writerIdleTimeoutMs: seconds * 1000 };
}

function playbookSettingsFromEnv(env: NodeJS.ProcessEnv, registry: string): WorkerConfig['playbook'] {
  const concurrency = env.QUARANTINE_REGISTRY_CONCURRENCY ? Number(env.QUARANTINE_REGISTRY_CONCURRENCY) : 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new Error(`QUARANTINE_REGISTRY_CONCURRENCY=${env.QUARANTINE_REGISTRY_CONCURRENCY}: a whole number from 1 to 64`);
  }
  const url = (name: string, value: string | undefined) => {
    if (!value) return undefined;
    try {
      return normalizeRegistryUrl(value);
    } catch {
      throw new Error(`${name}=${value}: not an http(s) URL`);
    }
  };
  const downloadsApi = url('QUARANTINE_DOWNLOADS_API', env.QUARANTINE_DOWNLOADS_API) ?? (sameRegistry(registry, PUBLIC_NPM_REGISTRY) ? NPM_DOWNLOADS_API : undefined);
  const dependentsApi = url('QUARANTINE_DEPENDENTS_API', env.QUARANTINE_DEPENDENTS_API);
  return { concurrencyPerRegistry: concurrency, ...(downloadsApi ? { downloadsApi } : {}), ...(dependentsApi ? { dependentsApi } : {}) };
}

/** The provenance trust material the worker and `quarantine provenance sync` verify with. */
export function sigstoreTrustFromEnv(env: NodeJS.ProcessEnv): WorkerConfig['sigstore'] {
  return {
    trustedRoot: jsonFile('QUARANTINE_SIGSTORE_TRUSTED_ROOT', env.QUARANTINE_SIGSTORE_TRUSTED_ROOT),
    npmKeys: jsonFile('QUARANTINE_NPM_KEYS', env.QUARANTINE_NPM_KEYS),
  };
}
