// State of the npmjs stand-in (verdaccio-npmjs.ts): one JSON file and one JSON-lines write log in the
// plugin's storage folder, so that a copied registry folder carries both. Verdaccio runs in one Node
// process and every read-modify-write below is synchronous, so no two requests interleave inside one.
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The plugin's storage folder, relative to the registry folder (stack/registry.ts configures it). */
export const NPMJS_STANDIN_FOLDER = 'npmjs';
const STATE_FILE = 'state.json';
const WRITE_LOG_FILE = 'writes.jsonl';

export interface TrustConfig {
  id: string;
  type: 'github' | 'gitlab' | 'circleci';
  claims: Record<string, unknown>;
  permissions?: string[];
}

export interface StagedPublish {
  id: string;
  packageName: string;
  version: string;
  tag: string;
  createdAt: string;
  actor: string;
  actorType: 'user' | 'oidc';
  shasum: string;
}

export interface TokenRecord {
  key: string;
  /** The whole secret: only ever shown masked. */
  token: string;
  user: string;
  name?: string;
  created: string;
  readonly: boolean;
  cidr_whitelist: string[] | null;
}

export interface AccessSettings {
  publish_requires_tfa: boolean;
  automation_token_overrides_tfa: boolean;
}

/** Test switch: the next `remaining` requests are answered with `status` (and `retry-after`). */
export interface Fault {
  status: number;
  remaining: number;
  retryAfter?: string;
  /** Only requests with these methods meet the fault (all when absent). */
  methods?: string[];
}

export interface StandinState {
  trust: Record<string, TrustConfig[]>;
  stage: StagedPublish[];
  tokens: TokenRecord[];
  access: Record<string, AccessSettings>;
  downloads: Record<string, number>;
  dependents: Record<string, number>;
  /** Seeded maintainers: Verdaccio keeps none, npmjs lists them in the packument. */
  owners: Record<string, { name: string; email?: string }[]>;
  fault?: Fault;
}

/** One write request the stand-in saw, whoever answered it (the stand-in or Verdaccio's own routes). */
export interface WriteLogEntry {
  time: string;
  method: string;
  /** Path without the query string, as the client sent it (escaped or not). */
  path: string;
  user: string | null;
  status: number;
  /** `applied` for a 2xx/3xx, else why it was refused (`otp-required`, `forbidden`, `invalid`...). */
  outcome: string;
}

function emptyState(): StandinState {
  return { trust: {}, stage: [], tokens: [], access: {}, downloads: {}, dependents: {}, owners: {} };
}

export function readState(storage: string): StandinState {
  const file = join(storage, STATE_FILE);
  if (!existsSync(file)) return emptyState();
  return { ...emptyState(), ...(JSON.parse(readFileSync(file, 'utf8')) as Partial<StandinState>) };
}

export function writeState(storage: string, state: StandinState): void {
  mkdirSync(storage, { recursive: true });
  const file = join(storage, STATE_FILE);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, undefined, 1));
  renameSync(`${file}.tmp`, file);
}

/** Applies `change` to the stored state and saves it; returns what `change` returned. */
export function updateState<T>(storage: string, change: (state: StandinState) => T): T {
  const state = readState(storage);
  const result = change(state);
  writeState(storage, state);
  return result;
}

export function appendWriteLog(storage: string, entry: WriteLogEntry): void {
  mkdirSync(storage, { recursive: true });
  appendFileSync(join(storage, WRITE_LOG_FILE), `${JSON.stringify(entry)}\n`);
}

/** Every write the stand-in saw in the registry folder `registryDir`, oldest first. */
export function readWriteLog(registryDir: string): WriteLogEntry[] {
  const file = join(registryDir, NPMJS_STANDIN_FOLDER, WRITE_LOG_FILE);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as WriteLogEntry);
}
