// `quarantine list`: the incidents, newest first, from Temporal's visibility (app/incidents.ts, as the
// server's list page reads them): kind, status, packages, time to contain, what waits for a person.
// `--status` keeps one status.
import type { Client } from '@temporalio/client';
import { listIncidents, type ListedIncident } from '../app/incidents';
import { durationText } from '../core/timeline/model';
import type { Output } from './contain';
import { paint, terminalSafe } from './render';

export { checkStatusFilter, listIncidents, type ListedIncident } from '../app/incidents';

function line(i: ListedIncident, colour: boolean): string {
  const status = terminalSafe(i.status).padEnd(22);
  const ttc = i.timeToContainMs === undefined ? '' : `  contained in ${durationText(i.timeToContainMs)}`;
  const waiting = i.pendingApprovals ? `, ${i.pendingApprovals} waiting` : '';
  return `${i.startedAt.slice(0, 19).replace('T', ' ')}  ${paint(status, statusColour(i.status), colour)} ${i.kind.padEnd(12)} ${terminalSafe(i.packages).padEnd(30)} ${terminalSafe(i.incident)}${ttc}${waiting}`;
}

function statusColour(status: string): 'green' | 'yellow' | 'red' | undefined {
  if (/^(verified|contained)/.test(status)) return 'green';
  if (/^(held|running|recorded)/.test(status)) return 'yellow';
  if (/^failed/.test(status)) return 'red';
  return undefined;
}

export async function list(client: Client, options: { json: boolean; status?: string; limit?: number; colour?: boolean }, output: Output): Promise<number> {
  const incidents = await listIncidents(client, options.status ? { status: options.status } : {}, options.limit ?? 100, { details: true });
  if (options.json) {
    output.out(JSON.stringify(incidents, null, 2));
    return 0;
  }
  if (incidents.length === 0) {
    output.out(options.status ? `no incident with status ${options.status}` : 'no incidents');
    return 0;
  }
  for (const i of incidents) output.out(line(i, options.colour ?? false));
  return 0;
}
