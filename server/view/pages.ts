// The timeline view's pages as trees (server/view/tree.ts): the incident list, and an incident's page
// (the picture first, then what waits for a person, the reports, the audit trail, the blast radius).
// Pure: the routes (server/timeline-view.ts) read the incident and hand its read model here.
import { durationText, type IncidentTimeline, type TimelineEvent } from '../../core/timeline/model';
import type { ListFilter, ListedIncident } from '../../app/incidents';
import { timelineSvg } from './svg';
import { h, safeHref, type ViewNode } from './tree';

export interface Viewer {
  user: string;
  /** May send decisions from the page (QUARANTINE_UI_APPROVERS). */
  approver: boolean;
  csrf: string;
}

export const STYLESHEET = '/assets/timeline.css';
export const SCRIPT = '/assets/timeline.js';

/** The path of an incident's page; the id is one path segment, its slashes encoded. */
export function incidentPath(incident: string, suffix = ''): string {
  return `/incidents/${encodeURIComponent(incident)}${suffix}`;
}

export function documentShell(title: string, viewer: Viewer, ...body: ViewNode[]): ViewNode {
  return h('html', { lang: 'en' },
    h('head', undefined,
      h('meta', { charset: 'utf-8' }),
      h('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      h('meta', { name: 'csrf-token', content: viewer.csrf }),
      h('title', undefined, title),
      h('link', { rel: 'stylesheet', href: STYLESHEET }),
      h('script', { src: SCRIPT, defer: 'defer' }),
    ),
    h('body', undefined,
      h('header', { class: 'top' }, h('a', { href: '/incidents' }, 'quarantine incidents'), h('span', { class: 'who' }, `signed in as ${viewer.user}${viewer.approver ? ' (approver)' : ' (read only)'}`)),
      h('main', undefined, ...body),
    ),
  );
}

function when(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/Z$/, ' UTC') : '';
}

function shortJson(value: unknown): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function evidenceLinks(links: readonly string[] | undefined): ViewNode {
  return h('span', { class: 'evidence' }, ...(links ?? []).map((link) => {
    const href = safeHref(link);
    // A link we would not follow is shown as text, so a reader sees what was sent.
    return href && !href.startsWith('/') ? h('a', { href, class: 'evidence-link' }, link) : h('span', { class: 'evidence-text' }, link);
  }));
}

const STATUS_WORDS: Record<string, string> = {
  running: 'in progress',
  contained: 'done and read back; some actions wait for a person',
  verified: 'every action done or decided, read back',
  held: 'HELD for a person, nothing written',
  recorded: 'recorded, nothing written',
  failed: 'NOT contained',
  'rolled-back': 'rolled back',
  planned: 'planned only',
};

export function summarySection(timeline: IncidentTimeline): ViewNode {
  return h('section', { id: 'summary' },
    h('h1', undefined, timeline.incident),
    h('p', { class: `status status-${timeline.status.replace(/[^a-z-]/g, '')}`, id: 'status' }, `${timeline.status}: ${STATUS_WORDS[timeline.status] ?? timeline.status}`),
    h('dl', undefined,
      h('dt', undefined, 'kind'), h('dd', undefined, timeline.kind),
      h('dt', undefined, 'packages'), h('dd', undefined, timeline.packages.join(', ') || 'none'),
      timeline.registry ? [h('dt', undefined, 'registry'), h('dd', undefined, timeline.registry)] : [],
      h('dt', undefined, 'first report'), h('dd', undefined, when(timeline.firstReportAt ?? timeline.startedAt)),
      h('dt', undefined, 'time to contain'), h('dd', { id: 'time-to-contain' }, timeline.timeToContainMs === undefined ? 'not contained yet' : durationText(timeline.timeToContainMs)),
      h('dt', undefined, 'verified'), h('dd', undefined, timeline.verifiedAt ? when(timeline.verifiedAt) : 'not yet'),
    ),
    h('p', { class: 'exports' },
      h('a', { href: incidentPath(timeline.incident, '.json') }, 'timeline (JSON, hash-chained)'), ' · ',
      h('a', { href: incidentPath(timeline.incident, '/report.md') }, 'post-incident report (Markdown)'), ' · ',
      h('a', { href: incidentPath(timeline.incident, '/vex.json') }, 'blast radius (CycloneDX VEX)'),
    ),
    timeline.notes.length > 0 ? h('ul', { class: 'notes' }, ...timeline.notes.map((n) => h('li', undefined, n))) : undefined,
  );
}

