// Everything the CLI prints about an incident goes through here: alert and registry text is untrusted,
// so control characters (ANSI escapes, carriage returns, bidi overrides) never reach the terminal raw.
import { KEPT_FIRST_TIMELINE_ENTRIES, type IncidentView, type TimelineEntry } from '../core/incident';
import type { WatchView } from '../workflows/watch-incident';

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/\n/g, '\\n');
}

function clock(iso: string): string {
  return iso.slice(11, 23);
}

function duration(entry: TimelineEntry): string {
  if (!entry.endedAt) return '';
  const ms = Date.parse(entry.endedAt) - Date.parse(entry.startedAt);
  return ms > 0 ? ` (${ms} ms)` : '';
}

const MARK: Record<TimelineEntry['status'], string> = { ok: 'ok  ', failed: 'FAIL', skipped: 'skip', running: '... ' };

export function renderEntry(entry: TimelineEntry): string {
  return `${clock(entry.startedAt)}  ${MARK[entry.status]}  ${terminalSafe(entry.step)}: ${terminalSafe(entry.detail)}${duration(entry)}`;
}

export function renderStatus(view: IncidentView): string {
  const release = `${view.name}@${view.versions.join(', ')}`;
  switch (view.status) {
    case 'verified':
      return `contained: ${terminalSafe(release)} on ${terminalSafe(view.registry)} (verified)`;
    case 'planned':
      return `dry run: ${terminalSafe(release)} would be contained; nothing was written`;
    case 'failed':
      return `NOT contained: ${terminalSafe(release)}: ${terminalSafe(view.failure ?? 'failed')}`;
    case 'held':
      return `HELD for a person, nothing written: ${terminalSafe(release)}: ${terminalSafe(view.failure ?? 'over-broad')}`;
    case 'recorded':
      return `recorded, nothing written: ${terminalSafe(release)}: ${terminalSafe(view.failure ?? 'no report authorises a write')}`;
    default:
      return `in progress: ${terminalSafe(release)}`;
  }
}

export function renderTimeline(view: IncidentView): string {
  const lines = [
    `incident ${terminalSafe(view.incident)}`,
    `  release   ${terminalSafe(view.name)}@${terminalSafe(view.versions.join(', '))} on ${terminalSafe(view.registry)}`,
    `  status    ${view.status}${view.failure ? `: ${terminalSafe(view.failure)}` : ''}`,
    `  reports   ${reportsLine(view)}`,
    ...(view.approvedBy ? [`  approved  by ${terminalSafe(view.approvedBy)}`] : []),
    `  started   ${view.startedAt}${view.endedAt ? `, ended ${view.endedAt}` : ''}`,
    '',
    ...timelineLines(view),
  ];
  return lines.join('\n');
}

function reportsLine(view: IncidentView): string {
  const names = view.reports.map((r) => terminalSafe(r.requestedBy));
  const total = view.reportCount ?? view.reports.length;
  if (total <= view.reports.length) return names.join(', ');
  // The view keeps the first report and the latest ones.
  return `${total} in all: ${names[0] ?? ''}, … ${total - view.reports.length} not kept …, ${names.slice(1).join(', ')}`;
}

function timelineLines(view: IncidentView): string[] {
  const lines = view.timeline.map(renderEntry);
  if (!view.timelineDropped) return lines;
  // The first entries are kept, then the latest: the gap is between them.
  const at = Math.min(KEPT_FIRST_TIMELINE_ENTRIES, lines.length);
  return [...lines.slice(0, at), `…  ${view.timelineDropped} timeline entries not kept  …`, ...lines.slice(at)];
}

/** An incident that records alerts for a person: what it is about and every report, oldest first. */
export function renderWatch(view: WatchView): string {
  return [
    `incident ${terminalSafe(view.incident)}`,
    `  kind      ${view.kind}`,
    `  about     ${terminalSafe(view.subject)}`,
    `  status    ${view.status}${view.closeReason ? `: ${terminalSafe(view.closeReason)}` : ''}`,
    `  started   ${view.startedAt}${view.closedAt ? `, closed ${view.closedAt}` : ''}`,
    ...blastRadiusLines(view),
    ...(view.reportCount !== undefined && view.reportCount > view.reports.length ? [`  reports   ${view.reportCount}, the latest ${view.reports.length} listed`] : []),
    '',
    ...view.reports.map((r) => {
      const alert = r.alert;
      const ids = alert ? [alert.sourceId, ...alert.aliases].map(terminalSafe).join(', ') : '';
      return `${r.at.slice(11, 23)}  ${terminalSafe(r.requestedBy)}: ${terminalSafe(r.reason)}${ids ? ` [${ids}]` : ''}${alert?.withdrawn ? ' (withdrawn)' : ''}`;
    }),
  ].join('\n');
}

function blastRadiusLines(view: WatchView): string[] {
  if (view.assessmentError) return [`  blast radius unknown: ${terminalSafe(view.assessmentError)}`];
  const radius = view.blastRadius;
  if (!radius) return [];
  const affected = view.affectedReleases ?? radius.releases.length;
  const lines = [`  blast     ${affected} of ${radius.indexedReleases} indexed releases (assessed ${view.assessedAt ?? '?'})${affected > radius.releases.length ? `, the first ${radius.releases.length} listed` : ''}`];
  if (radius.overBroad) lines.push(`  OVER-BROAD, a human decides: ${terminalSafe(radius.overBroad)}`);
  for (const release of radius.releases) {
    const reason = release.reasons[0];
    const why = reason?.kind === 'component' ? (reason.path.length > 0 ? reason.path.join(' > ') : `ships ${reason.component.name}@${reason.component.version}`) : reason?.kind === 'build' ? `built by ${reason.matched.join(', ')}` : reason?.finding ?? '';
    lines.push(`    ${terminalSafe(`${release.name}@${release.version}`)}  ${terminalSafe(why)}`);
  }
  for (const incident of view.containments ?? []) lines.push(`  contained in ${terminalSafe(incident)}`);
  for (const held of view.held ?? []) lines.push(`  HELD for a person, not contained: ${terminalSafe(held.reason)} (${held.versionCount} version(s))`);
  return lines;
}

const COLOURS = { green: 32, yellow: 33, red: 31 } as const;

/** Colour for a terminal: only when `enabled` (stdout is a TTY and NO_COLOR is unset), around text already made terminalSafe. */
export function paint(text: string, colour: keyof typeof COLOURS | undefined, enabled: boolean): string {
  return enabled && colour ? `\u001b[${COLOURS[colour]}m${text}\u001b[0m` : text;
}
