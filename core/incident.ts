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
}

export type IncidentStatus = 'running' | 'verified' | 'failed' | 'planned';

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
  /** Why it failed, in one line, when status is "failed". */
  failure?: string;
  plan?: ContainmentPlan;
  checks?: VerificationCheck[];
  timeline: TimelineEntry[];
}

/** A terminal status says whether the release is contained now. */
export function isContained(view: Pick<IncidentView, 'status'>): boolean {
  return view.status === 'verified';
}

/** Whether containment has reached an outcome a caller can act on (the incident itself stays open). */
export function hasOutcome(view: Pick<IncidentView, 'status'>): boolean {
  return view.status !== 'running';
}
