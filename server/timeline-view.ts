// The audit timeline view, behind the same login as the approvals API (server/auth.ts):
//   GET /, /incidents                   the incident list (Temporal visibility), filterable
//   GET /incidents/<id>                 the incident's page (picture, waiting actions, reports, trail, blast radius)
//   GET /incidents/<id>/live.json       what the page's script polls: the page's sections as trees
//   GET /incidents/<id>.json            the timeline, hash-chained (quarantine timeline verify checks it)
//   GET /incidents/<id>/report.md       the post-incident report
//   GET /incidents/<id>/vex.json        the blast radius as CycloneDX VEX
//   GET /assets/timeline.js|css         the page's script and stylesheet (nothing inline: see the CSP)
// The routes only read (app/incidents.ts) and hand the read model to pure renderers (server/view/,
// core/timeline/). Decisions go to the approvals API. An encapsulated plugin: its hooks stay its own.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkStatusFilter, listIncidents, readIncident, type ListFilter } from '../app/incidents';
import { chainTimeline } from '../core/timeline/chain';
import { incidentReportMarkdown } from '../core/timeline/markdown';
import { incidentVex } from '../core/timeline/vex';
import { printable } from '../core/spec';
import { describeTemporalFailure } from '../worker/temporal-refusal';
import { requireUser, userOf, type UiAccess, type UiUsers } from './auth';
import { documentShell, incidentPage, incidentSections, listPage, SCRIPT, STYLESHEET, type Viewer } from './view/pages';
import { TIMELINE_CSS } from './view/style';
import { h, toHtml } from './view/tree';

export interface TimelineViewOptions {
  users?: UiUsers;
  access?: UiAccess;
  client?: Client;
  temporal?: { address: string; namespace: string };
}

/** No script but our own file, no inline style, no frames, no plugins, nothing posted elsewhere. */
export const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INCIDENT_ID = /^[a-z][a-z-]*-[\x21-\x7e]{1,1000}$/;

/** The page's script as tsc built it (dist/server/view/client.js), also when this module runs from the sources. */
function clientScript(): string {
  const built = [join(__dirname, 'view', 'client.js'), join(__dirname, '..', 'dist', 'server', 'view', 'client.js')].find((p) => existsSync(p));
  if (!built) throw new Error('server/view/client.js is not built: run npm run build');
  return readFileSync(built, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/m, '\n');
}

type Export = 'page' | 'live' | 'json' | 'report' | 'vex';

/** The incident and what of it a path asks for. The id is one segment (its slashes encoded), or the rest of the path. */
export function parseIncidentPath(rawUrl: string): { incident: string; want: Export } | undefined {
  const path = rawUrl.split('?')[0]!.slice('/incidents/'.length);
  const slash = path.indexOf('/');
  const [segment, rest] = slash < 0 ? [path, ''] : [path.slice(0, slash), path.slice(slash)];
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return undefined;
  }
  const suffixes: Record<string, Export> = { '/live.json': 'live', '/report.md': 'report', '/vex.json': 'vex' };
  let incident: string;
  let want: Export;
  if (rest === '') [incident, want] = decoded.endsWith('.json') ? [decoded.slice(0, -5), 'json'] : [decoded, 'page'];
  else if (suffixes[rest]) [incident, want] = [decoded, suffixes[rest]!];
  else {
    // An id typed with its slashes as they are.
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return undefined;
    }
    const suffix = Object.keys(suffixes).find((s) => decoded.endsWith(s));
    if (suffix) [incident, want] = [decoded.slice(0, -suffix.length), suffixes[suffix]!];
    else [incident, want] = decoded.endsWith('.json') ? [decoded.slice(0, -5), 'json'] : [decoded, 'page'];
  }
  return INCIDENT_ID.test(incident) ? { incident, want } : undefined;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store');
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').send(`<!doctype html>\n${body}`);
}

function filterOf(query: unknown): ListFilter {
  const q = (query ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, 200) : undefined);
  const filter: ListFilter = {};
  const status = text(q.status);
  const kind = text(q.kind);
  const search = text(q.q);
  if (status) filter.status = status;
  if (kind) filter.kind = kind;
  if (search) filter.q = search;
  return filter;
}