const LEGEND: [string, string][] = [['ok', 'done, read back'], ['unchanged', 'already so'], ['waiting', 'waits for a person'], ['failed', 'failed or refused'], ['declined', 'rejected or given up'], ['info', 'report, plan, step']];

export function pictureSection(timeline: IncidentTimeline): ViewNode {
  return h('section', { id: 'picture' },
    h('div', { class: 'picture' }, timelineSvg(timeline)),
    h('ul', { class: 'legend' }, ...LEGEND.map(([result, words]) => h('li', { class: `legend-${result}` }, words))),
  );
}

export function pendingSection(timeline: IncidentTimeline, viewer: Viewer): ViewNode {
  if (timeline.pending.length === 0) return h('section', { id: 'pending' }, h('h2', undefined, 'Waiting for a person'), h('p', undefined, 'Nothing waits.'));
  return h('section', { id: 'pending' },
    h('h2', undefined, `Waiting for a person (${timeline.pending.length})`),
    viewer.approver ? undefined : h('p', { class: 'read-only' }, `${viewer.user} is not an approver here: decisions are for the users QUARANTINE_UI_APPROVERS names.`),
    h('table', undefined,
      h('thead', undefined, h('tr', undefined, h('th', undefined, 'action'), h('th', undefined, 'rule'), h('th', undefined, 'decide'))),
      h('tbody', undefined, ...timeline.pending.map((p) =>
        h('tr', { class: 'pending-action', 'data-action': p.actionId },
          h('td', undefined, h('span', { class: 'description' }, p.description), h('br', undefined), h('code', undefined, p.actionId)),
          h('td', undefined, p.rule, p.otp ? ' (needs a one-time password)' : ''),
          h('td', { class: 'decide' }, ...(viewer.approver
            ? [
                p.otp ? h('input', { type: 'text', name: 'otp', placeholder: 'one-time password', autocomplete: 'one-time-code', inputmode: 'numeric', 'aria-label': `one-time password for ${p.actionId}` }) : undefined,
                h('input', { type: 'text', name: 'note', placeholder: 'note (optional)', 'aria-label': `note for ${p.actionId}` }),
                h('button', { type: 'button', class: 'approve', 'data-decision': 'approve', 'data-action': p.actionId, 'data-otp': p.otp ? 'yes' : 'no' }, 'Approve'),
                h('button', { type: 'button', class: 'reject', 'data-decision': 'reject', 'data-action': p.actionId }, 'Reject'),
              ]
            : ['read only'])),
        ))),
    ),
  );
}

export function reportsSection(timeline: IncidentTimeline): ViewNode {
  return h('section', { id: 'reports' },
    h('h2', undefined, `Reports (${timeline.reportCount}${timeline.reportCount > timeline.reports.length ? `, ${timeline.reports.length} kept` : ''})`),
    h('table', undefined,
      h('thead', undefined, h('tr', undefined, ...['time', 'source', 'ids', 'reason', 'evidence'].map((c) => h('th', undefined, c)))),
      h('tbody', undefined, ...timeline.reports.map((r) =>
        h('tr', { class: 'report' },
          h('td', undefined, when(r.at)),
          h('td', undefined, r.source, r.kind ? ` (${r.kind}${r.severity ? `, ${r.severity}` : ''}${r.withdrawn ? ', withdrawn' : ''})` : ''),
          h('td', undefined, r.ids.join(', ')),
          h('td', { class: 'reason' }, r.reason),
          h('td', undefined, evidenceLinks(r.evidence)),
        ))),
    ),
  );
}

function eventRow(e: TimelineEvent): ViewNode {
  return h('tr', { class: `event result-${e.result}` },
    h('td', undefined, when(e.at)),
    h('td', undefined, e.actor),
    h('td', undefined, e.action),
    h('td', undefined, e.target ?? ''),
    h('td', { class: 'json' }, shortJson(e.before)),
    h('td', { class: 'json' }, shortJson(e.after)),
    h('td', { class: 'result' }, e.result),
    h('td', { class: 'detail' }, e.detail, e.evidence && e.evidence.length > 0 ? [h('br', undefined), evidenceLinks(e.evidence)] : []),
  );
}

