// The blast radius as a CycloneDX VEX document: our affected releases as components, and one
// vulnerability (the advisory, malware record or incident) whose `affects` names each of them, with an
// analysis that says why. For the advisory and the incident timeline.
//
// A pure function of its input: the timestamp is the caller's `now`, and the serial number is derived
// from the vulnerability and the radius, so the same radius yields the same document. Everything from
// outside (alert text, package names, reasons) goes into the library's models as data and out through
// its JSON serializer; no JSON is assembled by hand.
import { createHash } from 'node:crypto';
import { Enums, Models, Serialize, Spec } from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import type { AffectedReason, AffectedRelease, BlastRadius } from './blast-radius';
import { releaseKey, type ReleaseRef } from './release-index';

/** The CycloneDX versions a VEX is written in: both carry vulnerabilities with analysis and tools as components. */
export type VexSpecVersion = '1.5' | '1.6';

/** The vulnerability the radius is about: an advisory, a malware record or one of our incidents. */
export interface VexVulnerability {
  /** `MAL-2025-6020`, `GHSA-…`, `CVE-…` or an incident id. */
  id: string;
  /** Who published it (`OSV`, `GitHub`, `quarantine`), with a link to the record. */
  source?: { name?: string; url?: string };
  description?: string;
  /** Links to advisories and write-ups (http or https; anything else is left out with a warning). */
  references?: string[];
  /** Other ids of the same vulnerability (a `MAL-` record's `GHSA-`). */
  aliases?: string[];
  /** When it was published, ISO 8601 (or a Date). */
  published?: string | Date;
}

export interface VexOptions {
  /** The document's timestamp. */
  now: Date | string;
  /** Default 1.6. */
  specVersion?: VexSpecVersion;
  /** quarantine's own version, for the tool entry. */
  toolVersion?: string;
}

export interface VexDocument {
  bom: Models.Bom;
  /** The serialized document (pretty-printed, lists sorted; `<`, U+2028 and U+2029 as \u escapes). */
  json: string;
  specVersion: VexSpecVersion;
  serialNumber: string;
  /** Input left out of the document, with why. */
  warnings: string[];
}

export class VexInputError extends Error {
  override name = 'VexInputError';
}

const TOOL_NAME = 'quarantine';
const PROPERTY_PREFIX = 'quarantine:';

const specs: Record<VexSpecVersion, typeof Spec.Spec1dot6> = { '1.5': Spec.Spec1dot5, '1.6': Spec.Spec1dot6 };

/** The npm purl of one of our releases: `pkg:npm/%40scope/name@version`. */
export function npmPurl(release: ReleaseRef): string {
  const { namespace, name } = splitName(release.name);
  return new PackageURL('npm', namespace, name, release.version, undefined, undefined).toString();
}

function splitName(full: string): { namespace: string | undefined; name: string } {
  if (full.startsWith('@')) {
    const slash = full.indexOf('/');
    if (slash > 1 && slash < full.length - 1) return { namespace: full.slice(0, slash), name: full.slice(slash + 1) };
  }
  return { namespace: undefined, name: full };
}

/** Why a release is affected, in one line: `@acme/core@1.2.3 > a@1 > is@3.3.1`, `built by run 123, commit abc`. */
export function describeReason(release: ReleaseRef, reason: AffectedReason): string {
  switch (reason.kind) {
    case 'component': {
      const path = reason.path.length > 0 ? reason.path : [releaseKey(release), `${reason.component.name}@${reason.component.version}`];
      return `ships ${reason.component.name}@${reason.component.version} (${reason.direct ? 'direct' : 'transitive'}): ${path.join(' > ')}`;
    }
    case 'build':
      return `built by ${reason.matched.join(', ') || 'the compromised build'} (provenance ${reason.provenance.status})`;
    case 'publisher':
      return `suspect publisher: ${reason.finding}`;
  }
}

const HTTP_URL = /^https?:\/\/[^\s]+$/i;

