// `quarantine list`: the incidents, newest first, from Temporal's visibility (no second database):
// kind, status, packages, when they started and ended. `--status` keeps one status.
import type { Client } from '@temporalio/client';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from '../workflows/search-attributes';
import type { Output } from './contain';
import { terminalSafe } from './render';

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
}

/** One status word; the search attribute may carry a reason after it (`held: …`). */
const STATUS = /^[a-z-]{1,40}$/;

export function checkStatusFilter(status: string | undefined): void {
  if (status !== undefined && !STATUS.test(status)) throw new Error('--status takes one status word, such as contained, held or failed');
}

const QUERY = `WorkflowType IN (${Object.keys(INCIDENT_TYPES).map((t) => `'${t}'`).join(', ')})`;

export async function listIncidents(client: Client, status: string | undefined, limit: number): Promise<ListedIncident[]> {
  checkStatusFilter(status);
  const listed: ListedIncident[] = [];
  for await (const execution of client.workflow.list({ query: QUERY, pageSize: 100 })) {
    const attributes = execution.typedSearchAttributes;
    listed.push({
      incident: execution.workflowId,
      kind: INCIDENT_TYPES[execution.type] ?? execution.type,
      status: execution.status.name === 'RUNNING' ? (attributes.get(INCIDENT_STATUS) ?? 'running') : `${attributes.get(INCIDENT_STATUS) ?? 'ended'} (closed)`,
      packages: attributes.get(INCIDENT_PACKAGE) ?? '',
      running: execution.status.name === 'RUNNING',
      startedAt: execution.startTime.toISOString(),
      ...(execution.closeTime ? { closedAt: execution.closeTime.toISOString() } : {}),
    });
    if (status !== undefined && !listed.at(-1)!.status.startsWith(status)) listed.pop();
    if (listed.length >= limit) break;
  }
  return listed;
}

export async function list(client: Client, options: { json: boolean; status?: string; limit?: number }, output: Output): Promise<number> {
  const incidents = await listIncidents(client, options.status, options.limit ?? 100);
  if (options.json) {
    output.out(JSON.stringify(incidents, null, 2));
    return 0;
  }
  if (incidents.length === 0) {
    output.out(options.status ? `no incident with status ${options.status}` : 'no incidents');
    return 0;
  }
  for (const i of incidents) {
    output.out(`${i.startedAt.slice(0, 19).replace('T', ' ')}  ${terminalSafe(i.status).padEnd(22)} ${i.kind.padEnd(12)} ${terminalSafe(i.packages).padEnd(30)} ${terminalSafe(i.incident)}`);
  }
  return 0;
}
