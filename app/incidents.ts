// The incidents as people read them, from Temporal alone (no second database): the list from
// visibility, and one incident from its query while it runs or its result once closed, turned into
// the timeline read model (core/timeline/model.ts). The server's pages and the CLI (`quarantine list`,
// `quarantine timeline`) both read through here, so they show the same thing.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { IncidentView } from '../core/incident';
import type { PlaybookView } from '../core/playbook/view';
import { incidentTimeline, playbookTimeline, type AnyView, type IncidentTimeline } from '../core/timeline/model';
import { playbookQuery, timelineQuery } from '../workflows/definitions';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from '../workflows/search-attributes';
import { watchQuery, type WatchView } from '../workflows/watch-incident';

export type AnyIncidentView = AnyView;

export async function readAnyIncidentView(handle: WorkflowHandle): Promise<AnyIncidentView> {
  const { status, type } = await handle.describe();
  const running = status.name === 'RUNNING';
  if (type === 'playbookWorkflow') {
    return { type: 'playbook', view: running ? await handle.query(playbookQuery) : ((await handle.result()) as PlaybookView) };
  }
  if (type === 'watchIncidentWorkflow') {
    return { type: 'watch', view: running ? await handle.query(watchQuery) : ((await handle.result()) as WatchView) };
  }
  return { type: 'containment', view: running ? await handle.query(timelineQuery) : ((await handle.result()) as IncidentView) };
}

export interface ReadIncident {
  read: AnyIncidentView;
  timeline: IncidentTimeline;
  /** The workflow is still running: its view may still change. */
  running: boolean;
}

export async function readIncident(client: Client, incident: string): Promise<ReadIncident> {
  const handle = client.workflow.getHandle(incident);
  const read = await readAnyIncidentView(handle);
  const running = (await handle.describe()).status.name === 'RUNNING';
  return { read, timeline: incidentTimeline(read), running };
}

const INCIDENT_TYPES: Record<string, string> = {
  playbookWorkflow: 'containment',
  incidentWorkflow: 'containment (before the playbook)',
  watchIncidentWorkflow: 'watch',
};

export interface ListedIncident {
  incident: string;
  kind: string;
  status: string;
  packages: string;
  running: boolean;
  startedAt: string;
  closedAt?: string;
  /** A containment's time from its start to every automatic action read back. */
  timeToContainMs?: number;
  /** A containment's actions waiting for a person. */
  pendingApprovals?: number;
}

export interface ListFilter {
  /** One status word: the incident's status starts with it. */
  status?: string;
  /** The kind starts with it (containment, watch). */
  kind?: string;
  /** Part of a package name or of the incident id, any case. */
  q?: string;
}

/** One status word; the search attribute may carry a reason after it (`held: …`). */
const STATUS = /^[a-z-]{1,40}$/;

export function checkStatusFilter(status: string | undefined): void {
  if (status !== undefined && !STATUS.test(status)) throw new Error('--status takes one status word, such as contained, held or failed');
}

const QUERY = `WorkflowType IN (${Object.keys(INCIDENT_TYPES).map((t) => `'${t}'`).join(', ')})`;

/** A closed containment's result never changes: read once per run. */
const closedDetails = new Map<string, Pick<ListedIncident, 'timeToContainMs' | 'pendingApprovals' | 'packages'>>();
const MAX_CACHED = 2000;
const DETAILS_DEADLINE_MS = 1500;
const DETAILS_AT_ONCE = 16;

async function containmentDetails(client: Client, listed: ListedIncident, runId: string): Promise<void> {
  const key = `${listed.incident}\u0000${runId}`;
  let details = listed.running ? undefined : closedDetails.get(key);
  if (!details) {
    const handle = client.workflow.getHandle(listed.incident, runId);
    // A running incident answers through its worker: one whose worker is down must not hold up the list.
    const view: PlaybookView = await client.connection.withDeadline(Date.now() + DETAILS_DEADLINE_MS, () => (listed.running ? handle.query(playbookQuery) : handle.result()));
    const timeline = playbookTimeline(view);
    details = {
      packages: timeline.packages.join(', '),
      pendingApprovals: timeline.pending.length,
      ...(timeline.timeToContainMs !== undefined ? { timeToContainMs: timeline.timeToContainMs } : {}),
    };
    if (!listed.running) {
      closedDetails.set(key, details);
      if (closedDetails.size > MAX_CACHED) closedDetails.delete(closedDetails.keys().next().value!);
    }
  }
  Object.assign(listed, details);
}

/**
 * The incidents, newest first (Temporal's visibility order), filtered, at most `limit`. With `details`,
 * each containment's packages, time to contain and waiting actions are read from the incident itself
 * (a few at a time; one that does not answer keeps what visibility says).
 */
export async function listIncidents(client: Client, filter: ListFilter, limit: number, options: { details?: boolean } = {}): Promise<ListedIncident[]> {
  checkStatusFilter(filter.status);
  const listed: { incident: ListedIncident; type: string; runId: string }[] = [];
  const q = filter.q?.toLowerCase();
  for await (const execution of client.workflow.list({ query: QUERY, pageSize: 100 })) {
    const attributes = execution.typedSearchAttributes;
    const incident: ListedIncident = {
      incident: execution.workflowId,
      kind: INCIDENT_TYPES[execution.type] ?? execution.type,
      status: execution.status.name === 'RUNNING' ? (attributes.get(INCIDENT_STATUS) ?? 'running') : `${attributes.get(INCIDENT_STATUS) ?? 'ended'} (closed)`,
      packages: attributes.get(INCIDENT_PACKAGE) ?? '',
      running: execution.status.name === 'RUNNING',
      startedAt: execution.startTime.toISOString(),
      ...(execution.closeTime ? { closedAt: execution.closeTime.toISOString() } : {}),
    };
    if (filter.status !== undefined && !incident.status.startsWith(filter.status)) continue;
    if (filter.kind && !incident.kind.startsWith(filter.kind)) continue;
    // The search attribute names the first package only: the id names the others' first one too.
    if (q && !incident.incident.toLowerCase().includes(q) && !incident.packages.toLowerCase().includes(q)) continue;
    listed.push({ incident, type: execution.type, runId: execution.runId });
    if (listed.length >= limit) break;
  }
  if (options.details) {
    const containments = listed.filter((l) => l.type === 'playbookWorkflow');
    for (let i = 0; i < containments.length; i += DETAILS_AT_ONCE) {
      await Promise.all(containments.slice(i, i + DETAILS_AT_ONCE).map((l) => containmentDetails(client, l.incident, l.runId).catch(() => undefined)));
    }
  }
  return listed.map((l) => l.incident);
}
