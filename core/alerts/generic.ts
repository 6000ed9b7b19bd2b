// OUR format, for in-house scanners (documented in docs/alert-formats.md). Strict at every level:
// an unknown key is refused, because a typo such as "version" for "versions" would otherwise
// silently drop the very data containment acts on.
import { z } from 'zod';
import type { AffectedPackage, NormalizedAlert } from '../alert';
import { found, parseOrReject, type ParsedDelivery } from './parse-result';
import { LIMITS, aliasId, alertSeverity, exactVersion, httpUrl, packageName, semverRange, strictTitle, unique } from './validate';

const genericPackage = z
  .strictObject({
    name: packageName,
    versions: z.array(exactVersion).max(LIMITS.versionsPerPackage).default([]),
    ranges: z.array(semverRange).max(LIMITS.rangesPerPackage).default([]),
  })
  // No implicit "every version": that is what a range of "*" says, explicitly.
  .refine((pkg) => pkg.versions.length + pkg.ranges.length > 0, 'name at least one version or range ("*" for every version)');

const isoInstant = z
  .string()
  .max(40)
  .refine((t) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(t) && !Number.isNaN(Date.parse(t)), 'must be an ISO 8601 date or time');

// What a build-system compromise is known by; our releases built there are affected, signed or not.
const genericBuild = z
  .strictObject({
    runIds: z.array(z.string().regex(/^[0-9]{1,20}$/, 'a GitHub Actions run id (digits)')).max(LIMITS.versionsPerPackage).default([]),
    commits: z.array(z.string().regex(/^[0-9a-fA-F]{7,40}$/, 'a git commit (7 to 40 hex digits)')).max(LIMITS.versionsPerPackage).default([]),
    workflows: z.array(z.string().regex(/^[A-Za-z0-9._/-]{1,300}$/, 'a workflow file path such as .github/workflows/release.yml')).max(LIMITS.rangesPerPackage).default([]),
    since: isoInstant.optional(),
    until: isoInstant.optional(),
  })
  .refine((b) => b.runIds.length + b.commits.length + b.workflows.length > 0 || b.since !== undefined || b.until !== undefined, 'name a run, commit, workflow or time bound');

const genericAlert = z
  .strictObject({
    id: z
      .string()
      .min(1)
      .max(LIMITS.idChars)
      .refine((id) => !/[\p{Cc}\p{Cf}]/u.test(id), 'must not contain control characters'),
    kind: z.enum(['malware', 'vulnerability', 'compromised-build', 'leaked-token']),
    severity: alertSeverity.default('unknown'),
    title: strictTitle,
    package: genericPackage.optional(),
    packages: z.array(genericPackage).max(LIMITS.packagesPerAlert).default([]),
    aliases: z.array(aliasId).max(LIMITS.aliases).default([]),
    evidence: z.array(httpUrl).max(LIMITS.evidence).default([]),
    build: genericBuild.optional(),
  })
  .superRefine((alert, ctx) => {
    const all = [...(alert.package ? [alert.package] : []), ...alert.packages];
    if (all.length > LIMITS.packagesPerAlert) {
      ctx.addIssue({ code: 'custom', path: ['packages'], message: `at most ${LIMITS.packagesPerAlert} packages per alert` });
    }
    if (alert.build && alert.kind !== 'compromised-build') {
      ctx.addIssue({ code: 'custom', path: ['build'], message: 'only an alert of kind compromised-build names a build' });
    }
    if (all.length === 0 && alert.kind !== 'leaked-token' && !(alert.kind === 'compromised-build' && alert.build)) {
      ctx.addIssue({ code: 'custom', path: ['packages'], message: `an alert of kind ${alert.kind} names at least one package${alert.kind === 'compromised-build' ? ' or a build' : ''}` });
    }
    const names = new Set<string>();
    all.forEach((pkg, index) => {
      const path = alert.package ? (index === 0 ? ['package'] : ['packages', index - 1]) : ['packages', index];
      if (names.has(pkg.name)) ctx.addIssue({ code: 'custom', path: [...path, 'name'], message: `${pkg.name} is listed twice` });
      names.add(pkg.name);
    });
  });

const batch = z.strictObject({ alerts: z.array(z.unknown()).min(1).max(LIMITS.alertsPerBatch) });

function toAlert(body: unknown, prefix: (string | number)[]): NormalizedAlert {
  const alert = parseOrReject(genericAlert, body, prefix);
  const packages: AffectedPackage[] = [...(alert.package ? [alert.package] : []), ...alert.packages].map((pkg) => ({
    name: pkg.name,
    versions: unique(pkg.versions),
    ranges: unique(pkg.ranges),
    osvRanges: [],
  }));
  return {
    source: 'generic',
    sourceId: alert.id,
    kind: alert.kind,
    severity: alert.severity,
    title: alert.title,
    packages,
    aliases: unique(alert.aliases.filter((alias) => alias !== alert.id)),
    evidence: unique(alert.evidence),
    ...(alert.build ? { build: { ...alert.build, commits: alert.build.commits.map((c) => c.toLowerCase()) } } : {}),
    withdrawn: false,
  };
}

/** One alert, or `{ "alerts": [...] }`. Throws AlertRejection(400) naming the first bad field. */
export function parseGenericAlert(body: unknown): ParsedDelivery {
  if (typeof body === 'object' && body !== null && 'alerts' in body) {
    const { alerts } = parseOrReject(batch, body);
    return found(
      alerts.map((alert, index) => toAlert(alert, ['alerts', index])),
      'no alert',
    );
  }
  return found([toAlert(body, [])], 'no alert');
}
