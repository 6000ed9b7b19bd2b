// The incident: what the workflow is asked to contain, and what it shows of its progress.
import type { AlertKind, AlertSeverity, AlertSource } from './alert';
import type { ContainmentPlan, VerificationCheck } from './plan';

/** What an incident keeps of a scanner's alert: ids and facts, never the raw payload. */
export interface AlertSummary {
  source: AlertSource;
  sourceId: string;
  kind: AlertKind;
  severity: AlertSeverity;
  aliases: string[];
  evidence: string[];
  withdrawn: boolean;
}

/** One report of the compromise: the first starts the incident, later ones join it. */
export interface Report {
  reportId: string;
  /** Who raised it: "cli:<user>", "github:GHSA-...", ... */
  requestedBy: string;
  reason: string;
  at: string;
  alert?: AlertSummary;
}

export interface IncidentRequest {
  /** The incident (and workflow) id; deterministic, see incidentId(). */
  incident: string;
  /** Registry base URL. Its credentials stay with the worker. */
  registry: string;
  name: string;
  versions: string[];
  dryRun: boolean;
  /** The report that starts the incident; its reason goes into the deprecation message. */
  report: Report;
  /** Set when a long incident continues in a fresh run: the view so far. */
  resume?: IncidentView;
  /**
   * More affected versions than this, from alerts alone, waits for a person (default
   * DEFAULT_MAX_VERSIONS_PER_CONTAINMENT in core/plan.ts).
   */
  maxVersions?: number;
  /** How often a contained incident reads the registry back to catch drift (default 15 minutes). */
  recheckIntervalMs?: number;
  /** Closes the incident after this long without a report (default 7 days); tests use seconds. */
  idleTimeoutMs?: number;
}

/**
 * - running: reading, planning or writing now;
 * - verified: the registry was read back and serves the containment;
 * - failed: not contained (a refusal, a blocker, a check that failed, or drift left alone);
 * - planned: a dry run;
 * - held: the containment is over-broad for an alert alone; a person's report approves it;
 * - recorded: no report so far authorises a registry write (a vulnerability, a withdrawn alert); a
 *   person decides.
 */
export type IncidentStatus = 'running' | 'verified' | 'failed' | 'planned' | 'held' | 'recorded';

export type StepStatus = 'running' | 'ok' | 'failed' | 'skipped';

export interface TimelineEntry {
  step: string;
  status: StepStatus;
  detail: string;
  startedAt: string;
  endedAt?: string;
}

export interface IncidentView {
  incident: string;
  status: IncidentStatus;
  registry: string;
  name: string;
  versions: string[];
  reason: string;
  dryRun: boolean;
  reports: Report[];
  startedAt: string;
  endedAt?: string;
  /** Why it failed, was held or only recorded, in one line. */
  failure?: string;
  /** Incidents of older code carry plans without overBroad. */
  plan?: Omit<ContainmentPlan, 'overBroad'> & { overBroad?: string[] };
  checks?: VerificationCheck[];
  timeline: TimelineEntry[];
  /** Reports ever taken (view.reports keeps the first and the latest few). */
  reportCount?: number;
  /** Timeline entries no longer kept (the oldest after the first few). */
  timelineDropped?: number;
  /** Who last authorised registry writes (an on-call person or a live malware/build alert). */
  authorisedBy?: string;
  /** The on-call person whose report approved this containment, over-broad or not. */
  approvedBy?: string;
  /** The on-call person's own reason, which the deprecation message may carry. */
  onCallReason?: string;
  /** Advisory ids the reports named (a few, each of a strict known form). */
  advisories?: string[];
  /** Report ids taken recently, so that a redelivery after continue-as-new is still recognised. */
  recentReportIds?: string[];
  /** When a report last arrived (the idle timeout counts from it). */
  lastReportAt?: string;
  /** When the registry was last read for this incident. */
  lastCheckedAt?: string;
}

/** How many reports and timeline entries an incident keeps (the first ones plus the latest). */
export const KEPT_REPORTS = 50;
export const KEPT_TIMELINE_ENTRIES = 200;
export const KEPT_REPORT_IDS = 1_000;
/** The first entries are kept: they say how the incident began. */
export const KEPT_FIRST_TIMELINE_ENTRIES = 20;
const MAX_EVIDENCE_KEPT = 5;
const MAX_KEPT_TEXT = 500;

function cut(text: string, max = MAX_KEPT_TEXT): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** What an incident keeps of a report: its ids and a few bounded facts, never a large payload. */
export function compactReport(report: Report): Report {
  const alert = report.alert;
  return {
    reportId: cut(report.reportId),
    requestedBy: cut(report.requestedBy),
    reason: cut(report.reason),
    at: cut(report.at, 40),
    ...(alert
      ? {
          alert: {
            ...alert,
            sourceId: cut(alert.sourceId),
            aliases: alert.aliases.slice(0, 20).map((a) => cut(a, 100)),
            evidence: alert.evidence.slice(0, MAX_EVIDENCE_KEPT).map((e) => cut(e)),
          },
        }
      : {}),
  };
}

/**
 * Bounds an incident's view in place: the first report and the latest ones, the first timeline entries
 * and the latest ones, with counts of what was dropped. Running entries are never dropped.
 */
export function boundView(view: IncidentView): void {
  view.reportCount = Math.max(view.reportCount ?? 0, view.reports.length);
  if (view.reports.length > KEPT_REPORTS) view.reports = [view.reports[0]!, ...view.reports.slice(-(KEPT_REPORTS - 1))];
  if (view.timeline.length > KEPT_TIMELINE_ENTRIES) {
    const latest = view.timeline.slice(-(KEPT_TIMELINE_ENTRIES - KEPT_FIRST_TIMELINE_ENTRIES));
    const dropped = view.timeline.length - KEPT_FIRST_TIMELINE_ENTRIES - latest.length;
    view.timeline = [...view.timeline.slice(0, KEPT_FIRST_TIMELINE_ENTRIES), ...latest];
    view.timelineDropped = (view.timelineDropped ?? 0) + dropped;
  }
  if (view.recentReportIds && view.recentReportIds.length > KEPT_REPORT_IDS) view.recentReportIds = view.recentReportIds.slice(-KEPT_REPORT_IDS);
}

/** A terminal status says whether the release is contained now. */
export function isContained(view: Pick<IncidentView, 'status'>): boolean {
  return view.status === 'verified';
}

/** Whether the incident waits for a person before anything is written. */
export function waitsForPerson(view: Pick<IncidentView, 'status'>): boolean {
  return view.status === 'held' || view.status === 'recorded';
}

/** Whether containment has reached an outcome a caller can act on (the incident itself stays open). */
export function hasOutcome(view: Pick<IncidentView, 'status'>): boolean {
  return view.status !== 'running';
}
