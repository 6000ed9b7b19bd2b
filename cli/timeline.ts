// `quarantine timeline <incident | name@version>`: the audit timeline of one incident.
import type { Client } from '@temporalio/client';
import { compromiseId, incidentId } from '../core/incident-id';
import { parseReleaseSpec, printable } from '../core/spec';
import { readAnyIncidentView } from '../app/incidents';
import type { Output } from './contain';
import { readFile, stat } from 'node:fs/promises';
import { chainTimeline, verifyChain } from '../core/timeline/chain';
import { incidentTimeline } from '../core/timeline/model';
import { renderTimeline, renderWatch, terminalSafe } from './render';
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

/**
 * `--json` prints the incident's own view (as its query answers); `--chained` the hash-chained timeline
 * the server exports at /incidents/<id>.json, which `quarantine timeline verify` checks.
 */
export async function timeline(client: Client, incident: string, options: { json: boolean; chained?: boolean; colour?: boolean }, output: Output): Promise<number> {
  const read = await readAnyIncidentView(client.workflow.getHandle(incident));
  if (options.chained) output.out(JSON.stringify(chainTimeline(incidentTimeline(read)), null, 2));
  else if (options.json) output.out(JSON.stringify(read.view, null, 2));
  else output.out(read.type === 'watch' ? renderWatch(read.view) : read.type === 'playbook' ? renderPlaybook(read.view, options.colour ?? false) : renderTimeline(read.view));
  return 0;
}

/** `quarantine timeline verify <file>`: checks an exported timeline's hash chain; exit 0 intact, 1 broken, 2 unreadable. */
export async function verifyTimelineFile(path: string, json: boolean, output: Output): Promise<number> {
  let document: unknown;
  try {
    const file = await stat(path);
    if (!file.isFile()) throw new Error('not a regular file');
    if (file.size > MAX_EXPORT_BYTES) throw new Error(`larger than ${MAX_EXPORT_BYTES} bytes`);
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    output.err(`quarantine timeline verify: ${printable(path)}: ${printable((err as Error).message)}`);
    return 2;
  }
  const check = verifyChain(document);
  if (json) output.out(JSON.stringify(check));
  else if (check.ok) output.out(`intact: ${check.events} events, head ${check.head}`);
  else output.out(`BROKEN: ${terminalSafe(check.problem)}`);
  return check.ok ? 0 : 1;
}

/** An incident keeps at most 1,000 events of bounded size: an export is a few MB at most. */
const MAX_EXPORT_BYTES = 64 * 1024 * 1024;
