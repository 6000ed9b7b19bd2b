// What a playbook incident shows: its actions with their state, and the audit trail as structured
// events (who, what, target, before, after, result, evidence). The CLI, the web view and the exports
// read this one shape. Pure and workflow-safe.
import { KEPT_REPORT_IDS, KEPT_REPORTS, type Report } from '../incident';
import type { AnyGithubAction } from '../github/action';
import type { NpmAction, PlaybookAction } from './action';
import type { Compromise, Hold } from './plan';

/**
 * - planned: gate auto, not started yet;
 * - waiting: gate approval, waiting for an approver;
 * - running, done, failed;
 * - rejected: an approver said no; skipped: nobody approved in time and the policy gives it up;
 * - undone: rolled back; conflict: the target moved since the read, left alone.
 */
export type ActionStatus = 'planned' | 'waiting' | 'running' | 'done' | 'failed' | 'rejected' | 'skipped' | 'undone' | 'conflict';

/** One planned action (npm or GitHub) and what became of it. */
export interface ActionRecord<A> {
  action: A;
  status: ActionStatus;
  /** The target's state (registry or GitHub) before the write, as the execution read it (what a rollback restores). */
  before?: unknown;
  after?: unknown;
  /** Whether the execution changed anything (false: it was already so). */
  changed?: boolean;
  error?: string;
  approvedBy?: string;
}

export interface ActionState extends ActionRecord<NpmAction> {
  /** Set when the approval wait ran past the policy's timeout and was escalated. */
  escalatedAt?: string;
}

/** A GitHub action of the incident (core/github/action.ts), with the same statuses as the npm ones. */
export type GithubActionState = ActionRecord<AnyGithubAction>;

/** The GitHub side of the incident (workflows/github-containment.ts); absent before it first runs. */
export interface GithubView {
  actions: GithubActionState[];
  /** What could not be planned on GitHub, and what a person can do. */
  notes: string[];
  /** Set once the incident found that the worker holds no GitHub settings (recorded once). */
  notConfigured?: boolean;
  /** When the last GitHub pass ended: its actions run and read back. */
  passedAt?: string;
}

export type AuditPhase =
  | 'report'
  | 'planned'
  | 'approval-requested'
  | 'approved'
  | 'rejected'
  /** An approval the workflow refused (no right under the policy, no password, nothing waiting). */
  | 'refused'
  | 'escalated'
  | 'skipped'
  | 'started'
  | 'succeeded'
  | 'unchanged'
  | 'failed'
  | 'conflict'
  | 'verified'
  | 'verify-failed'
  /** A re-read found the registry no longer serving what was contained. */
  | 'drift'
  | 'rollback-requested'
  | 'rolled-back'
  | 'not-undoable'
  | 'closed';

export interface AuditEvent {
  seq: number;
  at: string;
  /** `quarantine` for the workflow itself, or the person or scanner behind the event. */
  actor: string;
  phase: AuditPhase;
  actionId?: string;
  /** What was acted on: `npm:@acme/core`, `npm:@acme/core#latest`, `npm-token:<key>`. */
  target?: string;
  before?: unknown;
  after?: unknown;
  /** Plain text: what happened and why (the policy rule, the registry's words). */
  detail: string;
  evidence?: string[];
}

/**
 * - running: actions that run at once are under way;
 * - contained: every action that runs at once is done and read back; some wait for a person;
 * - verified: every planned action is done (or decided by a person) and read back;
 * - held: the whole plan waits for a person (limits, over-broad);
 * - recorded: nothing to write (a vulnerability, below the policy's severity);
 * - failed: an action failed or a read-back disagrees;
 * - rolled-back: a person asked to undo it, and what could be undone was;
 * - planned: a plan asked for (`quarantine --plan`): read and planned, nothing written.
 */
export type PlaybookStatus = 'running' | 'contained' | 'verified' | 'held' | 'recorded' | 'failed' | 'rolled-back' | 'planned';

export interface PlaybookView {
  incident: string;
  registry: string;
  compromise: Compromise;
  status: PlaybookStatus;
  actions: ActionState[];
  holds: Hold[];
  notes: string[];
  /** Named releases the incident cannot act on (not on the registry): it is not contained. */
  blockers: string[];
  /** What stays unsafe and needs a person (`latest` with no safe release): it is not contained. */
  unresolved: string[];
  otp: { actions: number; passwords: number; perWindow: number; windowMinutes: number };
  /** The first report and the latest ones (KEPT_REPORTS in all); `reportCount` says how many came. */
  reports: Report[];
  reportCount?: number;
  /** Ids of the latest reports taken (KEPT_REPORT_IDS), so a redelivery is taken once. */
  recentReportIds?: string[];
  /** When the registry was last read for this incident (a pass, or the periodic re-check). */
  lastCheckedAt?: string;
  events: AuditEvent[];
  /** Events dropped from the middle to keep the view bounded (the first and the latest are kept). */
  eventsDropped: number;
  startedAt: string;
  /** When every automatic action was read back in place: the time to contain. */
  containedAt?: string;
  verifiedAt?: string;
  /** The GitHub side: its actions run after the registry's containment is verified, never before. */
  github?: GithubView;
  closedAt?: string;
  closeReason?: string;
}

/** Events kept in the view: the first ones (how it started) and the latest. */
export const KEEP_FIRST_EVENTS = 50;
export const KEEP_LAST_EVENTS = 950;

/** Keeps the first report and the latest ones, and the latest report ids, however many reports come. */
export function boundReports(view: PlaybookView): void {
  if (view.reports.length > KEPT_REPORTS) view.reports = [view.reports[0]!, ...view.reports.slice(-(KEPT_REPORTS - 1))];
  if ((view.recentReportIds ?? []).length > KEPT_REPORT_IDS) view.recentReportIds = view.recentReportIds!.slice(-KEPT_REPORT_IDS);
}

export function boundEvents(view: PlaybookView): void {
  const excess = view.events.length - (KEEP_FIRST_EVENTS + KEEP_LAST_EVENTS);
  if (excess <= 0) return;
  view.events.splice(KEEP_FIRST_EVENTS, excess);
  view.eventsDropped += excess;
}

/** The audit target of an action. */
export function actionTarget(action: PlaybookAction): string {
  switch (action.kind) {
    case 'revoke-token':
      return `npm-token:${action.tokenKey}`;
    case 'dist-tag':
      return `npm:${action.package}#${action.tag}`;
    case 'unpublish':
      return `npm:${action.package}@${action.version}`;
    default:
      return `npm:${action.package}`;
  }
}

export function pendingApprovals(view: PlaybookView): ActionState[] {
  return view.actions.filter((a) => a.status === 'waiting');
}
