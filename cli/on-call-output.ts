// What an on-call report prints once it has its answer, whether the answer came from Temporal (the CLI
// connected itself) or from `quarantine serve` (QUARANTINE_SERVER): one output, one set of exit codes.
// Loads nothing of Temporal's: the server path must start without the client's module graph.
import type { AuditEvent, PlaybookView } from '../core/playbook/view';
import type { Output } from './contain';
import { printable } from '../core/spec';
import { terminalSafe } from './render';
import { renderPlaybook } from './render-playbook';

export function eventLine(event: AuditEvent): string {
  return `${event.at.slice(11, 23)}  ${event.phase.padEnd(18)} ${terminalSafe(event.detail)}`;
}

/** Whether the automatic containment is in place and read back. */
export function isContainedView(view: PlaybookView): boolean {
  return view.status === 'contained' || view.status === 'verified';
}

export interface OnCallOutcome {
  incident: string;
  /** This command's report: whether it opened the incident or joined one. */
  reportId: string;
  runId?: string;
  osv?: unknown;
  json: boolean;
  waitMs: number;
  /** Audit events already printed as progress. */
  printed: number;
}

/** Prints the outcome; returns the exit status (0 contained or planned, 1 not contained, 3 no answer in time). */
export function printOnCallOutcome(view: PlaybookView | undefined, outcome: OnCallOutcome, output: Output): number {
  const { incident, runId, json } = outcome;
  const osv = outcome.osv === undefined ? {} : { osv: outcome.osv };
  if (view === undefined) {
    const reason = `no outcome after ${outcome.waitMs} ms; the incident goes on`;
    if (json) output.out(JSON.stringify({ incident, workflowId: incident, ...(runId ? { runId } : {}), status: 'unknown', error: reason, ...osv }));
    else output.err(`incident ${terminalSafe(incident)}: ${reason}; follow it with \`quarantine timeline ${terminalSafe(incident)}\``);
    return 3;
  }
  const isNew = view.reports[0]?.reportId === outcome.reportId;
  if (json) {
    output.out(JSON.stringify({ ...view, workflowId: view.incident, runId, new: isNew, contained: isContainedView(view), ...osv }));
  } else {
    for (const event of view.events.filter((e) => e.seq > outcome.printed)) output.err(eventLine(event));
    if (!isNew) output.err(`joined the existing incident (first reported by ${terminalSafe(view.reports[0]?.requestedBy ?? 'unknown')})`);
    output.out(renderPlaybook(view));
  }
  if (view.status === 'planned') return 0;
  return isContainedView(view) ? 0 : 1;
}

/** An argument that is an incident id of the legacy containment type rather than a release. */
export function isLegacyIncidentId(argument: string): boolean {
  return /^incident-.+@[^@]+-[0-9a-f]{8}(-dry-run)?$/.test(argument) && !printable(argument).includes('\\u');
}
