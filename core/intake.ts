// Routing of normalised alerts to incidents. Pure: the server keeps the index, this decides.
//   - our package, exact versions, live alert   -> the containment incident (same id as the CLI's)
//   - our package, ranges only                  -> a review incident: ranges are never acted on blindly
//   - a package we do not publish               -> a dependency incident (which of our releases contain it)
//   - a leaked token                            -> a token incident (its containment is revocation)
//   - a withdrawn / dismissed alert             -> recorded on a withdrawn incident, never acted on
import { createHash } from 'node:crypto';
import * as semver from 'semver';
import type { AffectedPackage, NormalizedAlert } from './alert';
import type { IncidentRequest, Report } from './incident';
import { incidentId } from './incident-id';
import { oneCleanLine } from './plan';

export type WatchKind = 'review' | 'dependency' | 'leaked-token' | 'withdrawn';

/** What a watch incident records: alerts that need a person (or a later capability), not a registry write. */
export interface WatchRequest {
  incident: string;
  kind: WatchKind;
  /** What it is about, for people: "@acme/core@>=1.0.0 <1.2.4", "npm_access_token in acme/core". */
  subject: string;
  report: Report;
}

export type Route =
  | { workflow: 'incidentWorkflow'; incident: string; key: string; aliasKeys: string[]; request: IncidentRequest; report: Report }
  | { workflow: 'watchIncidentWorkflow'; incident: string; key: string; aliasKeys: string[]; request: WatchRequest; report: Report };

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
  if (alert.kind === 'leaked-token' || alert.packages.length === 0) {
    const token = alert.leakedToken;
    const subject = token ? `${token.secretType}${token.repository ? ` in ${token.repository}` : ''}` : alert.title;
    const key = `token|${token?.repository ?? ''}|${token?.alertNumber ?? alert.sourceId}`;
    const report = reportFor(alert, context, 0);
    const incident = `token-${hash8(key)}`;
    const kind: WatchKind = alert.withdrawn ? 'withdrawn' : 'leaked-token';
    return [{ workflow: 'watchIncidentWorkflow', incident, key, aliasKeys: [], report, request: { incident, kind, subject, report } }];
  }
  return alert.packages.map((pkg, index): Route => {
    const report = reportFor(alert, context, index);
    const what = affectedKey(pkg);
    const key = `${pkg.name}@${what}`;
    const aliasKeys = aliasKeysFor(alert, pkg.name);
    const owned = isOwned(pkg.name, context.owned);
    if (owned && pkg.versions.length > 0 && !alert.withdrawn) {
      const versions = [...new Set(pkg.versions)].sort(semver.compare);
      const incident = incidentId(context.registry, pkg.name, versions);
      const request: IncidentRequest = { incident, registry: context.registry, name: pkg.name, versions, dryRun: false, report };
      return { workflow: 'incidentWorkflow', incident, key, aliasKeys, request, report };
    }
    const kind: WatchKind = alert.withdrawn ? 'withdrawn' : owned ? 'review' : 'dependency';
    const incident = `${kind}-${pkg.name}@${what.length <= 60 ? what : 'ranges'}-${hash8(key)}`;
    const subject = `${pkg.name}@${what}`;
    return { workflow: 'watchIncidentWorkflow', incident, key, aliasKeys, report, request: { incident, kind, subject, report } };
  });
}
