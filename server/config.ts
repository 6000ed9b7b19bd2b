// `quarantine serve` configuration, from the environment (names in the README).
import { standardWebhookKey } from '../core/alerts/signatures';
import validatePackageName from 'validate-npm-package-name';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY } from '../core/registry-url';
import { defaultDataDir, secretKeyFile } from '../store/paths';
import { secretCodecKey } from '../worker/secret-codec';
import { TASK_QUEUE } from '../workflows/definitions';
import type { IntakeConfig } from './app';
import { DEFAULT_SBOM_BODY_LIMIT } from './sboms';
import { DEFAULT_SIGNALS_PER_SECOND } from './drainer';
import { policyFromEnv } from '../app/policy';
import type { Policy } from '../core/playbook/policy';
import { parseUiUsers, type UiUsers } from './auth';

export interface ServeConfig extends IntakeConfig {
  host: string;
  port: number;
  dataDir: string;
  taskQueue: string;
  /** Signal-with-start calls per second into Temporal during a storm. */
  signalsPerSecond: number;
  /** The containment policy playbook incidents start under (QUARANTINE_POLICY, else the safe default). */
  policy?: Policy;
  /** Decisions over the API (server/approvals.ts): on only when QUARANTINE_UI_USERS names someone. */
  ui?: UiConfig;
}

export interface UiConfig {
  users: UiUsers;
  /** QUARANTINE_UI_APPROVERS: the users who may decide from the page and the API; undefined: every user (the policy decides). */
  approvers?: string[];
  /** Seals one-time passwords before they leave the server: the key the worker holds (QUARANTINE_SECRET_KEY). */
  secretKey: Buffer;
}

/**
 * QUARANTINE_UI_USERS, split like the webhook secrets (commas, or one pair per line); unset or empty,
 * the API's decisions are off and the rest of the server runs as before.
 */
export function uiConfigFromEnv(env: NodeJS.ProcessEnv): UiConfig | undefined {
  const entries = secretList(env.QUARANTINE_UI_USERS);
  if (entries.length === 0) {
    if (secretList(env.QUARANTINE_UI_APPROVERS).length > 0) throw new Error('QUARANTINE_UI_APPROVERS names approvers, but QUARANTINE_UI_USERS names no user to log in as');
    return undefined;
  }
  const users = parseUiUsers(entries);
  const approvers = secretList(env.QUARANTINE_UI_APPROVERS);
  const unknown = approvers.filter((name) => !users.names.includes(name));
  if (unknown.length > 0) throw new Error(`QUARANTINE_UI_APPROVERS: ${unknown.map((n) => JSON.stringify(n.slice(0, 100))).join(', ')} not among the users of QUARANTINE_UI_USERS`);
  return { users, ...(approvers.length > 0 ? { approvers } : {}), secretKey: secretCodecKey(env, secretKeyFile(env)) };
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (!value) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: ${value} is not a positive number`);
  return n;
}

/**
 * A GitHub webhook secret is free text, so it may hold spaces and commas: with a newline anywhere in
 * the value, each line is one secret (commas and spaces inside it are kept); otherwise the value is
 * split on commas. Whitespace around a secret is taken for formatting, not part of it.
 */
export function secretList(value: string | undefined): string[] {
  const text = value ?? '';
  return text.split(/\r?\n/.test(text) ? /\r?\n/ : ',').map((s) => s.trim()).filter(Boolean);
}

/** GitHub accepts any secret; one this short can be guessed offline from a single signed delivery. */
export const MIN_GITHUB_SECRET_LENGTH = 16;

/** Says that QUARANTINE_OWNED_PACKAGES names no package on purpose: every alert goes to the dependency side. */
export const NO_OWNED_PACKAGES = 'none';

/**
 * The owned-package patterns, each an npm package name or "@scope/*". Unset, or a pattern that matches
 * nothing by mistake ("@acme" for "@acme/*"), would turn an alert on our own release into a dependency
 * incident that never contains it: refused, unless the operator says "none".
 */
export function ownedPatternsFromEnv(value: string | undefined): string[] {
  const text = (value ?? '').trim();
  if (!text) {
    throw new Error(`QUARANTINE_OWNED_PACKAGES is not set: list the packages we publish (names or @scope/*, comma-separated), or set it to "${NO_OWNED_PACKAGES}" to contain nothing from alerts`);
  }
  if (text === NO_OWNED_PACKAGES) return [];
  const patterns = text.split(',').map((p) => p.trim());
  for (const pattern of patterns) {
    const problem = ownedPatternProblem(pattern);
    if (problem) throw new Error(`QUARANTINE_OWNED_PACKAGES: ${JSON.stringify(pattern)} ${problem}`);
  }
  return patterns;
}

function ownedPatternProblem(pattern: string): string | undefined {
  if (pattern === '') return 'is empty (a stray comma?)';
  if (pattern === NO_OWNED_PACKAGES) return `cannot be combined with other patterns`;
  if (/^@[^/]+$/.test(pattern)) return `names a scope without packages: write "${pattern}/*" for every package of the scope`;
  if (pattern.includes('*') && !/^@[^/*]+\/\*$/.test(pattern)) return 'is not a package name or "@scope/*" (the only wildcard is a whole scope)';
  const name = pattern.endsWith('/*') ? `${pattern.slice(0, -1)}x` : pattern;
  const verdict = validatePackageName(name);
  if (!verdict.validForOldPackages) return `is not a valid npm package name (${(verdict.errors ?? verdict.warnings ?? []).join('; ')})`;
  return undefined;
}

export { defaultDataDir };

/** Throws a message naming the missing or bad setting: the server never starts half-configured. */
export function serveConfigFromEnv(env: NodeJS.ProcessEnv, port?: number): ServeConfig {
  const github = secretList(env.GITHUB_WEBHOOK_SECRETS);
  const standard = secretList(env.QUARANTINE_WEBHOOK_SECRETS);
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
  const weak = github.filter((secret) => secret.length < MIN_GITHUB_SECRET_LENGTH);
  if (weak.length > 0) {
    throw new Error(`GITHUB_WEBHOOK_SECRETS: ${weak.length} secret(s) shorter than ${MIN_GITHUB_SECRET_LENGTH} characters, which can be guessed from one signed delivery; use a random one (openssl rand -hex 32)`);
  }
  const owned = ownedPatternsFromEnv(env.QUARANTINE_OWNED_PACKAGES);
  const chosenPort = port ?? Number(env.PORT || 8787);
  if (!Number.isInteger(chosenPort) || chosenPort < 0 || chosenPort > 65535) throw new Error(`PORT: ${env.PORT} is not a port`);
  return {
    host: env.HOST || '127.0.0.1',
    port: chosenPort,
    dataDir: defaultDataDir(env),
    taskQueue: env.QUARANTINE_TASK_QUEUE || TASK_QUEUE,
    registry: normalizeRegistryUrl(env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY),
    owned,
    secrets: { github, standard },
    bodyLimit: Number(env.QUARANTINE_BODY_LIMIT || 1024 * 1024),
    sbomBodyLimit: positive('QUARANTINE_SBOM_BODY_LIMIT', env.QUARANTINE_SBOM_BODY_LIMIT, DEFAULT_SBOM_BODY_LIMIT),
    signalsPerSecond: positive('QUARANTINE_DRAIN_SIGNALS_PER_SECOND', env.QUARANTINE_DRAIN_SIGNALS_PER_SECOND, DEFAULT_SIGNALS_PER_SECOND),
    policy: policyFromEnv(env),
    ui: uiConfigFromEnv(env),
  };
}
