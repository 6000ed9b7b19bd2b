// The incident as the audit timeline shows it: one shape for the web page, its JSON and Markdown
// exports, and the CLI (`quarantine list`, `quarantine timeline`). Built from what a workflow answers
// (its query while it runs, its result once closed); pure, so every reader shows the same thing.
//
// Everything in here that came from a report (package names, reasons, advisory ids, evidence links) is
// attacker-controlled text: it is data, and each renderer escapes it for where it goes.
import type { IncidentView, Report } from '../incident';
import { describeAction, actionPackage } from '../playbook/action';
import type { AuditEvent, AuditPhase, PlaybookView } from '../playbook/view';
import type { WatchView } from '../../workflows/watch-incident';

export const TIMELINE_FORMAT = 'quarantine-incident/1';

/** How an event came out, which decides its colour: done, nothing to do, waits for a person, went wrong, declined, or a fact. */
export type EventResult = 'ok' | 'unchanged' | 'waiting' | 'failed' | 'declined' | 'info';

const RESULT_OF_PHASE: Record<AuditPhase, EventResult> = {
  report: 'info',
  planned: 'info',
  'approval-requested': 'waiting',
  approved: 'ok',
  rejected: 'declined',
  refused: 'failed',
  escalated: 'waiting',
  skipped: 'declined',
  started: 'info',
  succeeded: 'ok',
  unchanged: 'unchanged',
  failed: 'failed',
  conflict: 'failed',
  verified: 'ok',
  'verify-failed': 'failed',
  drift: 'failed',
  'rollback-requested': 'info',
  'rolled-back': 'ok',
  'not-undoable': 'failed',
  closed: 'info',
};

/** Lanes: the incident itself (reports, plans), one per package, and one per system acted on beyond a package. */
export type LaneKind = 'incident' | 'package' | 'registry' | 'github';

export interface TimelineLane {
  id: string;
  kind: LaneKind;
  label: string;
}

export const INCIDENT_LANE: TimelineLane = { id: 'incident', kind: 'incident', label: 'reports and plan' };
export const REGISTRY_LANE: TimelineLane = { id: 'registry', kind: 'registry', label: 'npm registry (account)' };
export const GITHUB_LANE: TimelineLane = { id: 'github', kind: 'github', label: 'GitHub' };

export interface TimelineEvent {
  seq: number;
  at: string;
  actor: string;
  /** What happened (the audit phase for a playbook incident). */
  action: string;
  target?: string;
  before?: unknown;
  after?: unknown;
  result: EventResult;
  detail: string;
  evidence?: string[];
  actionId?: string;
  lane: string;
}

export interface TimelineReport {
  at: string;
  /** Who reported it: `cli:<user>`, `github:GHSA-…`, a scanner. */
  source: string;
  reason: string;
  /** The alert's id and aliases. */
  ids: string[];
  kind?: string;
  severity?: string;
  evidence: string[];
  withdrawn?: boolean;
}

export interface PendingApproval {
  actionId: string;
  kind: string;
  description: string;
  target?: string;
  /** npm asks a one-time password for it. */
  otp: boolean;
  /** The policy rule that made it wait. */
  rule: string;
}

export interface TimelineAction {
  id: string;
  kind: string;
  description: string;
  status: string;
  gate: string;
  approvedBy?: string;
  error?: string;
}

export interface AffectedRelease {
  name: string;
  version: string;
  reason: string;
}

export interface IncidentTimeline {
  format: typeof TIMELINE_FORMAT;
  incident: string;
  /** containment (the playbook), containment (before the playbook), or the watch incident's kind. */
  kind: string;
  status: string;
  registry?: string;
  packages: string[];
  startedAt: string;
  firstReportAt?: string;
  containedAt?: string;
  verifiedAt?: string;
  closedAt?: string;
  /** From the first report to every automatic action read back in place. */
  timeToContainMs?: number;
  reports: TimelineReport[];
  reportCount: number;
  events: TimelineEvent[];
  /** Events the incident let go from the middle of a long trail (the first and the latest are kept). */
  eventsDropped: number;
  lanes: TimelineLane[];
  pending: PendingApproval[];
  actions: TimelineAction[];
  blastRadius: { advisories: string[]; releases: AffectedRelease[]; overBroad?: string; note?: string };
  /** Holds, blockers, unresolved and plan notes: what a person should read. */
  notes: string[];
}

export type AnyView = { type: 'playbook'; view: PlaybookView } | { type: 'watch'; view: WatchView } | { type: 'containment'; view: IncidentView };

