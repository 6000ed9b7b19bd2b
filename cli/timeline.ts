// `quarantine timeline <incident | name@version>`: the audit timeline of one incident.
import type { Client } from '@temporalio/client';
import { compromiseId, incidentId } from '../core/incident-id';
import { parseReleaseSpec, printable } from '../core/spec';
import { readAnyIncidentView } from './incident-view';
import type { Output } from './contain';
import { renderTimeline, renderWatch } from './render';
import { renderPlaybook } from './render-playbook';

/**
 * Every kind of incident id: containments (`incident-`, from the CLI and the intake) and the watch
 * incidents the intake opens (core/intake.ts routeAlert).
 */
export const INCIDENT_ID_PREFIXES = ['incident', 'review', 'dependency', 'compromised-build', 'token', 'withdrawn', 'compromise'] as const;
const KNOWN_PREFIX = new RegExp(`^(${INCIDENT_ID_PREFIXES.join('|')})-.`);
/** Ids end in a hash of what they are about (and a dry run's marker): a release spec almost never does. */
const ID_SUFFIX = /-[0-9a-f]{8}(-dry-run)?$/;
/** Temporal's default limit on a workflow id. */
const MAX_INCIDENT_ID_LENGTH = 1000;

/**
 * The incidents an argument may name, most likely first: an incident id of any kind as printed by the
 * CLI, the intake and the timeline; or, for a release (`name@version`), the playbook incident the
 * on-call command opens for it, then the containment incident of the type before the playbook. A
 * package whose name starts like an id (`dependency-cruiser@16.3.0`) is still a release.
 */
export function incidentIdsFromArgument(argument: string, registry: string): string[] {
  const id = incidentIdFromArgument(argument, registry);
  if (!id.startsWith('incident-') || argument.startsWith('incident-')) return [id];
  const release = parseReleaseSpec(argument);
  return [compromiseId(registry, [{ name: release.name, versions: [release.version] }]), id];
}

/** The one incident id an argument names (a release names its legacy containment id); see incidentIdsFromArgument. */
export function incidentIdFromArgument(argument: string, registry: string): string {
  let release: ReturnType<typeof parseReleaseSpec> | undefined;
  let notARelease: Error | undefined;
  try {
    release = parseReleaseSpec(argument);
  } catch (err) {
    notARelease = err as Error;
  }
  const looksLikeId = KNOWN_PREFIX.test(argument);
  if (looksLikeId && (release === undefined || ID_SUFFIX.test(argument))) {
    // eslint-disable-next-line no-control-regex
    if (argument.length > MAX_INCIDENT_ID_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(argument)) {
      throw new Error(`"${printable(argument.slice(0, 80))}${argument.length > 80 ? '…' : ''}" is not an incident id`);
    }
    return argument;
  }
  if (release !== undefined) return incidentId(registry, release.name, [release.version]);
  throw new Error(`${notARelease?.message ?? 'not a release'}; or give an incident id (${INCIDENT_ID_PREFIXES.map((p) => `${p}-…`).join(', ')})`);
}

export async function timeline(client: Client, incident: string, json: boolean, output: Output): Promise<number> {
  const read = await readAnyIncidentView(client.workflow.getHandle(incident));
  if (json) output.out(JSON.stringify(read.view, null, 2));
  else output.out(read.type === 'watch' ? renderWatch(read.view) : read.type === 'playbook' ? renderPlaybook(read.view) : renderTimeline(read.view));
  return 0;
}
