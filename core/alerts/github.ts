// GitHub webhook deliveries (X-GitHub-Event + JSON body) into normalised alerts. Only the fields
// used are declared; zod strips the rest, so nothing else from the payload (a leaked secret's
// value included) can reach an alert. Shapes checked against @octokit/webhooks-examples 7.6.1.
import { z } from 'zod';
import * as semver from 'semver';
import type { AffectedPackage, AlertKind } from '../alert';
import { printable } from '../spec';
import { found, ignored, parseOrReject, rejectField, type ParsedDelivery } from './parse-result';
import { LIMITS, aliasId, httpLinks, packageName, shortTitle, toSeverity, unique } from './validate';

const GHSA = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/;
const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
/** CWE-506 "Embedded Malicious Code": how GitHub's malware advisories are classified. */
const MALICIOUS_CODE_CWE = 'CWE-506';

const shortString = z.string().max(200);
const repository = z.object({ full_name: z.string().regex(REPOSITORY, 'must be owner/name') });
const ghPackage = z.object({ ecosystem: z.string().max(50), name: z.string().max(LIMITS.nameChars) });
const vulnerability = z.object({
  package: ghPackage,
  severity: shortString.nullish(),
  vulnerable_version_range: z.string().max(LIMITS.rangeChars),
});
const advisory = z.object({
  ghsa_id: z.string().regex(GHSA, 'must be a GHSA id'),
  cve_id: shortString.nullish(),
  summary: z.string().max(100_000),
  severity: shortString.nullish(),
  // Not in the webhook examples; GitHub's global-advisory objects carry it, so honour it if sent.
  type: shortString.nullish(),
  identifiers: z.array(z.object({ type: shortString, value: shortString })).max(LIMITS.aliases).default([]),
  references: z.array(z.object({ url: z.string().max(LIMITS.urlChars) })).max(500).default([]),
  cwes: z.array(z.object({ cwe_id: shortString })).max(200).default([]),
  withdrawn_at: shortString.nullish(),
  vulnerabilities: z.array(vulnerability).max(LIMITS.packagesPerAlert).default([]),
});
type Advisory = z.output<typeof advisory>;

const dependabotAlertEvent = z.object({
  action: shortString,
  alert: z.object({
    number: z.number().int().positive(),
    state: shortString.nullish(),
    dependency: z.object({ package: ghPackage }),
    security_advisory: advisory,
    security_vulnerability: vulnerability,
    html_url: z.string().max(LIMITS.urlChars).nullish(),
  }),
  repository,
});

const securityAdvisoryEvent = z.object({ action: shortString, security_advisory: advisory });

const repositoryVulnerabilityAlertEvent = z.object({
  action: shortString,
  alert: z.object({
    id: z.number().int().positive(),
    number: z.number().int().positive().optional(),
    state: shortString.nullish(),
    affected_package_name: z.string().max(LIMITS.nameChars),
    affected_range: z.string().max(LIMITS.rangeChars),
    ghsa_id: z.string().regex(GHSA, 'must be a GHSA id').nullish(),
    external_identifier: shortString.nullish(),
    external_reference: z.string().max(LIMITS.urlChars).nullish(),
    severity: shortString.nullish(),
  }),
  repository,
});

// The documented alert object also has `secret` (the leaked value itself): deliberately not
// declared here, so zod drops it before anything else sees the parsed payload.
const secretScanningAlertEvent = z.object({
  action: shortString,
  alert: z.object({
    number: z.number().int().positive(),
    secret_type: z.string().min(1).max(200),
    secret_type_display_name: shortString.nullish(),
    state: shortString.nullish(),
    resolution: shortString.nullish(),
    html_url: z.string().max(LIMITS.urlChars).nullish(),
  }),
  repository,
});

/**
 * GitHub's range syntax (">= 1.0.0, < 1.2.4", "= 1.2.3", "<= 0.29.0") in npm's; an exact "= x.y.z"
 * (or a bare version, as legacy alerts write it) is a version, not a range. undefined: not npm-shaped.
 */
