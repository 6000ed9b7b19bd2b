// What every alert parser accepts, whatever the source: zod building blocks so that a refusal names
// the offending field of the input. Alert content is attacker-controlled: names, versions and
// ranges must be exactly what npm would accept, and every size is bounded.
import { z } from 'zod';
import validateName from 'validate-npm-package-name';
import * as semver from 'semver';
import type { AlertSeverity } from '../alert';
import { printable } from '../spec';

export const LIMITS = {
  titleChars: 500,
  idChars: 200,
  versionsPerPackage: 1_000,
  rangesPerPackage: 100,
  packagesPerAlert: 100,
  alertsPerBatch: 1_000,
  aliases: 50,
  evidence: 100,
  urlChars: 2_000,
  /** npm's limit is 214; older packages can be longer, but not unboundedly. */
  nameChars: 256,
  /** A version or range longer than this is no version anyone published. */
  versionChars: 256,
  rangeChars: 1_000,
} as const;

// C0/C1 controls break log lines and terminals; format characters (bidi overrides, zero-width)
// make a title read differently from what it says.
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]+/gu;

/** One line of text for people: control and format characters become a space, runs collapse. */
export function cleanText(text: string): string {
  return text.replace(CONTROL_OR_FORMAT, ' ').replace(/ {2,}/g, ' ').trim();
}

/**
 * A title from a vendor we authenticated (GitHub, OSV, npm): its own schema allows long summaries,
 * and refusing a real malware alert over its length would be worse than shortening it.
 */
export function shortTitle(text: string): string {
  const clean = cleanText(text);
  return clean.length <= LIMITS.titleChars ? clean : `${clean.slice(0, LIMITS.titleChars - 1)}…`;
}

/** A title in OUR format: too long after cleaning is refused, so the scanner's author notices. */
export const strictTitle = z
  .string()
  .transform(cleanText)
  .pipe(z.string().min(1, 'must not be empty').max(LIMITS.titleChars, `must be at most ${LIMITS.titleChars} characters`));

export const packageName = z
  .string()
  .max(LIMITS.nameChars)
  .superRefine((name, ctx) => {
    const verdict = validateName(name);
    if (!verdict.validForOldPackages) {
      const why = [...(verdict.errors ?? []), ...(verdict.warnings ?? [])][0] ?? 'invalid name';
      ctx.addIssue({ code: 'custom', message: `"${printable(name)}" is not a valid npm package name: ${why}` });
    }
  });

export const exactVersion = z
  .string()
  .max(LIMITS.versionChars)
  .refine((v) => semver.valid(v) === v, { error: (issue) => `"${printable(String(issue.input))}" is not an exact semver version` });

// semver.validRange('') is '*': an empty range must not silently mean "every version".
export const semverRange = z
  .string()
  .min(1, 'must not be empty')
  .max(LIMITS.rangeChars)
  .refine((r) => semver.validRange(r) !== null, { error: (issue) => `"${printable(String(issue.input))}" is not a valid semver range` });

/** GHSA-…, CVE-…, MAL-…, npm advisory numbers: ids, never free text. */
export const aliasId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be an advisory id such as GHSA-xxxx-xxxx-xxxx or CVE-2024-1234');

export function isHttpUrl(text: string): boolean {
  if (text.length > LIMITS.urlChars) return false;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  // "https://github.com@evil.example/" reads like GitHub to a person; no evidence link needs userinfo.
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
}

export const httpUrl = z
  .string()
  .refine(isHttpUrl, { error: (issue) => `"${printable(String(issue.input).slice(0, 100))}" is not an http(s) URL` })
  .transform((text) => new URL(text).href);

/** Evidence from a vendor's feed: links that are not plain http(s) are dropped, not trusted. */
export function httpLinks(urls: readonly (string | null | undefined)[]): string[] {
  const links = new Set<string>();
  for (const url of urls) if (url && isHttpUrl(url)) links.add(new URL(url).href);
  return [...links].slice(0, LIMITS.evidence);
}

const SEVERITIES: Record<string, AlertSeverity> = {
  low: 'low',
  moderate: 'moderate',
  // GitHub and OSV say "medium" where npm says "moderate".
  medium: 'moderate',
  high: 'high',
  critical: 'critical',
};

export function toSeverity(raw: string | null | undefined): AlertSeverity {
  return (raw && SEVERITIES[raw.toLowerCase()]) || 'unknown';
}

export const alertSeverity = z.enum(['low', 'moderate', 'high', 'critical', 'unknown']);

/** Deduplicated, order kept: the same id listed twice by a source is one id. */
export function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}