/** The package an audit target names (`npm:@acme/core#latest`, `npm:@acme/core@1.2.3`), if any. */
export function targetPackage(target: string | undefined): string | undefined {
  if (!target?.startsWith('npm:')) return undefined;
  const rest = target.slice(4);
  const scoped = rest.startsWith('@');
  const slash = scoped ? rest.indexOf('/') : -1;
  const from = scoped ? Math.max(slash, 1) : 0;
  const ends = [rest.indexOf('#', from), rest.indexOf('@', from + 1)].filter((i) => i > 0);
  const name = ends.length > 0 ? rest.slice(0, Math.min(...ends)) : rest;
  return name || undefined;
}

function laneOf(target: string | undefined, phase: string): string {
  if (phase === 'report') return INCIDENT_LANE.id;
  const pkg = targetPackage(target);
  if (pkg) return `package:${pkg}`;
  if (target?.startsWith('npm-token:') || target?.startsWith('npm:')) return REGISTRY_LANE.id;
  if (target?.startsWith('github:')) return GITHUB_LANE.id;
  return INCIDENT_LANE.id;
}

function lanesFor(packages: readonly string[], events: readonly TimelineEvent[]): TimelineLane[] {
  const names = [...new Set([...packages, ...events.filter((e) => e.lane.startsWith('package:')).map((e) => e.lane.slice('package:'.length))])];
  return [INCIDENT_LANE, ...names.map((name) => ({ id: `package:${name}`, kind: 'package' as const, label: name })), REGISTRY_LANE, GITHUB_LANE];
}

function timelineReport(report: Report): TimelineReport {
  const alert = report.alert;
  return {
    at: report.at,
    source: report.requestedBy,
    reason: report.reason,
    ids: alert ? [alert.sourceId, ...alert.aliases] : [],
    ...(alert ? { kind: alert.kind, severity: alert.severity, withdrawn: alert.withdrawn } : {}),
    evidence: alert?.evidence ?? [],
  };
}

function eventOf(event: AuditEvent): TimelineEvent {
  return {
    seq: event.seq,
    at: event.at,
    actor: event.actor,
    action: event.phase,
    ...(event.target !== undefined ? { target: event.target } : {}),
    ...(event.before !== undefined ? { before: event.before } : {}),
    ...(event.after !== undefined ? { after: event.after } : {}),
    result: RESULT_OF_PHASE[event.phase] ?? 'info',
    detail: event.detail,
    ...(event.evidence && event.evidence.length > 0 ? { evidence: event.evidence } : {}),
    ...(event.actionId !== undefined ? { actionId: event.actionId } : {}),
    lane: laneOf(event.target, event.phase),
  };
}

