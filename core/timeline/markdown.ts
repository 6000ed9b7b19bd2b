// The post-incident report in Markdown: what happened, when, who approved, how long containment took.
// Alert text is attacker-controlled: every piece of it goes through markdownText, which backslash-escapes
// every ASCII punctuation character (CommonMark lets any of them be escaped), so no report can open a
// heading, a list, a link, an image, a table cell, a code span or raw HTML, and puts it on one line.
import { durationText, type IncidentTimeline, type TimelineEvent } from './model';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g;
const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

/** Untrusted text as inert Markdown on one line. */
export function markdownText(text: string, max = 2000): string {
  const line = text.replace(CONTROL, ' ').trim();
  const cut = line.length > max ? `${line.slice(0, max)}…` : line;
  return cut.replace(PUNCTUATION, (c) => `\\${c}`);
}

function when(iso: string | undefined): string {
  return iso ? markdownText(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')) : 'not yet';
}

function eventRow(event: TimelineEvent): string {
  const cells = [when(event.at), markdownText(event.actor), markdownText(event.action), markdownText(event.target ?? ''), event.result, markdownText(event.detail, 500)];
  return `| ${cells.join(' | ')} |`;
}

const DECISIONS = new Set(['approved', 'rejected', 'refused', 'rollback-requested', 'rolled-back']);

export function incidentReportMarkdown(timeline: IncidentTimeline, now: string): string {
  const decisions = timeline.events.filter((e) => DECISIONS.has(e.action));
  const approvers = [...new Set(timeline.events.filter((e) => e.action === 'approved').map((e) => e.actor))];
  const lines = [
    `# Post\\-incident report: ${markdownText(timeline.incident)}`,
    '',
    `Generated ${when(now)} by quarantine from the incident's own record \\(the hash\\-chained timeline is \`…/incidents/<id>.json\`\\)\\.`,
    '',
    '## Summary',
    '',
    `- **Status:** ${markdownText(timeline.status)}`,
    `- **Kind:** ${markdownText(timeline.kind)}`,
    ...(timeline.registry ? [`- **Registry:** ${markdownText(timeline.registry)}`] : []),
    `- **Packages:** ${timeline.packages.map((p) => markdownText(p)).join(', ') || 'none'}`,
    `- **First report:** ${when(timeline.firstReportAt ?? timeline.startedAt)}`,
    `- **Contained:** ${when(timeline.containedAt)}`,
    `- **Verified:** ${when(timeline.verifiedAt)}`,
    ...(timeline.closedAt ? [`- **Closed:** ${when(timeline.closedAt)}`] : []),
    `- **Time to contain:** ${timeline.timeToContainMs === undefined ? 'not contained yet' : markdownText(durationText(timeline.timeToContainMs))}`,
    `- **Approved by:** ${approvers.map((a) => markdownText(a)).join(', ') || 'nobody \\(nothing was approved by a person\\)'}`,
    `- **Waiting for a person:** ${timeline.pending.length}`,
    '',
    '## What happened',
    '',
    `${timeline.reportCount} report${timeline.reportCount === 1 ? '' : 's'}${timeline.reportCount > timeline.reports.length ? ` \\(${timeline.reports.length} kept\\)` : ''}:`,
    '',
    ...timeline.reports.map((r) => `- ${when(r.at)}, ${markdownText(r.source)}${r.ids.length > 0 ? ` \\[${r.ids.map((id) => markdownText(id)).join(', ')}\\]` : ''}: ${markdownText(r.reason)}`),
    ...(timeline.notes.length > 0 ? ['', ...timeline.notes.map((n) => `- ${markdownText(n)}`)] : []),
    '',
    '## Blast radius',
    '',
    ...(timeline.blastRadius.releases.length === 0 ? ['No release of ours recorded\\.'] : timeline.blastRadius.releases.map((r) => `- ${markdownText(`${r.name}@${r.version}`)}: ${markdownText(r.reason)}`)),
    ...(timeline.blastRadius.advisories.length > 0 ? ['', `Advisories: ${timeline.blastRadius.advisories.map((a) => markdownText(a)).join(', ')}`] : []),
    ...(timeline.blastRadius.overBroad ? ['', `Over\\-broad, left to a person: ${markdownText(timeline.blastRadius.overBroad)}`] : []),
    '',
    '## Actions',
    '',
    ...(timeline.actions.length === 0 ? ['None recorded\\.'] : ['| action | status | gate | approved by | error |', '|---|---|---|---|---|', ...timeline.actions.map((a) => `| ${markdownText(a.description)} | ${markdownText(a.status)} | ${markdownText(a.gate)} | ${markdownText(a.approvedBy ?? '')} | ${markdownText(a.error ?? '')} |`)]),
    '',
    '## Decisions by people',
    '',
    ...(decisions.length === 0 ? ['None\\.'] : decisions.map((e) => `- ${when(e.at)}, ${markdownText(e.actor)}: ${markdownText(e.action)}, ${markdownText(e.detail, 500)}`)),
    '',
    '## Audit trail',
    '',
    ...(timeline.eventsDropped > 0 ? [`${timeline.eventsDropped} events from the middle of the trail were not kept by the incident\\.`, ''] : []),
    '| time | actor | action | target | result | detail |',
    '|---|---|---|---|---|---|',
    ...timeline.events.map(eventRow),
    '',
  ];
  return lines.join('\n');
}
