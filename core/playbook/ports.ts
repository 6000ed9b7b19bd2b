// What the playbook workflow asks of the outside world: the activities it calls, as types. The worker
// implements them (activities/npm-playbook.ts); the workflow sees only these shapes.
import type { ActionOutcome, PackageFacts, PlaybookAction } from './action';

/**
 * A one-time password on its way from an approver to the activity that uses it. Kept in this envelope,
 * alone in its payload, so that the payload codec (worker/secret-codec.ts) encrypts it wherever it
 * goes: the update that carries it and the activity input that uses it are ciphertext in history.
 */
export interface SealedSecret {
  sealed: 'quarantine-secret/v1';
  value: string;
}

export function isSealedSecret(value: unknown): value is SealedSecret {
  return typeof value === 'object' && value !== null && (value as SealedSecret).sealed === 'quarantine-secret/v1' && typeof (value as SealedSecret).value === 'string';
}

export interface FactsRequest {
  registry: string;
  name: string;
  /** Read the trusted publishers (a route npmjs.org has, and every call of it costs a request). */
  trust: boolean;
  /** Read the staged publishes. */
  staged: boolean;
  /** Read the publishing 2FA setting. */
  access: boolean;
  /** Read what npm's unpublish rules need: last week's downloads and dependents. */
  unpublish: boolean;
}

/** The same reads for several packages of one registry, in one activity. */
export type FactsBatchRequest = Omit<FactsRequest, 'name'> & { names: string[] };

/**
 * At most this many packages per batched activity: one activity for a whole campaign would carry every
 * packument's version times in one payload (a package with a thousand releases is ~40 kB of facts), and
 * Temporal refuses payloads over 2 MB; ten keep it far below while cutting the activities tenfold.
 */
export const PACKAGES_PER_ACTIVITY = 10;

/** `items` in consecutive groups of at most PACKAGES_PER_ACTIVITY: one batched activity each. */
export function activityBatches<T>(items: readonly T[]): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += PACKAGES_PER_ACTIVITY) groups.push(items.slice(i, i + PACKAGES_PER_ACTIVITY));
  return groups;
}

/** Failure types of the registry activities that trying again cannot fix. */
export const FINAL_FAILURE_TYPES = ['RegistryAuthError', 'RegistryOtpRequired', 'PackageNotFound', 'RegistryRejected', 'ActionConflict', 'ActionUnsupported'] as const;

export function isFinalFailureType(type: string | null | undefined): boolean {
  return (FINAL_FAILURE_TYPES as readonly string[]).includes(type ?? '');
}

export interface PlaybookActivities {
  /** What the registry says of one package; null when the registry has no such package. */
  readPackageFacts(request: FactsRequest): Promise<PackageFacts | null>;
  /** `readPackageFacts` for each of a few packages at once (the worker's registry gate bounds them), in order. */
  readPackagesFacts(request: FactsBatchRequest): Promise<(PackageFacts | null)[]>;
  /** Keys of the tokens the worker's account holds on the registry: what a revocation is checked against. */
  listTokenKeys(registry: string): Promise<string[]>;
  /** Runs one action: reads the target, writes only what differs, returns the before and after. */
  runNpmAction(action: PlaybookAction, otp?: SealedSecret): Promise<ActionOutcome>;
  /**
   * Runs actions of one package in order, in one activity (`otp` for those that need one); returns the
   * results of a prefix of them: it stops before an action whose failure a retry may fix.
   */
  runNpmActions(actions: readonly PlaybookAction[], otp?: SealedSecret): Promise<PackageWriteOutcome[]>;
  /**
   * A writer's whole turn at one package in one activity: its actions as `runNpmActions` runs them and,
   * when every action got a result and `readBack` asks for it, the package read back right after them.
   */
  runPackageWrites(registry: string, write: PackageWrites, otp?: SealedSecret): Promise<PackageWritten>;
  /**
   * `runPackageWrites` for a few different packages at once, in one activity (one answer per write, in
   * order): a package whose actions stopped early does not stop the others.
   */
  runPackagesWrites(registry: string, writes: readonly PackageWrites[], otp?: SealedSecret): Promise<PackageWritten[]>;
}

/** What of a package a read-back reads beyond the packument: only what the actions to check changed. */
export type ReadBackRequest = Pick<FactsRequest, 'trust' | 'staged' | 'access'>;

/** A package's writes done by its writer, and the package as read right after them. */
export interface PackageWritten {
  results: PackageWriteOutcome[];
  /** Undefined: not read back (some action's failure left the rest to single activities, or the read failed); null: no such package. */
  facts?: PackageFacts | null;
}

/** Writes to one package, in the order they must run. */
export interface PackageWrites {
  name: string;
  actions: PlaybookAction[];
  /**
   * Read the package back in the same activity, right after its writes, and answer with it: the
   * incident's verification then needs no read of its own (one round trip through Temporal fewer per
   * package, and the read is the one right after our writes, before any later request's).
   */
  readBack?: ReadBackRequest;
}

/**
 * Writes to packages, asked of their writers (workflows/package-writer.ts): every package of a registry
 * has exactly one writer (a few writers share a registry's packages), which runs each package's writes
 * after every earlier request's writes to it, so that two incidents never interleave their
 * read-then-write of a packument; different packages run at once.
 */
export interface PackageWriteRequest {
  /** Unique per request: a request delivered twice (a retried signal) is run once. */
  requestId: string;
  /** The incident (workflow id) that asks, and receives the results. */
  incident: string;
  registry: string;
  writes: PackageWrites[];
}

export type PackageWriteOutcome =
  | { actionId: string; outcome: ActionOutcome }
  | { actionId: string; failure: { type?: string; message: string } };

/** One writer's answer to a request: the results of the writes that fell to it. */
export interface PackageWriteResults {
  requestId: string;
  /** The writer's workflow id: a request split over several writers is answered once by each. */
  writer: string;
  results: PackageWriteOutcome[];
  /** The packages that asked for it, as read right after their writes. */
  readBack?: { name: string; facts: PackageFacts | null }[];
}

export interface PackageWriterActivities {
  /**
   * Hands a request to the writers of its packages, starting any that does not run; returns how many
   * writers will answer. The password, when the actions need one, travels alone in its own payload so
   * that the codec seals it in the writers' histories too.
   */
  requestPackageWrites(request: PackageWriteRequest, otp?: SealedSecret): Promise<number>;
}
