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
import type { IncidentRequest, Report } from './incident';
import { advisoryCompromiseId, incidentId } from './incident-id';
import { oneCleanLine } from './plan';
import type { CompromiseReport, PlaybookStart } from './playbook/plan';
import type { Trigger } from './playbook/policy';
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
 * One playbook incident for the compromise an alert reports: named by the alert's id (its aliases, a
 * GHSA for a MAL id, join it in the index), holding every release of ours the alert names exactly.
 */
function compromiseRoute(alert: NormalizedAlert, packages: readonly AffectedPackage[], report: Report, context: RoutingContext): Route {
  const incident = advisoryCompromiseId(context.registry, alert.source, alert.sourceId);
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

export interface ContainmentDecision {
  open: IncidentRequest[];
  held: HeldContainment[];
}

/** How many versions of a held package are named; the count says the rest. */
const HELD_VERSIONS_SHOWN = 20;

/**
 * The containments a blast radius calls for: one incident per package of ours, for its affected
 * versions, with the same id the CLI and the intake would give it, so that they all meet in one.
 * Only for a report that may write (live malware or compromised builds), never for an over-broad
 * answer, and never for a package the answer would take whole: a vulnerable dependency is a patch
 * release, and deprecating all of a package, or most of what we ship, is a human's call.
 */
export function containmentsFor(radius: BlastRadius, registry: string, report: Report): ContainmentDecision {
  if (radius.overBroad || !reportAuthorizesWrites(report)) return { open: [], held: [] };
  const byPackage = new Map<string, AffectedRelease[]>();
  for (const release of radius.releases) byPackage.set(release.name, [...(byPackage.get(release.name) ?? []), release]);
  const whole = new Map((radius.wholePackages ?? []).map((p) => [p.name, p.reason]));
  const decision: ContainmentDecision = { open: [], held: [] };
  for (const [name, releases] of byPackage) {
    const versions = [...new Set(releases.map((r) => r.version))].sort(semver.compare);
    const heldFor = whole.get(name);
    if (heldFor !== undefined) {
      decision.held.push({ name, versionCount: versions.length, versions: versions.slice(0, HELD_VERSIONS_SHOWN), reason: heldFor });
      continue;
    }
    const via = releases[0]?.reasons[0];
    const how =
      via?.kind === 'component'
        ? via.component.name === name && via.component.version === releases[0]?.version
          ? 'named by the alert'
          : `ships ${via.component.name}@${via.component.version}`
        : via?.kind === 'build'
          ? `built by ${via.matched.join(', ')}`
          : 'suspect publisher';
    decision.open.push({
      incident: incidentId(registry, name, versions),
      registry,
      name,
      versions,
      dryRun: false,
      report: { ...report, reportId: `${report.reportId}:${name}`, reason: oneCleanLine(`${how}: ${report.reason}`) },
    });
  }
  return decision;
}
