// What `npm audit --json` (auditReportVersion 2) and `pnpm audit --json` print, into one alert per
// advisory. npm lists an advisory in the `via` of each vulnerable package; pnpm keys them by id.
import { z } from 'zod';
import type { AffectedPackage, AlertSource, NormalizedAlert } from '../alert';
import { found, parseOrReject, rejectField, type ParsedDelivery } from './parse-result';
import { LIMITS, aliasId, exactVersion, httpLinks, packageName, semverRange, shortTitle, toSeverity, unique } from './validate';

const MALICIOUS_CODE_CWE = 'CWE-506';
const GHSA_IN_URL = /^https:\/\/github\.com\/advisories\/(GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})$/;

const advisoryId = z.union([z.number().int().nonnegative(), aliasId]);
const cwe = z.union([z.string().max(50), z.array(z.string().max(50)).max(100)]).nullish();

const npmReport = z.object({
  auditReportVersion: z.literal(2),
  vulnerabilities: z.record(z.string().max(LIMITS.nameChars), z.object({ via: z.array(z.unknown()).max(LIMITS.alertsPerBatch) })),
});
// A `via` entry is either the name of the package this one is vulnerable through, or an advisory.
const npmAdvisory = z.object({
  source: advisoryId,
  name: packageName,
  title: z.string().max(100_000),
  url: z.string(),
  severity: z.string().max(50),
  range: semverRange,
  cwe,
});

const pnpmReport = z.object({
  advisories: z.record(
    z.string().max(LIMITS.idChars),
    z.object({
      id: advisoryId,
      module_name: packageName,
      vulnerable_versions: semverRange,
      severity: z.string().max(50),
      title: z.string().max(100_000),
      url: z.string(),
      github_advisory_id: aliasId.nullish(),
      cves: z.array(aliasId).max(LIMITS.aliases).default([]),
      cwe,
      findings: z.array(z.object({ version: exactVersion })).max(LIMITS.versionsPerPackage).default([]),
    }),
  ),
});

interface Advisory {
  id: number | string;
  url: string;
  title: string;
  severity: string;
  cwe?: string | string[] | null;
  aliases: string[];
  ghsa?: string | null;
  pkg: AffectedPackage;
}

function toAlert(source: AlertSource, adv: Advisory): NormalizedAlert {
  // The GHSA id lets the same advisory from GitHub, OSV and an audit be recognised as one.
  const ghsa = adv.ghsa ?? GHSA_IN_URL.exec(adv.url)?.[1];
  const sourceId = ghsa ?? `npm:${adv.id}`;
  const cwes = [adv.cwe ?? []].flat().map((id) => id.toUpperCase());
  return {
    source,
    sourceId,
    kind: cwes.includes(MALICIOUS_CODE_CWE) ? 'malware' : 'vulnerability',
    severity: toSeverity(adv.severity),
    title: shortTitle(adv.title),
    packages: [adv.pkg],
    aliases: unique(adv.aliases.filter((alias) => alias !== sourceId)),
    evidence: httpLinks([adv.url]),
    withdrawn: false,
  };
}

/** The same advisory reached through several packages is one alert naming each of them. */
function dedupe(alerts: NormalizedAlert[]): NormalizedAlert[] {
  const byId = new Map<string, NormalizedAlert>();
  for (const alert of alerts) {
    const seen = byId.get(alert.sourceId);
    if (!seen) {
      byId.set(alert.sourceId, alert);
      continue;
    }
    for (const pkg of alert.packages) {
      const same = seen.packages.find((p) => p.name === pkg.name);
      if (same) {
        same.versions = unique([...same.versions, ...pkg.versions]);
        same.ranges = unique([...same.ranges, ...pkg.ranges]);
      } else {
        if (seen.packages.length >= LIMITS.packagesPerAlert) throw rejectField([], `advisory ${alert.sourceId} names more than ${LIMITS.packagesPerAlert} packages`);
        seen.packages.push(pkg);
      }
    }
  }
  return [...byId.values()];
}

function npmAlerts(body: unknown): NormalizedAlert[] {
  const report = parseOrReject(npmReport, body);
  return Object.entries(report.vulnerabilities).flatMap(([key, vuln]) =>
    vuln.via.flatMap((via, index) => {
      if (typeof via === 'string') return [];
      const adv = parseOrReject(npmAdvisory, via, ['vulnerabilities', key, 'via', index]);
      return [toAlert('npm-audit', { ...adv, id: adv.source, aliases: [], pkg: { name: adv.name, versions: [], ranges: [adv.range], osvRanges: [] } })];
    }),
  );
}

// pnpm prints the registry's legacy audit answer (the shape npm 6 printed too).
function pnpmAlerts(body: unknown): NormalizedAlert[] {
  const report = parseOrReject(pnpmReport, body);
  return Object.values(report.advisories).map((adv) =>
    toAlert('pnpm-audit', {
      ...adv,
      ghsa: adv.github_advisory_id,
      aliases: adv.cves,
      // The installed versions it found vulnerable are inside the range; naming them costs nothing.
      pkg: { name: adv.module_name, versions: unique(adv.findings.map((f) => f.version)), ranges: [adv.vulnerable_versions], osvRanges: [] },
    }),
  );
}

export function parseAuditReport(body: unknown): ParsedDelivery {
  const report = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {};
  let alerts: NormalizedAlert[];
  if ('auditReportVersion' in report) alerts = npmAlerts(body);
  else if ('advisories' in report) alerts = pnpmAlerts(body);
  else if ('error' in report) throw rejectField(['error'], 'this is the output of a failed audit, not a report');
  else throw rejectField([], 'neither `npm audit --json` (auditReportVersion 2) nor `pnpm audit --json` output');
  return found(dedupe(alerts), 'the audit found no advisory');
}