function httpUrl(value: string): string | undefined {
  if (!HTTP_URL.test(value)) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function instant(value: Date | string, what: string): Date {
  const date = typeof value === 'string' ? new Date(value) : value;
  if (typeof value === 'string' && !/^\d{4}-\d{2}-\d{2}/.test(value)) throw new VexInputError(`${what} ${JSON.stringify(value)} is not an ISO 8601 date or time`);
  if (Number.isNaN(date.getTime())) throw new VexInputError(`${what} ${JSON.stringify(String(value))} is not a date or time`);
  return date;
}

/** Sources we can name for an alias by its prefix; other aliases get an empty source. */
function aliasSource(id: string): Models.Vulnerability.Source {
  const encoded = encodeURIComponent(id);
  if (/^GHSA-/i.test(id)) return new Models.Vulnerability.Source({ name: 'GitHub Advisory Database', url: `https://github.com/advisories/${encoded}` });
  if (/^CVE-/i.test(id)) return new Models.Vulnerability.Source({ name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${encoded}` });
  if (/^MAL-/i.test(id)) return new Models.Vulnerability.Source({ name: 'OSV', url: `https://osv.dev/vulnerability/${encoded}` });
  return new Models.Vulnerability.Source();
}

// ---- deterministic serial number: an RFC 4122 version 5 UUID over a canonical form of the input ----

// A namespace of our own for VEX serial numbers (a fixed random UUID).
const SERIAL_NAMESPACE = 'b6f1c7a2-3d4e-4f58-9a6b-7c8d9e0f1a2b';

function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]);
  }
  return value;
}