export function githubRangeToNpm(range: string): { versions: string[]; ranges: string[] } | undefined {
  const parts = range.split(',').map((part) => part.trim());
  if (parts.length > 10) return undefined;
  const constraints: { op: string; version: string }[] = [];
  for (const part of parts) {
    const match = /^(<=|>=|<|>|=)?\s*([^\s<>=]+)$/.exec(part);
    const version = match?.[2];
    if (!match || !version || semver.valid(version) !== version) return undefined;
    constraints.push({ op: match[1] ?? '=', version });
  }
  const [only] = constraints;
  if (constraints.length === 1 && only?.op === '=') return { versions: [only.version], ranges: [] };
  if (constraints.some((c) => c.op === '=')) return undefined;
  const npmRange = constraints.map((c) => `${c.op}${c.version}`).join(' ');
  return semver.validRange(npmRange) === null ? undefined : { versions: [], ranges: [npmRange] };
}

type Path = (string | number)[];

function npmPackage(name: string, namePath: Path, range: string, rangePath: Path): AffectedPackage {
  parseOrReject(packageName, name, namePath);
  const converted = githubRangeToNpm(range);
  if (!converted) throw rejectField(rangePath, `"${printable(range)}" is not a GitHub version range over exact versions`);
  return { name, ...converted, osvRanges: [] };
}

/** GitHub lists one package once per range ("< 2.8.19", ">= 2.9.0, < 2.9.18"): one package, all its ranges. */
function mergeByName(packages: AffectedPackage[]): AffectedPackage[] {
  const byName = new Map<string, AffectedPackage>();
  for (const pkg of packages) {
    const seen = byName.get(pkg.name);
    if (!seen) byName.set(pkg.name, { ...pkg });
    else byName.set(pkg.name, { ...seen, versions: unique([...seen.versions, ...pkg.versions]), ranges: unique([...seen.ranges, ...pkg.ranges]) });
  }
  return [...byName.values()];
}

function advisoryKind(adv: Advisory): AlertKind {
  const malware = adv.type === 'malware' || adv.cwes.some((cwe) => cwe.cwe_id.toUpperCase() === MALICIOUS_CODE_CWE);
  return malware ? 'malware' : 'vulnerability';
}

function advisoryAliases(adv: Advisory, exclude: string): string[] {
  const ids = [adv.ghsa_id, adv.cve_id, ...adv.identifiers.map((id) => id.value)];
  return unique(ids.filter((id): id is string => !!id && id !== exclude && aliasId.safeParse(id).success));
}

// Withdrawal is per repository alert: fixing or dismissing it in one repository says nothing about
// the same advisory elsewhere, so repository alerts are keyed by repository and alert number.
const DEPENDABOT_CLOSED = new Set(['dismissed', 'fixed', 'auto_dismissed']);

function dependabotAlert(body: unknown): ParsedDelivery {
  const event = parseOrReject(dependabotAlertEvent, body);
  const { alert, repository: repo } = event;
  const ecosystem = alert.dependency.package.ecosystem;
  if (ecosystem !== 'npm') return ignored(`dependabot alert for the ${printable(ecosystem.slice(0, 50))} ecosystem, not npm`);
  const adv = alert.security_advisory;
  const sourceId = `${repo.full_name}#dependabot/${alert.number}`;
  return found(
    [
      {
        source: 'github',
        sourceId,
        kind: advisoryKind(adv),
        severity: toSeverity(alert.security_vulnerability.severity ?? adv.severity),
        title: shortTitle(adv.summary),
        packages: [
          npmPackage(
            alert.dependency.package.name,
            ['alert', 'dependency', 'package', 'name'],
            alert.security_vulnerability.vulnerable_version_range,
            ['alert', 'security_vulnerability', 'vulnerable_version_range'],
          ),
        ],
        aliases: advisoryAliases(adv, sourceId),
        evidence: httpLinks([alert.html_url, ...adv.references.map((ref) => ref.url)]),
        withdrawn: DEPENDABOT_CLOSED.has(event.action) || DEPENDABOT_CLOSED.has(alert.state ?? ''),
      },
    ],
    'no alert',
  );
}

