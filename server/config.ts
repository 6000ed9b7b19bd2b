// `quarantine serve` configuration, from the environment (names in the README).
import { standardWebhookKey } from '../core/alerts/signatures';
import { parseOwnedPatterns } from '../core/intake';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY } from '../core/registry-url';
import { defaultDataDir } from '../store/paths';
import { TASK_QUEUE } from '../workflows/definitions';
import type { IntakeConfig } from './app';
import { DEFAULT_SBOM_BODY_LIMIT } from './sboms';
import { DEFAULT_SIGNALS_PER_SECOND } from './drainer';

export interface ServeConfig extends IntakeConfig {
  host: string;
  port: number;
  dataDir: string;
  taskQueue: string;
  /** Signal-with-start calls per second into Temporal during a storm. */
  signalsPerSecond: number;
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (!value) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: ${value} is not a positive number`);
  return n;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
}

export { defaultDataDir };

/** Throws a message naming the missing or bad setting: the server never starts half-configured. */
export function serveConfigFromEnv(env: NodeJS.ProcessEnv, port?: number): ServeConfig {
  const github = list(env.GITHUB_WEBHOOK_SECRETS);
  const standard = list(env.QUARANTINE_WEBHOOK_SECRETS);
  const missing = [
    github.length === 0 ? 'GITHUB_WEBHOOK_SECRETS (for /v1/alerts/github)' : '',
    standard.length === 0 ? 'QUARANTINE_WEBHOOK_SECRETS (for /v1/alerts, /v1/alerts/osv, /v1/alerts/audit, /v1/sboms)' : '',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`refusing to serve endpoints without a secret: set ${missing.join(' and ')}`);
  for (const secret of standard) {
    try {
      standardWebhookKey(secret);
    } catch {
      throw new Error('QUARANTINE_WEBHOOK_SECRETS: each secret is "whsec_" followed by the base64 of at least 16 bytes (Standard Webhooks)');
    }
  }
  const chosenPort = port ?? Number(env.PORT || 8787);
  if (!Number.isInteger(chosenPort) || chosenPort < 0 || chosenPort > 65535) throw new Error(`PORT: ${env.PORT} is not a port`);
  return {
    host: env.HOST || '127.0.0.1',
    port: chosenPort,
    dataDir: defaultDataDir(env),
    taskQueue: env.QUARANTINE_TASK_QUEUE || TASK_QUEUE,
    registry: normalizeRegistryUrl(env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY),
    owned: parseOwnedPatterns(env.QUARANTINE_OWNED_PACKAGES),
    secrets: { github, standard },
    bodyLimit: Number(env.QUARANTINE_BODY_LIMIT || 1024 * 1024),
    sbomBodyLimit: positive('QUARANTINE_SBOM_BODY_LIMIT', env.QUARANTINE_SBOM_BODY_LIMIT, DEFAULT_SBOM_BODY_LIMIT),
    signalsPerSecond: positive('QUARANTINE_DRAIN_SIGNALS_PER_SECOND', env.QUARANTINE_DRAIN_SIGNALS_PER_SECOND, DEFAULT_SIGNALS_PER_SECOND),
  };
}
