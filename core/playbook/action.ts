// The playbook's actions as data. A plan is a list of these; one executor runs any of them: it reads
// the target, checks what the action expects, passes its gate, writes, reads back and records. Every
// function here is pure and workflow-safe (no node builtins), so the workflow can plan, verify and undo
// between activities and replay doing the same.
import { canonicalJson } from '../canonical-json';
import type { PackageState } from '../package-state';

/** A trusted-publisher (OIDC) configuration as npm lists it: who may publish without a token. */
export interface TrustedPublisher {
  id: string;
  type: string;
  claims: Record<string, unknown>;
}

/** A publish waiting in npm's staging area for a maintainer's approval. */
export interface StagedPublish {
  id: string;
  version: string;
  tag?: string;
  createdAt?: string;
}

/**
 * What the playbook reads of one package before it plans, and again to verify. A field left undefined
 * was not read (the registry has no such route, or the policy needs no such action): the planner plans
 * nothing that depends on it and says so.
 */
export interface PackageFacts {
  name: string;
  state: PackageState;
  /** version -> publish time (ISO), from the packument's `time`. */
  published: Record<string, string>;
  /** npm user names of the package's maintainers. */
  maintainers: string[];
  trust?: TrustedPublisher[];
  staged?: StagedPublish[];
  /** Whether publishing already requires two-factor authentication. */
  publishRequires2fa?: boolean;
  downloadsLastWeek?: number;
  /** Packages in the public registry that depend on this one. */
  dependents?: number;
}

/**
 * - auto: runs as soon as it is planned;
 * - approval: waits for an approver (and, with `otp`, a one-time password from them).
 */
export type Gate = 'auto' | 'approval';

export const NPM_ACTION_KINDS = ['deprecate', 'dist-tag', 'unpublish', 'reject-staged', 'revoke-trust', 'require-2fa', 'revoke-token'] as const;
export type NpmActionKind = (typeof NPM_ACTION_KINDS)[number];

/** Rollback-only: put back the deprecation messages a deprecate replaced ('' takes a deprecation away). */
export type UndoKind = 'restore-deprecations' | 'restore-trust' | 'restore-publish-access';

interface ActionBase {
  /** Stable across plans of the same incident: approvals and the timeline name actions by it. */
  id: string;
  registry: string;
  gate: Gate;
  /** npm asks a one-time password for this write (trust, staging, access): only a person can give it. */
  otp: boolean;
  /** The policy rule that set the gate, for the audit: "malware.deprecate=auto", "on-call exact release". */
  rule: string;
  /** Plain text: why this action is in the plan. */
  why: string;
}

export type NpmAction =
  /**
   * `readBefore`: the messages the plan's read found on these versions (a version absent: none). A
   * version that already carries `marker` when the write comes was written by an earlier attempt of this
   * action (a worker killed after the registry applied it): its before-image is this, not what is there.
   */
  | (ActionBase & { kind: 'deprecate'; package: string; versions: string[]; message: string; marker: string; readBefore?: Record<string, string> })
  /** `from` null: the tag is expected absent (a rollback putting back a tag the playbook removed). */
  /**
   * `refuseDeprecatedTarget`: the move is refused, as a conflict, if `to` was deprecated since the plan
   * read the package (another incident found it bad too); the next plan picks another version.
   */
  | (ActionBase & { kind: 'dist-tag'; package: string; tag: string; from: string | null; to: string | null; refuseDeprecatedTarget?: boolean })
  | (ActionBase & { kind: 'unpublish'; package: string; version: string })
  | (ActionBase & { kind: 'reject-staged'; package: string; stageId: string; version: string })
  | (ActionBase & { kind: 'revoke-trust'; package: string; trust: TrustedPublisher })
  | (ActionBase & { kind: 'require-2fa'; package: string })
  | (ActionBase & { kind: 'revoke-token'; tokenKey: string });

