// A CycloneDX SBOM of one of our releases, validated against the CycloneDX library's own JSON schemas and
// reduced to what the blast-radius index keeps: the release it describes and every npm component in
// it, with its shortest dependency path from the release. SBOMs come from CI and from people: nothing
// of a document that does not validate is kept.
import { createHash } from 'node:crypto';
import type { ErrorObject } from 'ajv';
import { PackageURL } from 'packageurl-js';
import sjson from 'secure-json-parse';
import * as semver from 'semver';
import validatePackageName from 'validate-npm-package-name';
import { validateCyclonedx } from './cyclonedx-schema';
import { releaseKey, type ReleaseComponent, type ReleaseIndexWriter, type ReleaseRef, type ReleaseSbom } from './release-index';
import { printable } from './spec';

export class SbomRejection extends Error {
  override name = 'SbomRejection';
}

/** The CycloneDX versions accepted: 1.4 introduced the shape npm and cyclonedx-npm emit; older ones lack it. */
export const ACCEPTED_SPEC_VERSIONS = ['1.4', '1.5', '1.6', '1.7'] as const;
type AcceptedSpecVersion = (typeof ACCEPTED_SPEC_VERSIONS)[number];
const isAccepted = (v: unknown): v is AcceptedSpecVersion => ACCEPTED_SPEC_VERSIONS.some((a) => a === v);

export interface ParsedSbom {
  sbom: ReleaseSbom;
  /** Things in the document reported and left out (bad purls, components the graph does not reach). */
  warnings: string[];
}

export interface ParseOptions {
  /** The release the caller says this SBOM is for; must agree with the document when it names one. */
  release?: ReleaseRef;
}

function describeValidationError(issues: readonly ErrorObject[]): string {
  return issues
    .slice(0, 3)
    .map((i) => printable(`${i.instancePath !== '' ? i.instancePath : '(document)'} ${i.message ?? 'is invalid'}`))
    .join('; ');
}

interface CdxComponent {
  'bom-ref'?: string;
  type?: string;
  group?: string;
  name?: string;
  version?: string;
  purl?: string;
  components?: CdxComponent[];
}

