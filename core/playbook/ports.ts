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

export interface PlaybookActivities {
  /** What the registry says of one package; null when the registry has no such package. */
  readPackageFacts(request: FactsRequest): Promise<PackageFacts | null>;
  /** Keys of the tokens the worker's account holds on the registry: what a revocation is checked against. */
  listTokenKeys(registry: string): Promise<string[]>;
  /** Runs one action: reads the target, writes only what differs, returns the before and after. */
  runNpmAction(action: PlaybookAction, otp?: SealedSecret): Promise<ActionOutcome>;
}