export type UndoAction =
  | (ActionBase & { kind: 'restore-deprecations'; package: string; messages: Record<string, string>; marker: string })
  | (ActionBase & { kind: 'restore-trust'; package: string; trust: TrustedPublisher })
  | (ActionBase & { kind: 'restore-publish-access'; package: string; settings: { publishRequires2fa: boolean; automationTokenOverrides2fa: boolean } });

export type PlaybookAction = NpmAction | UndoAction;

/** An action as a planner describes it, before the policy gives it a gate. */
export type ActionDraft = NpmAction extends infer A ? (A extends NpmAction ? Omit<A, 'gate' | 'otp' | 'rule' | 'registry'> : never) : never;

/** The package an action writes to, or undefined for account-wide actions (a token). */
export function actionPackage(action: PlaybookAction): string | undefined {
  return action.kind === 'revoke-token' ? undefined : action.package;
}

/** What stays undone after a rollback, and why. */
export function irreversibleReason(action: NpmAction): string | undefined {
  switch (action.kind) {
    case 'unpublish':
      return `npm never lets ${action.package}@${action.version} be published again once unpublished`;
    case 'reject-staged':
      return `a rejected staged publish of ${action.package}@${action.version} cannot be brought back; the maintainer stages it again`;
    case 'revoke-token':
      return 'a revoked token cannot be restored; a new one is created by its owner';
    default:
      return undefined;
  }
}

/** One line for the timeline and the CLI: what the action does to what. */
export function describeAction(action: PlaybookAction): string {
  switch (action.kind) {
    case 'deprecate':
      return `deprecate ${action.package}@${action.versions.join(', ')}`;
    case 'dist-tag':
      if (action.to === null) return `remove dist-tag ${action.tag} of ${action.package} (on ${action.from})`;
      return action.from === null ? `put dist-tag ${action.tag} of ${action.package} back on ${action.to}` : `move dist-tag ${action.tag} of ${action.package} from ${action.from} to ${action.to}`;
    case 'unpublish':
      return `unpublish ${action.package}@${action.version}`;
    case 'reject-staged':
      return `reject the staged publish of ${action.package}@${action.version} (${action.stageId})`;
    case 'revoke-trust':
      return `revoke the ${action.trust.type} trusted publisher ${action.trust.id} of ${action.package}`;
    case 'require-2fa':
      return `require two-factor authentication to publish ${action.package}`;
    case 'revoke-token':
      return `revoke the npm token ${action.tokenKey}`;
    case 'restore-deprecations':
      return `restore the deprecation messages of ${action.package}@${Object.keys(action.messages).join(', ')}`;
    case 'restore-trust':
      return `restore the ${action.trust.type} trusted publisher of ${action.package}`;
    case 'restore-publish-access':
      return `put the publishing 2FA settings of ${action.package} back (${action.settings.publishRequires2fa ? '2FA required' : '2FA not required'}${action.settings.automationTokenOverrides2fa ? ', automation tokens exempt' : ''})`;
  }
}

/** What an executed action changed: the state before (for rollback and the audit) and after. */
export interface ActionOutcome {
  changed: boolean;
  before: unknown;
  after: unknown;
}

/**
 * Whether the registry already shows what the action is for: the executor's verify step. `tokenKeys`
 * are the keys of the account's tokens as just listed (undefined: not read, so a revocation is unproven).
 */
export function actionHolds(action: PlaybookAction, facts: PackageFacts | undefined, tokenKeys?: readonly string[]): boolean {
  if (action.kind === 'revoke-token') return tokenKeys !== undefined && !tokenKeys.includes(action.tokenKey);
  if (!facts) return false;
  const { state } = facts;
  switch (action.kind) {
    case 'deprecate':
      return action.versions.every((v) => !state.versions.includes(v) || (state.deprecated[v]?.includes(action.marker) ?? false));
    case 'dist-tag':
      return action.to === null ? !(action.tag in state.distTags) || state.distTags[action.tag] !== action.from : state.distTags[action.tag] === action.to;
    case 'unpublish':
      return !state.versions.includes(action.version);
    case 'reject-staged':
      return facts.staged !== undefined && !facts.staged.some((s) => s.id === action.stageId);
    case 'revoke-trust':
      return facts.trust !== undefined && !facts.trust.some((t) => t.id === action.trust.id);
    case 'require-2fa':
      return facts.publishRequires2fa === true;
    case 'restore-deprecations':
      return Object.entries(action.messages).every(([v, message]) => !state.versions.includes(v) || (state.deprecated[v] ?? '') === message);
    case 'restore-trust':
      return facts.trust !== undefined && facts.trust.some((t) => sameTrust(t, action.trust));
    case 'restore-publish-access':
      return facts.publishRequires2fa === action.settings.publishRequires2fa;
  }
}

