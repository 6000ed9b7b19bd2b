// A playbook incident in the terminal: its actions with their gates and state, what waits for whom, and
// the audit trail. Package names, reasons and the registry's words are untrusted: all through terminalSafe.
import { describeAction } from '../core/playbook/action';
import { KEEP_FIRST_EVENTS, type ActionState, type AuditEvent, type PlaybookView } from '../core/playbook/view';
import { paint, terminalSafe } from './render';

const STATUS_LINE: Record<PlaybookView['status'], string> = {
  running: 'in progress',
  contained: 'contained, read back; some actions wait for a person',
  verified: 'verified: every action done or decided, read back',
  held: 'HELD for a person, nothing written',
  recorded: 'recorded, nothing written',
  failed: 'NOT contained: an action failed or did not read back',
  'rolled-back': 'rolled back',
  planned: 'planned only: nothing was written',
};

function timeToContain(view: PlaybookView): string {
  if (!view.containedAt) return '';
  const ms = Date.parse(view.containedAt) - Date.parse(view.startedAt);
  return ` in ${ms < 10_000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`;
}

function actionLine(state: ActionState): string {
  const gate = state.action.gate === 'approval' ? (state.action.otp ? 'approval+otp' : 'approval') : 'auto';
  const by = state.approvedBy ? ` (approved by ${terminalSafe(state.approvedBy)})` : '';
  const error = state.error ? `: ${terminalSafe(state.error)}` : '';
  return `  ${state.status.padEnd(8)} ${gate.padEnd(12)} ${terminalSafe(state.action.id)}\n           ${terminalSafe(describeAction(state.action))}${by}${error}`;
}

function eventLine(event: AuditEvent): string {
  return `${event.at.slice(11, 23)}  ${event.phase.padEnd(18)} ${terminalSafe(event.actor)}: ${terminalSafe(event.detail)}`;
}

function auditLines(view: PlaybookView): string[] {
  const lines = view.events.map(eventLine);
  if (view.eventsDropped === 0) return lines;
  const at = Math.min(KEEP_FIRST_EVENTS, lines.length);
  return [...lines.slice(0, at), `… ${view.eventsDropped} events not kept in the view …`, ...lines.slice(at)];
}

const STATUS_COLOUR: Record<PlaybookView['status'], 'green' | 'yellow' | 'red' | undefined> = {
  running: 'yellow', contained: 'green', verified: 'green', held: 'yellow', recorded: 'yellow', failed: 'red', 'rolled-back': undefined, planned: undefined,
};

/** `colour`: only for a terminal (the caller knows stdout is a TTY and NO_COLOR is unset). */
export function renderPlaybook(view: PlaybookView, colour = false): string {
  const waiting = view.actions.filter((a) => a.status === 'waiting');
  const releases = view.compromise.releases.map((r) => `${r.name}@${r.versions.join(',')}`).join(' ');
  return [
    `incident ${terminalSafe(view.incident)}`,
    `  releases  ${terminalSafe(releases)} on ${terminalSafe(view.registry)}`,
    `  status    ${paint(`${view.status}: ${STATUS_LINE[view.status]}`, STATUS_COLOUR[view.status], colour)}${timeToContain(view)}`,
    ...view.holds.map((h) => `  HELD      ${terminalSafe(h.reason)}`),
    ...(view.blockers ?? []).map((b) => `  BLOCKED   ${terminalSafe(b)}`),
    ...(view.unresolved ?? []).map((u) => `  UNSAFE    ${terminalSafe(u)}`),
    ...view.notes.map((n) => `  note      ${terminalSafe(n)}`),
    ...(view.otp.passwords > 0 ? [`  otp       ${view.otp.actions} writes need a one-time password: ${view.otp.passwords} password${view.otp.passwords === 1 ? '' : 's'} (${view.otp.perWindow} writes each, within ${view.otp.windowMinutes} minutes)`] : []),
    '',
    'actions',
    ...view.actions.map(actionLine),
    ...(waiting.length > 0
      ? ['', `${waiting.length} waiting: quarantine approve ${terminalSafe(view.incident)} [action id...] [--otp CODE]   or   quarantine reject ${terminalSafe(view.incident)} [action id...]`]
      : []),
    '',
    'audit trail',
    ...auditLines(view),
  ].join('\n');
}
