// Routing of normalised alerts to incidents. Pure: the server keeps the index, this decides.
//   - our packages, exact versions, live malware
//     or compromised-build alert                -> one playbook incident for the compromise (the alert's
//                                                  id; its aliases join it), every release of ours it names
//   - our package, ranges only, or a vulnerability
//     of any severity                           -> a review incident: recorded and shown, never written
//   - a package we do not publish               -> a dependency incident (which of our releases contain it)
//   - a compromised build (runs, commits, ...)   -> a build incident (which of our releases it built)
//   - a leaked token                            -> a token incident (its containment is revocation)
//   - a withdrawn / dismissed alert             -> recorded on a withdrawn incident, never acted on
import { createHash } from 'node:crypto';
import * as semver from 'semver';
import type { AffectedPackage, NormalizedAlert } from './alert';
import type { AffectedRelease, BlastRadius, BuildQuery, ComponentQuery } from './blast-radius';
import type { AlertSummary, IncidentRequest, Report } from './incident';
import { advisoryCompromiseId, READABLE_ADVISORY_ID } from './incident-id';
import { oneCleanLine } from './plan';
import type { CompromiseReport, PlaybookStart } from './playbook/plan';
import { severityQualifies, type Policy, type Trigger } from './playbook/policy';
import { reportAuthorizesWrites } from './write-authority';

export type WatchKind = 'review' | 'dependency' | 'compromised-build' | 'leaked-token' | 'withdrawn';

/** What a watch incident records: alerts that need a person (or a later capability), not a registry write. */
export interface WatchRequest {
  incident: string;
  kind: WatchKind;
  /** What it is about, for people: "@acme/core@>=1.0.0 <1.2.4", "npm_access_token in acme/core". */
  subject: string;
  report: Report;
  /** The registry our releases are on: where the containments a blast radius calls for happen. */
  registry?: string;
  /** dependency: the package and the versions the alert names. */
  affected?: ComponentQuery;
  /** compromised-build: the build the alert names. */
  build?: BuildQuery;
  /** How long the incident stays open without a new report (default 7 days); tests and replay recordings shorten it. */
  idleTimeoutMs?: number;
}

export type Route =
  /** Journalled by intakes before the playbook; replayed and delivered as they were. */
  | { workflow: 'incidentWorkflow'; incident: string; key: string; aliasKeys: string[]; request: IncidentRequest; report: Report }
  | { workflow: 'playbookWorkflow'; incident: string; key: string; aliasKeys: string[]; request: PlaybookStart; report: Report; compromise: CompromiseReport }
  | { workflow: 'watchIncidentWorkflow'; incident: string; key: string; aliasKeys: string[]; request: WatchRequest; report: Report };

/** Whether a route leads to a containment (a playbook incident, or one of the type before it). */
export function isContainmentRoute(route: Route): route is Extract<Route, { workflow: 'incidentWorkflow' | 'playbookWorkflow' }> {
  return route.workflow !== 'watchIncidentWorkflow';
}

export interface RoutingContext {
  /** Patterns of the packages we publish: exact names or "@scope/*". */
  owned: readonly string[];
  registry: string;
  deliveryId: string;
  receivedAt: string;
}