function securityAdvisory(body: unknown): ParsedDelivery {
  const { action, security_advisory: adv } = parseOrReject(securityAdvisoryEvent, body);
  const packages = adv.vulnerabilities.flatMap((vuln, index) =>
    vuln.package.ecosystem === 'npm'
      ? [
          npmPackage(
            vuln.package.name,
            ['security_advisory', 'vulnerabilities', index, 'package', 'name'],
            vuln.vulnerable_version_range,
            ['security_advisory', 'vulnerabilities', index, 'vulnerable_version_range'],
          ),
        ]
      : [],
  );
  if (packages.length === 0) return ignored(`advisory ${adv.ghsa_id} names no npm package`);
  return found(
    [
      {
        source: 'github',
        sourceId: adv.ghsa_id,
        kind: advisoryKind(adv),
        severity: toSeverity(adv.severity),
        title: shortTitle(adv.summary),
        packages: mergeByName(packages),
        aliases: advisoryAliases(adv, adv.ghsa_id),
        evidence: httpLinks(adv.references.map((ref) => ref.url)),
        withdrawn: action === 'withdrawn' || !!adv.withdrawn_at,
      },
    ],
    'no alert',
  );
}

/**
 * The legacy event carries no ecosystem: its package is read as an npm name, and a name or range
 * npm could not have (e.g. a RubyGems range) means the alert is about another ecosystem: ignored.
 */
function repositoryVulnerabilityAlert(body: unknown): ParsedDelivery {
  const { action, alert, repository: repo } = parseOrReject(repositoryVulnerabilityAlertEvent, body);
  const converted = githubRangeToNpm(alert.affected_range);
  if (!packageName.safeParse(alert.affected_package_name).success || !converted) {
    return ignored('repository vulnerability alert whose package or range is not npm-shaped (the event names no ecosystem)');
  }
  const sourceId = `${repo.full_name}#vulnerability-alert/${alert.number ?? alert.id}`;
  const aliases = [alert.ghsa_id, alert.external_identifier].filter((id): id is string => !!id && aliasId.safeParse(id).success);
  return found(
    [
      {
        source: 'github',
        sourceId,
        kind: 'vulnerability',
        severity: toSeverity(alert.severity),
        title: shortTitle(`${alert.affected_package_name} ${alert.affected_range}: ${alert.ghsa_id ?? alert.external_identifier ?? 'vulnerability'}`),
        packages: [{ name: alert.affected_package_name, ...converted, osvRanges: [] }],
        aliases: unique(aliases),
        evidence: httpLinks([alert.external_reference]),
        withdrawn: action === 'dismiss' || action === 'resolve' || alert.state === 'dismissed' || alert.state === 'fixed',
      },
    ],
    'no alert',
  );
}

function secretScanningAlert(body: unknown): ParsedDelivery {
  const { action, alert, repository: repo } = parseOrReject(secretScanningAlertEvent, body);
  const secretType = shortTitle(alert.secret_type).slice(0, 200);
  const label = shortTitle(alert.secret_type_display_name ?? secretType);
  const [url] = httpLinks([alert.html_url]);
  return found(
    [
      {
        source: 'github',
        sourceId: `${repo.full_name}#secret-scanning/${alert.number}`,
        kind: 'leaked-token',
        // GitHub rates no secret; how bad a leak is depends on what the token can do.
        severity: 'unknown',
        title: shortTitle(`${label} leaked in ${repo.full_name}`),
        packages: [],
        aliases: [],
        evidence: url ? [url] : [],
        leakedToken: { secretType, repository: repo.full_name, alertNumber: alert.number, ...(url ? { url } : {}) },
        // Resolved (revoked, false positive, ...) means there is nothing left to revoke.
        withdrawn: action === 'resolved' || action === 'revoked' || alert.state === 'resolved' || !!alert.resolution,
      },
    ],
    'no alert',
  );
}

/** `event` is the X-GitHub-Event header; `body` the parsed JSON. Throws AlertRejection(400) if malformed. */
export function parseGithubDelivery(event: string, body: unknown): ParsedDelivery {
  switch (event) {
    case 'dependabot_alert':
      return dependabotAlert(body);
    case 'security_advisory':
      return securityAdvisory(body);
    case 'repository_vulnerability_alert':
      return repositoryVulnerabilityAlert(body);
    case 'secret_scanning_alert':
      return secretScanningAlert(body);
    case 'code_scanning_alert':
      // Rule, tool, file location and commit: no package, no version, nothing to contain.
      return ignored('a code scanning alert names no npm release');
    case 'ping':
      return ignored('ping: GitHub checking that the webhook is reachable');
    default:
      return ignored(`event "${printable(event.slice(0, 100))}" is not an alert event`);
  }
}
