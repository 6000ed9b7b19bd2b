// The containment policy: which actions run at once and which wait, for which trigger; who may approve;
// how long to wait and what then; the limits beyond which an alert's plan waits for a person. Pure and
// workflow-safe: the file is read and validated outside (policy-file.ts), the workflow gets the data.
import type { AlertKind, AlertSeverity } from '../alert';
import type { GithubActionKind } from '../github/action';
import type { GithubPolicy } from '../github/policy';
import { NPM_ACTION_KINDS, type NpmActionKind } from './action';

/** What started the incident: a scanner's alert kind, or an on-call person's explicit command. */
export type Trigger = AlertKind | 'on-call';
export const TRIGGERS: readonly Trigger[] = ['malware', 'compromised-build', 'leaked-token', 'vulnerability', 'on-call'];

/** off: never planned; approval: waits for an approver; auto: runs at once. */
export type ActionRule = 'auto' | 'approval' | 'off';

export interface TriggerPolicy {
  /** Alerts below this severity are recorded and plan nothing. */
  minSeverity: Exclude<AlertSeverity, 'unknown'> | 'unknown';
  actions: Record<NpmActionKind, ActionRule>;
}

export interface Approver {
  /** The identity an approval carries (the CLI's `--as`, the web view's login). */
  name: string;
  /** Action kinds this person may approve (npm's and GitHub's); `all` for every kind. */
  may: (NpmActionKind | GithubActionKind | 'all')[];
}

export interface Policy {
  version: 1;
  triggers: Record<Trigger, TriggerPolicy>;
  approvers: Approver[];
  approval: {
    /** How long a gated action waits for a person. */
    timeoutMinutes: number;
    /**
     * When nobody approved in time: `escalate` records it, raises the incident's status and keeps
     * waiting; `skip` gives the action up (recorded) and the rest of the plan finishes.
     */
    onTimeout: 'escalate' | 'skip';
  };
  limits: {
    /** An alert naming more versions of one package than this waits for a person. */
    versionsPerPackage: number;
    /** An alert touching more packages than this waits for a person. */
    packagesPerIncident: number;
  };
  otp: {
    /** Writes npm takes on one one-time password before it prompts again. */
    actionsPerWindow: number;
    /** How long one password's window stays open. */
    windowMinutes: number;
  };
  /** The GitHub side (core/github/policy.ts); absent in policies recorded before it: its defaults apply. */
  github?: GithubPolicy;
}

/** Actions that can never run without a person, whatever a policy file says. */
export const ALWAYS_GATED: readonly NpmActionKind[] = ['unpublish', 'revoke-token'];
/** Actions npm itself refuses without a one-time password (trust, staging, access settings). */
export const OTP_ACTIONS: readonly NpmActionKind[] = ['reject-staged', 'revoke-trust', 'require-2fa'];

const SEVERITY_ORDER: readonly AlertSeverity[] = ['unknown', 'low', 'moderate', 'high', 'critical'];

function rules(overrides: Partial<Record<NpmActionKind, ActionRule>>): Record<NpmActionKind, ActionRule> {
  return { ...(Object.fromEntries(NPM_ACTION_KINDS.map((k) => [k, 'off'])) as Record<NpmActionKind, ActionRule>), ...overrides };
}

/**
 * The safe default: a malicious release is deprecated and its tags moved at once; everything that
 * needs a password, cannot be undone or touches credentials waits for a person; a vulnerability is
 * recorded and writes nothing; nobody is an approver until the policy names them.
 */
export const DEFAULT_POLICY: Policy = {
  version: 1,
  triggers: {
    malware: {
      minSeverity: 'unknown',
      actions: rules({ deprecate: 'auto', 'dist-tag': 'auto', 'reject-staged': 'approval', 'revoke-trust': 'approval', 'require-2fa': 'approval', unpublish: 'approval' }),
    },
    'compromised-build': {
      minSeverity: 'unknown',
      actions: rules({ deprecate: 'auto', 'dist-tag': 'auto', 'reject-staged': 'approval', 'revoke-trust': 'approval', 'require-2fa': 'approval', unpublish: 'approval' }),
    },
    'leaked-token': { minSeverity: 'unknown', actions: rules({ 'revoke-token': 'approval', 'revoke-trust': 'approval', 'require-2fa': 'approval' }) },
    vulnerability: { minSeverity: 'unknown', actions: rules({}) },
    'on-call': {
      minSeverity: 'unknown',
      actions: rules({ deprecate: 'auto', 'dist-tag': 'auto', 'reject-staged': 'approval', 'revoke-trust': 'approval', 'require-2fa': 'approval', unpublish: 'approval' }),
    },
  },
  approvers: [],
  approval: { timeoutMinutes: 60, onTimeout: 'escalate' },
  limits: { versionsPerPackage: 10, packagesPerIncident: 50 },
  otp: { actionsPerWindow: 80, windowMinutes: 5 },
};

/** Whether an alert of this severity is severe enough for the trigger's actions. */
export function severityQualifies(policy: Policy, trigger: Trigger, severity: AlertSeverity): boolean {
  const min = policy.triggers[trigger].minSeverity;
  return SEVERITY_ORDER.indexOf(severity) >= SEVERITY_ORDER.indexOf(min);
}

/** The rule for one action kind under a trigger, with the name the audit records. */
export function ruleFor(policy: Policy, trigger: Trigger, kind: NpmActionKind): { rule: ActionRule; name: string } {
  const configured = policy.triggers[trigger].actions[kind];
  // A hand-edited policy object (not from the file parser) still cannot run these unattended.
  const rule = configured === 'auto' && (ALWAYS_GATED.includes(kind) || OTP_ACTIONS.includes(kind)) ? 'approval' : configured;
  return { rule, name: `${trigger}.${kind}=${rule}` };
}

/** Whether `approver` may approve an action of this kind under the policy. */
export function mayApprove(policy: Policy, approver: string, kind: NpmActionKind | GithubActionKind | 'rollback'): boolean {
  const person = policy.approvers.find((a) => a.name === approver);
  if (!person) return false;
  return person.may.includes('all') || (kind !== 'rollback' && person.may.includes(kind));
}
