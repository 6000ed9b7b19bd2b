// Deterministic incident ids: the same release on the same registry is always the same incident, so a
// second report joins the first instead of starting a parallel containment.
import { createHash } from 'node:crypto';
import * as semver from 'semver';

/**
 * The longest incident (workflow) id any route can produce: the intake refuses a delivery whose ids
 * would be longer. Temporal refuses ids over 1,000 characters by default; an id is also shown in the
 * CLI and kept in search attributes, so ours stay well under that.
 */
export const MAX_INCIDENT_ID_LENGTH = 400;

/**
 * Up to this length an id lists its versions, as it always has: incidents in flight and the CLI keep
 * meeting in one id. Longer ids were already unusable (their deprecation marker was cut off), so
 * nothing that worked changes when they become compact.
 */
export const LISTED_ID_LENGTH = 255;

/** npm names are at most 214 characters; older ones reach 256 (the alert parsers' bound). */
const NAME_IN_ID = 256;

function registryKey(registry: string): string {
  const url = new URL(registry);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function incidentId(registry: string, name: string, versions: readonly string[], dryRun = false): string {
  const sorted = [...new Set(versions)].sort(semver.compare);
  const digest = sha256(registryKey(registry)).slice(0, 8);
  const suffix = dryRun ? '-dry-run' : '';
  const listed = `incident-${name}@${sorted.join(',')}-${digest}${suffix}`;
  if (listed.length <= LISTED_ID_LENGTH) return listed;
  // The hash covers the name too: a name cut to NAME_IN_ID still gives its own id.
  const list = sha256(`${name}@${sorted.join(',')}`).slice(0, 16);
  return `incident-${name.slice(0, NAME_IN_ID)}@${sorted.length}-versions-${list}-${digest}${suffix}`;
}

/**
 * The id of a playbook incident an on-call command opens for the releases it names (one or many
 * packages): the same set on the same registry is always the same incident, whatever order the
 * command listed them in. `compromise-<name>@<versions>-<hash>` for one package, and
 * `compromise-<first name>-and-<n>-more-<hash>` for several; `-plan` for a plan that writes nothing.
 */
export function compromiseId(registry: string, releases: readonly { name: string; versions: readonly string[] }[], planOnly = false): string {
  const normalised = [...releases]
    .map((r) => ({ name: r.name, versions: [...new Set(r.versions)].sort(semver.compare) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const digest = sha256(`${registryKey(registry)} ${normalised.map((r) => `${r.name}@${r.versions.join(',')}`).join(' ')}`).slice(0, 12);
  const suffix = planOnly ? '-plan' : '';
  const first = normalised[0];
  if (!first) throw new Error('a compromise names at least one release');
  if (normalised.length > 1) return `compromise-${first.name.slice(0, NAME_IN_ID)}-and-${normalised.length - 1}-more-${digest}${suffix}`;
  const listed = `compromise-${first.name}@${first.versions.join(',')}-${digest}${suffix}`;
  return listed.length <= LISTED_ID_LENGTH ? listed : `compromise-${first.name.slice(0, NAME_IN_ID)}@${first.versions.length}-versions-${digest}${suffix}`;
}

/**
 * How many writers share a registry's packages. One writer per package cost a workflow start and a
 * signal per package (a second for 42 packages on two cores); one for all would make its history the
 * sum of every incident's writes. Changing the number moves packages between writers: only while no
 * incident writes.
 */
export const PACKAGE_WRITERS_PER_REGISTRY = 4;

/**
 * The workflow id of the writer of one package on one registry, for the incidents of one task queue
 * (one deployment): every incident's writes to the package meet there. `package-writer-<hash of the
 * registry and the task queue>-<n>`, n from a hash of the name. The task queue is in the id because a
 * writer runs on the queue of the incident that started it: a writer left on a queue no worker polls
 * any more (a renamed queue, a retired deployment) would take requests and never run them.
 */
export function packageWriterId(registry: string, name: string, taskQueue: string): string {
  const digest = sha256(`${registryKey(registry)}\n${taskQueue}`).slice(0, 8);
  const shard = Number.parseInt(sha256(name).slice(0, 8), 16) % PACKAGE_WRITERS_PER_REGISTRY;
  return `package-writer-${digest}-${shard}`;
}

/** Advisory ids that are safe and meaningful in an incident id as they are. */
export const READABLE_ADVISORY_ID = /^(MAL-\d{4}-\d{1,10}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|CVE-\d{4}-\d{4,10})$/;

const hash8 = (text: string): string => sha256(text).slice(0, 8);

const advisoryInId = (source: string, advisoryId: string): string =>
  READABLE_ADVISORY_ID.test(advisoryId) ? advisoryId : `${source}-${hash8(`${source}|${advisoryId}`)}`;

/**
 * The playbook incident of the compromise one advisory reports, `compromise-<id>-<hash>`: the intake
 * names an alert's incident so, and `quarantine --osv` a record's, so that both meet in it. Any other
 * id than a MAL-, GHSA- or CVE- one is hashed with its source (a scanner's ids are free text).
 */
export function advisoryCompromiseId(registry: string, source: string, advisoryId: string, planOnly = false): string {
  // The intake hashed the normalised registry URL as it is since its first playbook incident: kept so.
  return `compromise-${advisoryInId(source, advisoryId)}-${hash8(registry)}${planOnly ? '-plan' : ''}`;
}

/**
 * One incident for several advisories (`quarantine --osv <folder>`), whatever order they come in; for
 * one advisory, its own incident (advisoryCompromiseId).
 */
export function advisoriesCompromiseId(registry: string, source: string, advisoryIds: readonly string[], planOnly = false): string {
  const ids = [...new Set(advisoryIds)].sort();
  const first = ids[0];
  if (first === undefined) throw new Error('a compromise names at least one advisory');
  if (ids.length === 1) return advisoryCompromiseId(registry, source, first, planOnly);
  const digest = sha256(`${registry} ${source} ${ids.join(' ')}`).slice(0, 12);
  return `compromise-${advisoryInId(source, first)}-and-${ids.length - 1}-more-${digest}${planOnly ? '-plan' : ''}`;
}