export function eventsSection(timeline: IncidentTimeline): ViewNode {
  const rows = timeline.events.map(eventRow);
  if (timeline.eventsDropped > 0) rows.splice(Math.min(50, rows.length), 0, h('tr', { class: 'gap' }, h('td', { colspan: '8' }, `… ${timeline.eventsDropped} events not kept by the incident …`)));
  return h('section', { id: 'events' },
    h('h2', undefined, `Audit trail (${timeline.events.length} events)`),
    h('table', undefined,
      h('thead', undefined, h('tr', undefined, ...['time', 'actor', 'action', 'target', 'before', 'after', 'result', 'detail and evidence'].map((c) => h('th', undefined, c)))),
      h('tbody', undefined, ...rows),
    ),
  );
}

export function radiusSection(timeline: IncidentTimeline): ViewNode {
  const radius = timeline.blastRadius;
  return h('section', { id: 'radius' },
    h('h2', undefined, 'Blast radius'),
    radius.advisories.length > 0 ? h('p', undefined, `advisories: ${radius.advisories.join(', ')}`) : undefined,
    radius.overBroad ? h('p', { class: 'over-broad' }, `over-broad, left to a person: ${radius.overBroad}`) : undefined,
    radius.note ? h('p', undefined, radius.note) : undefined,
    radius.releases.length === 0 ? h('p', undefined, 'No release of ours recorded.') : h('ul', undefined, ...radius.releases.map((r) => h('li', undefined, h('code', undefined, `${r.name}@${r.version}`), `: ${r.reason}`))),
  );
}

/** The parts of an incident's page a live update replaces, by element id. */
export function incidentSections(timeline: IncidentTimeline, viewer: Viewer): Record<string, ViewNode> {
  return {
    summary: summarySection(timeline),
    picture: pictureSection(timeline),
    pending: pendingSection(timeline, viewer),
    reports: reportsSection(timeline),
    events: eventsSection(timeline),
    radius: radiusSection(timeline),
  };
}

/** `version`: what the page shows, as the live endpoint names it (the chain's summary hash). */
export function incidentPage(timeline: IncidentTimeline, viewer: Viewer, version: string): ViewNode {
  const sections = incidentSections(timeline, viewer);
  return documentShell(`${timeline.incident}: ${timeline.status}`, viewer,
    sections.summary!,
    sections.picture!,
    h('p', { id: 'decision-status', role: 'status', 'aria-live': 'polite' }),
    sections.pending!,
    sections.reports!,
    sections.events!,
    sections.radius!,
    h('p', { id: 'live', class: 'live', 'data-version': version }),
  );
}

export function listPage(incidents: readonly ListedIncident[], filter: ListFilter, viewer: Viewer): ViewNode {
  return documentShell('incidents', viewer,
    h('h1', undefined, 'Incidents'),
    h('form', { method: 'get', action: '/incidents', class: 'filter' },
      h('input', { type: 'text', name: 'q', value: filter.q ?? '', placeholder: 'package or incident', 'aria-label': 'package or incident' }),
      h('input', { type: 'text', name: 'status', value: filter.status ?? '', placeholder: 'status (contained, verified, …)', 'aria-label': 'status' }),
      h('input', { type: 'text', name: 'kind', value: filter.kind ?? '', placeholder: 'kind (containment, dependency, …)', 'aria-label': 'kind' }),
      h('button', { type: 'submit' }, 'Filter'),
    ),
    incidents.length === 0
      ? h('p', { id: 'no-incidents' }, 'No incident matches.')
      : h('table', { id: 'incidents' },
          h('thead', undefined, h('tr', undefined, ...['started', 'incident', 'kind', 'status', 'packages', 'time to contain', 'waiting'].map((c) => h('th', undefined, c)))),
          h('tbody', undefined, ...incidents.map((i) =>
            h('tr', { class: 'incident' },
              h('td', undefined, when(i.startedAt)),
              h('td', undefined, h('a', { href: incidentPath(i.incident) }, i.incident)),
              h('td', undefined, i.kind),
              h('td', { class: 'status' }, i.status),
              h('td', undefined, i.packages),
              h('td', undefined, i.timeToContainMs === undefined ? '' : durationText(i.timeToContainMs)),
              h('td', { class: 'waiting' }, i.pendingApprovals === undefined ? '' : String(i.pendingApprovals)),
            ))),
        ),
  );
}
