// `quarantine timeline <incident | name@version>`: the audit timeline of one incident.
import type { Client } from '@temporalio/client';
import { incidentId } from '../core/incident-id';
import { parseReleaseSpec } from '../core/spec';
import { readIncidentView } from './incident-view';
import type { Output } from './contain';
import { renderTimeline } from './render';

export function incidentIdFromArgument(argument: string, registry: string): string {
  if (argument.startsWith('incident-')) return argument;
  const release = parseReleaseSpec(argument);
  return incidentId(registry, release.name, [release.version]);
}

export async function timeline(client: Client, incident: string, json: boolean, output: Output): Promise<number> {
  const view = await readIncidentView(client.workflow.getHandle(incident));
  output.out(json ? JSON.stringify(view, null, 2) : renderTimeline(view));
  return 0;
}