interface CdxDocument {
  bomFormat?: unknown;
  specVersion?: unknown;
  serialNumber?: string;
  metadata?: { component?: CdxComponent };
  components?: CdxComponent[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

type Identity = { ok: true; name: string; version: string; purl: string } | { ok: false; problem: string } | { ok: false; skip: true };

function npmName(group: string | undefined, name: string): string {
  if (!group) return name;
  return `${group.startsWith('@') ? group : `@${group}`}/${name}`;
}

function validNpmName(name: string): boolean {
  const v = validatePackageName(name);
  return v.validForOldPackages;
}

/** The npm package a component is, from its purl when it has one (the purl is what scanners match on). */
function identify(component: CdxComponent): Identity {
  const label = printable(component.purl ?? component['bom-ref'] ?? component.name ?? '(unnamed)');
  if (component.purl !== undefined) {
    let purl: PackageURL;
    try {
      purl = PackageURL.fromString(component.purl);
    } catch (error) {
      return { ok: false, problem: `${label}: bad purl (${printable(error instanceof Error ? error.message : String(error))})` };
    }
    // Other ecosystems (a vendored binary, a GitHub action) are not what npm alerts are about.
    if (purl.type !== 'npm') return { ok: false, skip: true };
    const name = purl.namespace ? `${purl.namespace}/${purl.name}` : purl.name;
    const version = purl.version ?? component.version;
    if (!validNpmName(name)) return { ok: false, problem: `${label}: "${printable(name)}" is not an npm package name` };
    if (!version || !semver.valid(version)) return { ok: false, problem: `${label}: no exact version` };
    if (component.version !== undefined && component.version !== version) {
      return { ok: false, problem: `${label}: purl version ${printable(version)} differs from the component's ${printable(component.version)}` };
    }
    return { ok: true, name, version, purl: component.purl };
  }
  if (!component.name || !component.version) return { ok: false, problem: `${label}: no purl, name or version` };
  const name = npmName(component.group, component.name);
  if (!validNpmName(name) || !semver.valid(component.version)) return { ok: false, skip: true };
  const purl = new PackageURL('npm', name.startsWith('@') ? name.split('/')[0] : undefined, name.startsWith('@') ? name.split('/')[1] ?? '' : name, component.version, undefined, undefined).toString();
  return { ok: true, name, version: component.version, purl };
}

function flatten(components: CdxComponent[] | undefined, out: CdxComponent[] = []): CdxComponent[] {
  for (const c of components ?? []) {
    out.push(c);
    flatten(c.components, out);
  }
  return out;
}

function releaseOf(doc: CdxDocument, given: ReleaseRef | undefined): ReleaseRef {
  const root = doc.metadata?.component;
  let named: ReleaseRef | undefined;
  if (root) {
    const id = identify(root);
    if (id.ok) named = { name: id.name, version: id.version };
    else if ('problem' in id) throw new SbomRejection(`metadata.component: ${id.problem}`);
  }
  if (named && given && releaseKey(named) !== releaseKey(given)) {
    throw new SbomRejection(`the SBOM describes ${printable(releaseKey(named))}, not ${printable(releaseKey(given))}`);
  }
  const release = named ?? given;
  if (!release) throw new SbomRejection('the SBOM does not say which release it describes (metadata.component with an npm purl): name it with --release <name>@<version>');
  return release;
}

/**
 * Validates a CycloneDX JSON document and reduces it to the release's components. Throws SbomRejection
 * with the reason (the validator's, for schema errors) when the document is not a usable SBOM.
 */
export async function parseSbom(bytes: Uint8Array | string, options: ParseOptions = {}): Promise<ParsedSbom> {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  const digest = createHash('sha256').update(text).digest('hex');
  if (/^\s*</.test(text)) {
    throw new SbomRejection('XML SBOMs are not accepted here: the CycloneDX library validates XML only with libxmljs2, a native module this install does not build; send the JSON form (npm sbom --sbom-format cyclonedx)');
  }
  let json: unknown;
  try {
    json = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    throw new SbomRejection(`not JSON: ${printable(error instanceof Error ? error.message : String(error))}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new SbomRejection('not a CycloneDX document: expected a JSON object');
  const doc = json as CdxDocument;
  if (doc.bomFormat !== 'CycloneDX') throw new SbomRejection(`not a CycloneDX document: bomFormat is ${printable(JSON.stringify(doc.bomFormat ?? null))}`);
  if (!isAccepted(doc.specVersion)) {
    throw new SbomRejection(`CycloneDX specVersion ${printable(JSON.stringify(doc.specVersion ?? null))} is not accepted (${ACCEPTED_SPEC_VERSIONS.join(', ')})`);
  }
  const invalid = validateCyclonedx(doc.specVersion, json);
  if (invalid !== null) throw new SbomRejection(`invalid CycloneDX ${doc.specVersion}: ${describeValidationError(invalid)}`);

  const release = releaseOf(doc, options.release);
  const warnings: string[] = [];
  const byRef = new Map<string, { name: string; version: string; purl: string }>();
  const found: { ref?: string; id: { name: string; version: string; purl: string } }[] = [];
  let skipped = 0;
  for (const component of flatten(doc.components)) {
    const id = identify(component);
    if (!id.ok) {
      if ('problem' in id) warnings.push(`left out ${id.problem}`);
      else skipped += 1;
      continue;
    }
    found.push({ ref: component['bom-ref'], id });
    if (component['bom-ref'] !== undefined) byRef.set(component['bom-ref'], id);
  }
  if (skipped > 0) warnings.push(`left out ${skipped} component(s) that are not npm packages`);

  // Shortest path from the release to each component, over the document's dependency graph.
  const rootRef = doc.metadata?.component?.['bom-ref'];
  const edges = new Map<string, string[]>();
  for (const d of doc.dependencies ?? []) edges.set(d.ref, d.dependsOn ?? []);
  const parent = new Map<string, string | null>();
  if (rootRef !== undefined) {
    parent.set(rootRef, null);
    const queue = [rootRef];
    for (let i = 0; i < queue.length; i++) {
      const ref = queue[i] as string;
      for (const next of edges.get(ref) ?? []) {
        if (parent.has(next)) continue;
        parent.set(next, ref);
        queue.push(next);
      }
    }
  }
  const label = (ref: string): string => {
    const id = byRef.get(ref);
    return id ? `${id.name}@${id.version}` : ref;
  };
  const rootLabel = releaseKey(release);
  const components = new Map<string, ReleaseComponent>();
  let unreachable = 0;
  for (const { ref, id } of found) {
    if (id.name === release.name && id.version === release.version) continue;
    let path: string[];
    if (ref !== undefined && parent.has(ref)) {
      path = [];
      for (let at: string | null | undefined = ref; at !== null && at !== undefined && at !== rootRef; at = parent.get(at)) path.unshift(label(at));
      path.unshift(rootLabel);
    } else {
      unreachable += 1;
      path = [rootLabel, `${id.name}@${id.version}`];
    }
    const component: ReleaseComponent = { name: id.name, version: id.version, purl: id.purl, direct: path.length === 2 && ref !== undefined && parent.has(ref), path };
    const key = `${id.name}@${id.version}`;
    const seen = components.get(key);
    // npm nests one package at several places: keep the occurrence nearest the release.
    if (!seen || seen.path.length > component.path.length) components.set(key, component);
  }
  if (unreachable > 0) {
    warnings.push(
      doc.dependencies === undefined || rootRef === undefined
        ? 'the SBOM has no dependency graph from the release: paths are unknown and no component is marked direct'
        : `${unreachable} component(s) are not reachable from the release in the dependency graph: their paths are unknown`,
    );
  }
  return {
    sbom: {
      release,
      specVersion: doc.specVersion,
      ...(doc.serialNumber !== undefined ? { serialNumber: doc.serialNumber } : {}),
      digest,
      components: [...components.values()],
    },
    warnings,
  };
}

export interface IngestResult {
  release: ReleaseRef;
  components: number;
  /** new: first SBOM of the release; replaced: an earlier one was swapped out; unchanged: the same bytes again. */
  outcome: 'new' | 'replaced' | 'unchanged';
  warnings: string[];
}

/** Validates, then swaps the release's SBOM in the index in one transaction; a rejection writes nothing. */
export async function ingestSbom(index: ReleaseIndexWriter, bytes: Uint8Array | string, options: ParseOptions = {}): Promise<IngestResult> {
  const { sbom, warnings } = await parseSbom(bytes, options);
  const put = index.putSbom(sbom);
  return { release: sbom.release, components: sbom.components.length, outcome: put.unchanged ? 'unchanged' : put.replaced ? 'replaced' : 'new', warnings };
}