function millisBetween(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export function playbookTimeline(view: PlaybookView): IncidentTimeline {
  const events = view.events.map(eventOf);
  const packages = view.compromise.releases.map((r) => r.name);
  const firstReportAt = view.reports[0]?.at ?? view.startedAt;
  return {
    format: TIMELINE_FORMAT,
    incident: view.incident,
    kind: 'containment',
    status: view.status,
    registry: view.registry,
    packages,
    startedAt: view.startedAt,
    firstReportAt,
    ...(view.containedAt ? { containedAt: view.containedAt } : {}),
    ...(view.verifiedAt ? { verifiedAt: view.verifiedAt } : {}),
    ...(view.closedAt ? { closedAt: view.closedAt } : {}),
    ...(millisBetween(view.startedAt, view.containedAt) !== undefined ? { timeToContainMs: millisBetween(view.startedAt, view.containedAt) } : {}),
    reports: view.reports.map(timelineReport),
    reportCount: view.reportCount ?? view.reports.length,
    events,
    eventsDropped: view.eventsDropped,
    lanes: lanesFor(packages, events),
    pending: view.actions
      .filter((a) => a.status === 'waiting')
      .map((a) => ({
        actionId: a.action.id,
        kind: a.action.kind,
        description: describeAction(a.action),
        ...(actionPackage(a.action) ? { target: `npm:${actionPackage(a.action)}` } : {}),
        otp: a.action.otp,
        rule: a.action.rule,
      })),
    actions: view.actions.map((a) => ({
      id: a.action.id,
      kind: a.action.kind,
      description: describeAction(a.action),
      status: a.status,
      gate: a.action.gate === 'approval' ? (a.action.otp ? 'approval+otp' : 'approval') : 'auto',
      ...(a.approvedBy ? { approvedBy: a.approvedBy } : {}),
      ...(a.error ? { error: a.error } : {}),
    })),
    blastRadius: {
      advisories: view.compromise.advisories,
      releases: view.compromise.releases.flatMap((r) => r.versions.map((version) => ({ name: r.name, version, reason: 'named by a report: this release itself is compromised' }))),
      ...(view.compromise.overBroad && view.compromise.overBroad.length > 0 ? { overBroad: view.compromise.overBroad.join('; ') } : {}),
    },
    notes: [
      ...view.holds.map((h) => `held: ${h.reason}`),
      ...(view.blockers ?? []).map((b) => `blocked: ${b}`),
      ...(view.unresolved ?? []).map((u) => `unsafe: ${u}`),
      ...view.notes,
      ...(view.closeReason ? [`closed: ${view.closeReason}`] : []),
    ],
  };
}

/** A dependency, build, review, token or withdrawn incident: its reports, its blast radius and the containments it opened. */
export function watchTimeline(view: WatchView): IncidentTimeline {
  const reports = view.reports.map(timelineReport);
  const events: TimelineEvent[] = view.reports.map((r, i) => ({ seq: i + 1, at: r.at, actor: r.requestedBy, action: 'report', result: 'info', detail: r.reason, lane: INCIDENT_LANE.id }));
  const radius = view.blastRadius;
  const releases = (radius?.releases ?? []).map((r) => {
    const reason = r.reasons[0];
    const why = reason?.kind === 'component' ? (reason.path.length > 0 ? reason.path.join(' > ') : `ships ${reason.component.name}@${reason.component.version}`) : reason?.kind === 'build' ? `built by ${reason.matched.join(', ')}` : (reason?.finding ?? '');
    return { name: r.name, version: r.version, reason: why };
  });
  const packages = [...new Set(releases.map((r) => r.name))];
  return {
    format: TIMELINE_FORMAT,
    incident: view.incident,
    kind: view.kind,
    status: view.status,
    packages,
    startedAt: view.startedAt,
    ...(reports[0] ? { firstReportAt: reports[0].at } : {}),
    ...(view.closedAt ? { closedAt: view.closedAt } : {}),
    reports,
    reportCount: view.reportCount ?? reports.length,
    events,
    eventsDropped: Math.max(0, (view.reportCount ?? reports.length) - reports.length),
    lanes: lanesFor(packages, events),
    pending: [],
    actions: [],
    blastRadius: {
      advisories: [...new Set(view.reports.flatMap((r) => (r.alert ? [r.alert.sourceId, ...r.alert.aliases] : [])))],
      releases,
      ...(radius?.overBroad ? { overBroad: radius.overBroad } : {}),
      ...(view.assessmentError ? { note: `blast radius unknown: ${view.assessmentError}` } : {}),
    },
    notes: [
      `about ${view.subject}`,
      ...(view.containments ?? []).map((c) => `contained in ${c}`),
      ...(view.held ?? []).map((h) => `held for a person: ${h.reason}`),
      ...(view.closeReason ? [`closed: ${view.closeReason}`] : []),
    ],
  };
}

const LEGACY_RESULT: Record<string, EventResult> = { ok: 'ok', failed: 'failed', skipped: 'declined', running: 'waiting' };

/** A containment of the type before the playbook: its steps as events on its one package's lane. */
export function containmentTimeline(view: IncidentView): IncidentTimeline {
  const lane = `package:${view.name}`;
  const events: TimelineEvent[] = view.timeline.map((entry, i) => ({ seq: i + 1, at: entry.startedAt, actor: 'quarantine', action: entry.step, result: LEGACY_RESULT[entry.status] ?? 'info', detail: entry.detail, lane }));
  return {
    format: TIMELINE_FORMAT,
    incident: view.incident,
    kind: 'containment (before the playbook)',
    status: view.status,
    registry: view.registry,
    packages: [view.name],
    startedAt: view.startedAt,
    ...(view.reports[0] ? { firstReportAt: view.reports[0].at } : {}),
    ...(view.endedAt ? { closedAt: view.endedAt } : {}),
    reports: view.reports.map(timelineReport),
    reportCount: view.reportCount ?? view.reports.length,
    events,
    eventsDropped: view.timelineDropped ?? 0,
    lanes: lanesFor([view.name], events),
    pending: [],
    actions: [],
    blastRadius: { advisories: [], releases: view.versions.map((version) => ({ name: view.name, version, reason: 'named by a report' })) },
    notes: view.failure ? [view.failure] : [],
  };
}

export function incidentTimeline(read: AnyView): IncidentTimeline {
  if (read.type === 'playbook') return playbookTimeline(read.view);
  if (read.type === 'watch') return watchTimeline(read.view);
  return containmentTimeline(read.view);
}

/** `812 ms`, `4.2 s`, `3 min 10 s`, `2 h 5 min`. */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