export async function timelineViewPlugin(app: FastifyInstance, options: TimelineViewOptions): Promise<void> {
  const { users, access, client } = options;
  app.addHook('onRequest', async (_request, reply) => {
    secure(reply);
  });
  if (!users || !access || !client) {
    const off = async (_request: FastifyRequest, reply: FastifyReply) => reply.code(503).type('text/plain; charset=utf-8').send('the timeline view is off: set QUARANTINE_UI_USERS (name:password pairs, see the README) and restart quarantine serve\n');
    for (const path of ['/', '/incidents', '/incidents/*', '/assets/*']) app.get(path, off);
    return;
  }
  app.addHook('onRequest', requireUser(users));

  const viewerOf = (request: FastifyRequest): Viewer => {
    const user = userOf(request);
    return { user, approver: access.isApprover(user), csrf: access.csrfToken(user) };
  };
  const script = clientScript();

  const failure = (request: FastifyRequest, reply: FastifyReply, err: unknown, incident?: string): FastifyReply => {
    const viewer = viewerOf(request);
    if (err instanceof Error && err.name === 'WorkflowNotFoundError') {
      return html(reply, 404, toHtml(documentShell('no such incident', viewer, h('h1', undefined, 'No such incident'), h('p', undefined, `Temporal knows no incident ${printable(incident ?? '')}.`))));
    }
    const temporal = options.temporal ? describeTemporalFailure(err, options.temporal) : undefined;
    request.log.warn({ error: err instanceof Error ? err.name : typeof err }, `timeline view: ${temporal ?? (err instanceof Error ? err.message : 'failed')}`);
    return html(reply, 503, toHtml(documentShell('not available', viewer, h('h1', undefined, 'Temporal did not answer'), h('p', undefined, temporal ?? 'the incident could not be read; try again'))));
  };

  app.get(SCRIPT, async (_request, reply) => reply.type('text/javascript; charset=utf-8').send(script));
  app.get(STYLESHEET, async (_request, reply) => reply.type('text/css; charset=utf-8').send(TIMELINE_CSS));

  const list = async (request: FastifyRequest, reply: FastifyReply) => {
    const filter = filterOf(request.query);
    const viewer = viewerOf(request);
    try {
      checkStatusFilter(filter.status);
    } catch {
      return html(reply, 400, toHtml(listPage([], {}, viewer)).replace('No incident matches.', 'A status is one word, such as contained, held or failed.'));
    }
    try {
      const incidents = await listIncidents(client, filter, 200, { details: true });
      return html(reply, 200, toHtml(listPage(incidents, filter, viewer)));
    } catch (err) {
      return failure(request, reply, err);
    }
  };
  app.get('/', list);
  app.get('/incidents', list);

  app.get('/incidents/*', async (request, reply) => {
    const parsed = parseIncidentPath(request.url);
    const viewer = viewerOf(request);
    if (!parsed) return html(reply, 400, toHtml(documentShell('not an incident', viewer, h('h1', undefined, 'Not an incident id'), h('p', undefined, 'An incident id is printable ASCII, such as compromise-MAL-2025-1234-0a1b2c3d.'))));
    let read;
    try {
      read = await readIncident(client, parsed.incident);
    } catch (err) {
      if (parsed.want !== 'page' && err instanceof Error && err.name === 'WorkflowNotFoundError') return reply.code(404).send({ error: `no incident ${printable(parsed.incident)}` });
      return failure(request, reply, err, parsed.incident);
    }
    const chained = chainTimeline(read.timeline);
    switch (parsed.want) {
      case 'json':
        return reply.type('application/json; charset=utf-8').header('content-disposition', 'inline').send(JSON.stringify(chained, null, 2));
      case 'report':
        return reply.type('text/markdown; charset=utf-8').send(incidentReportMarkdown(read.timeline, new Date().toISOString()));
      case 'vex':
        return reply.type('application/vnd.cyclonedx+json; charset=utf-8').send(incidentVex(read.read, new Date()).json);
      case 'live':
        return reply.type('application/json; charset=utf-8').send({
          running: read.running,
          version: chained.chain.summary,
          title: `${read.timeline.incident}: ${read.timeline.status}`,
          sections: incidentSections(read.timeline, viewer),
        });
      default:
        return html(reply, 200, toHtml(incidentPage(read.timeline, viewer, chained.chain.summary)));
    }
  });
}