export function parseOwnedPatterns(text: string | undefined): string[] {
  return (text ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

export function isOwned(name: string, owned: readonly string[]): boolean {
  return owned.some((pattern) => (pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

function hash8(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** A stable description of what an alert says is affected, independent of listing order. */
function affectedKey(pkg: AffectedPackage): string {
  const versions = [...new Set(pkg.versions)].filter((v) => semver.valid(v)).sort(semver.compare);
  if (versions.length > 0) return versions.join(',');
  const ranges = [...new Set(pkg.ranges)].sort();
  return ranges.length > 0 ? ranges.join(' || ') : `osv:${JSON.stringify(pkg.osvRanges)}`;
}

function reportFor(alert: NormalizedAlert, context: RoutingContext, index: number): Report {
  return {
    // Deterministic: a redelivered or replayed alert is the same report, and the workflow takes it once.
    reportId: `${alert.source}:${context.deliveryId}:${index}`,
    requestedBy: `${alert.source}:${alert.sourceId}`,
    reason: oneCleanLine(`${alert.kind} (${alert.severity}): ${alert.title}`),
    at: context.receivedAt,
    alert: {
      source: alert.source,
      sourceId: alert.sourceId,
      kind: alert.kind,
      severity: alert.severity,
      aliases: alert.aliases,
      evidence: alert.evidence,
      withdrawn: alert.withdrawn,
    },
  };
}

/** The keys under which other alerts about the same compromise find this incident. */
function aliasKeysFor(alert: NormalizedAlert, packageName: string): string[] {
  return [alert.sourceId, ...alert.aliases].map((id) => `${id.toUpperCase()}|${packageName}`);
}

export function routeAlert(alert: NormalizedAlert, context: RoutingContext): Route[] {
  if (alert.kind === 'leaked-token' || (alert.packages.length === 0 && !alert.build)) {
    const token = alert.leakedToken;
    const subject = token ? `${token.secretType}${token.repository ? ` in ${token.repository}` : ''}` : alert.title;
    const key = `token|${token?.repository ?? ''}|${token?.alertNumber ?? alert.sourceId}`;
    const report = reportFor(alert, context, 0);
    const incident = `token-${hash8(key)}`;
    const kind: WatchKind = alert.withdrawn ? 'withdrawn' : 'leaked-token';
    return [{ workflow: 'watchIncidentWorkflow', incident, key, aliasKeys: [], report, request: { incident, kind, subject, report } }];
  }
  const buildRoutes: Route[] = [];
  if (alert.kind === 'compromised-build' && alert.build) {
    const build = alert.build;
    const report = reportFor(alert, context, alert.packages.length);
    const key = `build|${JSON.stringify(build)}`;
    const kind: WatchKind = alert.withdrawn ? 'withdrawn' : 'compromised-build';
    const incident = `${kind}-${hash8(key)}`;
    const subject = describeBuild(build);
    buildRoutes.push({ workflow: 'watchIncidentWorkflow', incident, key, aliasKeys: [alert.sourceId.toUpperCase()].map((id) => `${id}|build`), report, request: { incident, kind, subject, report, registry: context.registry, build } });
  }
  // Only what may write starts a containment: a vulnerability, however severe, is fixed by a release
  // of ours, and deprecating on a consumer's `npm audit` would hurt every user.
  const contained = alert.packages.filter((pkg) => isOwned(pkg.name, context.owned) && pkg.versions.length > 0);
  const containmentReport = reportFor(alert, context, 0);
  const containment = contained.length > 0 && reportAuthorizesWrites(containmentReport) ? [compromiseRoute(alert, contained, containmentReport, context)] : [];
  const watched = containment.length > 0 ? alert.packages.filter((pkg) => !contained.includes(pkg)) : alert.packages;
  return [...buildRoutes, ...containment, ...watched.map((pkg): Route => {
    const report = reportFor(alert, context, alert.packages.indexOf(pkg));
    const what = affectedKey(pkg);
    const key = `${pkg.name}@${what}`;
    const aliasKeys = aliasKeysFor(alert, pkg.name);
    const owned = isOwned(pkg.name, context.owned);
    const kind: WatchKind = alert.withdrawn ? 'withdrawn' : owned ? 'review' : 'dependency';
    const incident = `${kind}-${pkg.name}@${what.length <= 60 ? what : 'ranges'}-${hash8(key)}`;
    const subject = `${pkg.name}@${what}`;
    const affected: ComponentQuery = { name: pkg.name, versions: pkg.versions, ranges: pkg.ranges, osvRanges: pkg.osvRanges };
    return { workflow: 'watchIncidentWorkflow', incident, key, aliasKeys, report, request: { incident, kind, subject, report, registry: context.registry, affected } };
  })];
}

/**
 * The playbook incident of the compromise an alert reports, on one registry: the alert's id names it,
 * so that the alert naming our releases and the blast radius of a dependency or build it names meet
 * in one incident.
 */
export function compromiseIncidentId(alert: Pick<AlertSummary, 'source' | 'sourceId'>, registry: string): string {
  return advisoryCompromiseId(registry, alert.source, alert.sourceId);
}

/**
 * One playbook incident for the compromise an alert reports: named by the alert's id (its aliases, a
 * GHSA for a MAL id, join it in the index), holding every release of ours the alert names exactly.
 */
function compromiseRoute(alert: NormalizedAlert, packages: readonly AffectedPackage[], report: Report, context: RoutingContext): Route {
  const incident = compromiseIncidentId(alert, context.registry);
  const releases = packages.map((pkg) => ({ name: pkg.name, versions: [...new Set(pkg.versions)].sort(semver.compare) }));
  const advisories = [alert.sourceId, ...alert.aliases];
  const compromise: CompromiseReport = { report, releases, advisories };
  return {
    workflow: 'playbookWorkflow',
    incident,
    key: `compromise|${alert.sourceId.toUpperCase()}`,
    aliasKeys: advisories.map((id) => `${id.toUpperCase()}|compromise`),
    report,
    compromise,
    request: {
      compromise: { incident, registry: context.registry, trigger: alert.kind as Trigger, severity: alert.severity, releases, advisories, approvedReleases: [] },
      first: compromise,
    },
  };
}

function describeBuild(build: BuildQuery): string {
  const parts = [
    (build.runIds ?? []).length > 0 && `run ${(build.runIds ?? []).join(',')}`,
    (build.commits ?? []).length > 0 && `commit ${(build.commits ?? []).map((c) => c.slice(0, 12)).join(',')}`,
    (build.workflows ?? []).length > 0 && `workflow ${(build.workflows ?? []).join(',')}`,
    build.since !== undefined && `from ${build.since}`,
    build.until !== undefined && `until ${build.until}`,
  ].filter(Boolean);
  return `build ${parts.join(' ')}`.slice(0, 300);
}

/** A package of ours a blast radius reaches that is left for a person instead of contained. */
export interface HeldContainment {
  name: string;
  /** How many versions the containment would have taken, and the first of them. */
  versionCount: number;
  versions: string[];
  reason: string;
}

/** The playbook incident a blast radius is contained in. */
export interface CompromiseContainment {
  /** Starts the incident of the compromise (named by the alert's id), or joins it, with every release of ours the answer reaches that is not held. */
  start: PlaybookStart;
  /** The incidents this compromise has under the alert's advisory aliases: one that is open is joined instead. */
  aliasIncidents: string[];
}

export interface ContainmentDecision {
  contain?: CompromiseContainment;
  held: HeldContainment[];
}

/** How many versions of a held package are named; the count says the rest. */
const HELD_VERSIONS_SHOWN = 20;

/** Aliases looked up for an open incident of the same compromise: an advisory rarely has more. */
const MAX_ALIAS_INCIDENTS = 10;
/** Causes named in a report's reason; the releases themselves are listed on the report. */
const CAUSES_SHOWN = 3;

/** Why a release is in the answer, for the report's reason (the registry never sees it). */
function causeOf(release: AffectedRelease): string {
  const via = release.reasons[0];
  if (via?.kind === 'component') {
    return via.component.name === release.name && via.component.version === release.version ? 'named by the alert' : `ships ${via.component.name}@${via.component.version}`;
  }
  return via?.kind === 'build' ? `built by ${via.matched.join(', ')}` : 'suspect publisher';
}

/**
 * How a blast radius is contained: the releases of ours it reaches go to ONE playbook incident, the
 * one the intake opens for an alert naming our releases itself (compromiseIncidentId), so that every
 * route to the same compromise meets there; the policy the worker runs under applies as it does there.
 * Only for a report that may write (live malware or a compromised build) and whose severity the policy
 * contains, never for an over-broad answer, and never for a package the answer would take whole: a
 * vulnerable dependency is a patch release, and deprecating all of a package, or most of what we
 * ship, is a human's call. Packages not contained for the severity or as a whole are held: reported
 * back to the watch incident, not sent.
 *
 * The report sent carries an id of the alert's report and the releases: sent again (an activity
 * retry, a later assessment with the same answer) the incident takes it once; a new answer reaching
 * more is a new report that adds to the incident.
 */
export function containmentsFor(radius: BlastRadius, registry: string, report: Report, policy: Policy): ContainmentDecision {
  const alert = report.alert;
  // A compromise is named by its alert: a watch incident only ever acts on one.
  if (alert === undefined || radius.overBroad || !reportAuthorizesWrites(report)) return { held: [] };
  const trigger: Trigger = alert.kind;
  const belowPolicy = severityQualifies(policy, trigger, alert.severity)
    ? undefined
    : `a ${alert.severity}-severity ${trigger} report is below the policy's minimum (${policy.triggers[trigger].minSeverity}): recorded, not contained`;
  const byPackage = new Map<string, AffectedRelease[]>();
  for (const release of radius.releases) byPackage.set(release.name, [...(byPackage.get(release.name) ?? []), release]);
  const whole = new Map((radius.wholePackages ?? []).map((p) => [p.name, p.reason]));
  const held: HeldContainment[] = [];
  const releases: { name: string; versions: string[] }[] = [];
  const causes = new Set<string>();
  for (const [name, reached] of [...byPackage].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const versions = [...new Set(reached.map((r) => r.version))].sort(semver.compare);
    const heldFor = belowPolicy ?? whole.get(name);
    if (heldFor !== undefined) {
      held.push({ name, versionCount: versions.length, versions: versions.slice(0, HELD_VERSIONS_SHOWN), reason: heldFor });
      continue;
    }
    releases.push({ name, versions });
    for (const release of reached) causes.add(causeOf(release));
  }
  if (releases.length === 0) return { held };
  const incident = compromiseIncidentId(alert, registry);
  const advisories = [alert.sourceId, ...alert.aliases];
  const how = [...causes].slice(0, CAUSES_SHOWN).join('; ') + (causes.size > CAUSES_SHOWN ? `; and ${causes.size - CAUSES_SHOWN} more` : '');
  const first: CompromiseReport = {
    report: { ...report, reportId: `${report.reportId}:radius-${hash8(JSON.stringify(releases))}`, reason: oneCleanLine(`${how}: ${report.reason}`) },
    releases,
    advisories,
  };
  const aliasIncidents = alert.aliases
    .filter((id) => READABLE_ADVISORY_ID.test(id))
    .map((id) => compromiseIncidentId({ source: alert.source, sourceId: id }, registry))
    .filter((id) => id !== incident)
    .slice(0, MAX_ALIAS_INCIDENTS);
  return {
    contain: { start: { compromise: { incident, registry, trigger, severity: alert.severity, releases, advisories, approvedReleases: [] }, first }, aliasIncidents },
    held,
  };
}
