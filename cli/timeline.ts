// `quarantine timeline <incident | name@version>`: the audit timeline of one incident.
import type { Client } from '@temporalio/client';
import { incidentId } from '../core/incident-id';
import { parseReleaseSpec } from '../core/spec';
import { readAnyIncidentView } from './incident-view';
import type { Output } from './contain';
import { renderTimeline, renderWatch } from './render';

/** Incident ids as the CLI and the intake make them; anything else must be a release spec. */
const INCIDENT_ID = /^(incident|dependency|review|token|withdrawn)-/;

export function incidentIdFromArgument(argument: string, registry: string): string {
  if (INCIDENT_ID.test(argument)) return argument;
  const release = parseReleaseSpec(argument);
  return incidentId(registry, release.name, [release.version]);
}

export async function timeline(client: Client, incident: string, json: boolean, output: Output): Promise<number> {
  const read = await readAnyIncidentView(client.workflow.getHandle(incident));
  if (json) output.out(JSON.stringify(read.view, null, 2));
  else output.out(read.type === 'watch' ? renderWatch(read.view) : renderTimeline(read.view));
  return 0;
}