/**
 * What a read-back of a package must read beyond its packument to check these actions (each is a
 * request to the registry): the trusted publishers, the staged publishes, the publishing 2FA setting.
 */
export function readBackFor(actions: readonly PlaybookAction[]): { trust: boolean; staged: boolean; access: boolean } {
  const checks = (kinds: readonly PlaybookAction['kind'][]) => actions.some((a) => kinds.includes(a.kind));
  return { trust: checks(['revoke-trust', 'restore-trust']), staged: checks(['reject-staged']), access: checks(['require-2fa', 'restore-publish-access']) };
}

/**
 * Whether the target is still as the plan read it, so the write is the one planned: a dist-tag still on
 * the version the plan moves it from. A maintainer's move since the read is never overwritten.
 */
export function actionExpectationHolds(action: PlaybookAction, facts: PackageFacts | undefined): boolean {
  if (action.kind === 'dist-tag') return facts !== undefined && (facts.state.distTags[action.tag] ?? null) === action.from;
  return true;
}

function sameTrust(a: TrustedPublisher, b: TrustedPublisher): boolean {
  return a.type === b.type && canonicalJson(a.claims) === canonicalJson(b.claims);
}

/**
 * The write that undoes an executed action, from the before-image its execution recorded, or the
 * reason none can. Rollback writes are gated like the playbook's (a person asked for the rollback).
 */
export function undoFor(action: NpmAction, before: unknown): { undo: PlaybookAction } | { irreversible: string } | { nothing: string } {
  const reason = irreversibleReason(action);
  if (reason) return { irreversible: reason };
  const base = { registry: action.registry, gate: 'auto' as Gate, otp: false, rule: 'rollback', why: `undo: ${describeAction(action)}` };
  switch (action.kind) {
    case 'deprecate': {
      const previous = (before ?? {}) as { deprecated?: Record<string, string> };
      const messages = Object.fromEntries(action.versions.map((v) => [v, previous.deprecated?.[v] ?? '']));
      return { undo: { ...base, id: `undo:${action.id}`, kind: 'restore-deprecations', package: action.package, messages, marker: action.marker } };
    }
    case 'dist-tag': {
      // Back where it was, compare-and-set against where the playbook put it.
      return { undo: { ...base, id: `undo:${action.id}`, kind: 'dist-tag', package: action.package, tag: action.tag, from: action.to, to: action.from } };
    }
    case 'revoke-trust':
      return { undo: { ...base, otp: true, gate: 'approval', id: `undo:${action.id}`, kind: 'restore-trust', package: action.package, trust: action.trust } };
    case 'require-2fa': {
      const previous = before as { publishRequires2fa?: boolean; automationTokenOverrides2fa?: boolean } | undefined;
      if (previous?.publishRequires2fa === undefined) return { nothing: `the settings of ${action.package} before the incident were not recorded` };
      const settings = { publishRequires2fa: previous.publishRequires2fa, automationTokenOverrides2fa: previous.automationTokenOverrides2fa ?? false };
      if (settings.publishRequires2fa && !settings.automationTokenOverrides2fa) return { nothing: `${action.package} already required two-factor authentication before the incident` };
      return { undo: { ...base, otp: true, gate: 'approval', id: `undo:${action.id}`, kind: 'restore-publish-access', package: action.package, settings } };
    }
    default:
      return { irreversible: `${describeAction(action)} has no undo` };
  }
}