function uuidV5(name: string): string {
  const namespace = Buffer.from(SERIAL_NAMESPACE.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16);
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `urn:uuid:…`, the same for the same vulnerability and radius (the timestamp is not part of it). */
export function vexSerialNumber(radius: BlastRadius, vulnerability: VexVulnerability): string {
  return `urn:uuid:${uuidV5(JSON.stringify(canonical({ vulnerability, radius })))}`;
}

// ---- the document ----

function mergeReleases(releases: readonly AffectedRelease[]): { release: AffectedRelease; purl: string }[] {
  const byPurl = new Map<string, { release: AffectedRelease; purl: string }>();
  for (const release of releases) {
    const purl = npmPurl(release);
    const found = byPurl.get(purl);
    if (found) found.release = { ...found.release, reasons: [...found.release.reasons, ...release.reasons] };
    else byPurl.set(purl, { release, purl });
  }
  return [...byPurl.values()];
}

function analysisOf(radius: BlastRadius, entries: { release: AffectedRelease }[]): Models.Vulnerability.Analysis {
  const lines = entries.map(({ release }) => `${releaseKey(release)}: ${release.reasons.map((r) => describeReason(release, r)).join('; ') || 'no reason recorded'}`);
  if (radius.overBroad !== undefined) {
    return new Models.Vulnerability.Analysis({
      state: Enums.Vulnerability.AnalysisState.InTriage,
      detail: [`Over-broad: ${radius.overBroad}. Not acted on automatically; escalated to a human.`, ...lines].join('\n'),
    });
  }
  if (entries.length === 0) {
    return new Models.Vulnerability.Analysis({
      state: Enums.Vulnerability.AnalysisState.InTriage,
      detail: `No release of ours matched (${radius.indexedReleases} indexed). This is not a statement that none is affected.`,
    });
  }
  // A suspect publisher alone (no provenance, another workflow) is a finding to confirm, not malware found.
  if (entries.every(({ release }) => release.reasons.length > 0 && release.reasons.every((r) => r.kind === 'publisher'))) {
    return new Models.Vulnerability.Analysis({
      state: Enums.Vulnerability.AnalysisState.InTriage,
      detail: [`Suspect publisher, not confirmed malicious, for ${entries.length} of our releases:`, ...lines].join('\n'),
    });
  }
  return new Models.Vulnerability.Analysis({
    state: Enums.Vulnerability.AnalysisState.Exploitable,
    detail: [`Malicious code in ${entries.length} of our releases:`, ...lines].join('\n'),
  });
}

/** The blast radius as a CycloneDX VEX: the Bom and its JSON text. Throws VexInputError on a missing id or a bad `now`. */
export function buildVex(radius: BlastRadius, vulnerability: VexVulnerability, options: VexOptions): VexDocument {
  const specVersion = options.specVersion ?? '1.6';
  const spec = specs[specVersion];
  if (!spec) throw new VexInputError(`CycloneDX ${String(specVersion)} is not a VEX version we write (1.5 or 1.6)`);
  if (vulnerability.id.trim() === '') throw new VexInputError('the vulnerability needs an id');
  const timestamp = instant(options.now, 'now');
  const warnings: string[] = [];

  const entries = mergeReleases(radius.releases);
  const components = entries.map(({ release, purl }) => {
    const { namespace, name } = splitName(release.name);
    return new Models.Component(Enums.ComponentType.Library, name, {
      bomRef: purl,
      purl,
      version: release.version,
      ...(namespace === undefined ? {} : { group: namespace }),
      properties: new Models.PropertyRepository(release.reasons.map((r) => new Models.Property(`${PROPERTY_PREFIX}reason`, describeReason(release, r)))),
    });
  });

  const advisories = new Models.Vulnerability.AdvisoryRepository();
  for (const reference of vulnerability.references ?? []) {
    const url = httpUrl(reference);
    if (url) advisories.add(new Models.Vulnerability.Advisory(url));
    else warnings.push(`reference ${JSON.stringify(reference)} left out: not an http(s) URL`);
  }
  const aliases = new Models.Vulnerability.ReferenceRepository(
    (vulnerability.aliases ?? []).filter((a) => a.trim() !== '' && a !== vulnerability.id).map((a) => new Models.Vulnerability.Reference(a, aliasSource(a))),
  );

  let source: Models.Vulnerability.Source | undefined;
  if (vulnerability.source) {
    const url = vulnerability.source.url === undefined ? undefined : httpUrl(vulnerability.source.url);
    if (vulnerability.source.url !== undefined && !url) warnings.push(`source URL ${JSON.stringify(vulnerability.source.url)} left out: not an http(s) URL`);
    if (vulnerability.source.name !== undefined || url) source = new Models.Vulnerability.Source({ name: vulnerability.source.name, url });
  }

  let published: Date | undefined;
  if (vulnerability.published !== undefined) {
    try {
      published = instant(vulnerability.published, 'published');
    } catch (e) {
      warnings.push(`${(e as Error).message}: left out`);
    }
  }

  const properties = new Models.PropertyRepository([
    new Models.Property(`${PROPERTY_PREFIX}query`, radius.query),
    new Models.Property(`${PROPERTY_PREFIX}indexed-releases`, String(radius.indexedReleases)),
    ...(radius.overBroad === undefined ? [] : [new Models.Property(`${PROPERTY_PREFIX}over-broad`, radius.overBroad)]),
    ...radius.warnings.map((w) => new Models.Property(`${PROPERTY_PREFIX}warning`, w)),
  ]);

  const vuln = new Models.Vulnerability.Vulnerability({
    // Not a purl, so it never meets a component's bom-ref; set so that the serializer invents none.
    bomRef: `vulnerability:${vulnerability.id}`,
    id: vulnerability.id,
    source,
    description: vulnerability.description,
    references: aliases,
    advisories,
    published,
    analysis: analysisOf(radius, entries),
    affects: new Models.Vulnerability.AffectRepository(
      components.map(
        (c) =>
          new Models.Vulnerability.Affect(c.bomRef, {
            versions: new Models.Vulnerability.AffectedVersionRepository([
              new Models.Vulnerability.AffectedSingleVersion(c.version ?? '', { status: Enums.Vulnerability.AffectStatus.Affected }),
            ]),
          }),
      ),
    ),
    properties,
  });

  const tool = new Models.Component(Enums.ComponentType.Application, TOOL_NAME, options.toolVersion === undefined ? {} : { version: options.toolVersion });
  const serialNumber = vexSerialNumber(radius, vulnerability);
  const bom = new Models.Bom({
    serialNumber,
    metadata: new Models.Metadata({ timestamp, tools: new Models.Tools({ components: new Models.ComponentRepository([tool]) }) }),
    components: new Models.ComponentRepository(components),
    vulnerabilities: new Models.Vulnerability.VulnerabilityRepository([vuln]),
  });
  return { bom, json: serializeVex(bom, specVersion), specVersion, serialNumber, warnings };
}

/**
 * The JSON text of a VEX Bom. `<`, U+2028 and U+2029 can only occur inside JSON strings; written as \u escapes
 * they parse back the same, and the text can sit in an HTML <script> or a JS source without `</script>` or a
 * line break ending it early.
 */
export function serializeVex(bom: Models.Bom, specVersion: VexSpecVersion = '1.6'): string {
  const serializer = new Serialize.JsonSerializer(new Serialize.JSON.Normalize.Factory(specs[specVersion]));
  return serializer
    .serialize(bom, { sortLists: true, space: 2 })
    .replace(/[<\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
