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
import { releaseKey, type ReleaseIndexWriter, type ReleaseRef, type ReleaseSbom, type SbomComponent } from './release-index';
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
  /** Caps other than SBOM_LIMITS (tests, benchmarks). */
  limits?: Partial<SbomLimits>;
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

/**
 * What one SBOM may hold. An SBOM is signed by CI, but a compromised CI signs whatever it is given: the
 * caps keep one document from costing the intake or the index more than a large real one does.
 */
export interface SbomLimits {
  /** Components in the document, nested ones included. The largest monorepos list a few thousand. */
  components: number;
  /** Steps from the release to any component (shortest path), and levels of nested components. npm trees are a few dozen deep. */
  depth: number;
  /** Entries of all the dependency paths the index keeps for the release (the sum of the components' depths). */
  pathEntries: number;
}

export const SBOM_LIMITS: Readonly<SbomLimits> = { components: 50_000, depth: 100, pathEntries: 1_000_000 };

const count = (n: number): string => n.toLocaleString('en-US');

/**
 * The document's components, nested ones included, in document order. Walked before the schema is
 * checked (the cap is cheaper than validating what it refuses), so nothing here trusts the shape.
 */
function flatten(components: unknown, limits: SbomLimits): CdxComponent[] {
  const out: CdxComponent[] = [];
  // An explicit stack: nesting is attacker-chosen, the call stack is not the place to follow it.
  const stack: { list: unknown[]; next: number }[] = Array.isArray(components) ? [{ list: components, next: 0 }] : [];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.list.length) {
      stack.pop();
      continue;
    }
    const component = top.list[top.next++];
    if (typeof component !== 'object' || component === null) continue;
    out.push(component as CdxComponent);
    if (out.length > limits.components) throw new SbomRejection(`the SBOM lists more than ${count(limits.components)} components: at most ${count(limits.components)} are accepted`);
    const nested = (component as { components?: unknown }).components;
    if (Array.isArray(nested) && nested.length > 0) {
      if (stack.length >= limits.depth) throw new SbomRejection(`the SBOM nests components more than ${count(limits.depth)} levels deep: at most ${count(limits.depth)} levels are accepted`);
      stack.push({ list: nested, next: 0 });
    }
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
  const limits: SbomLimits = { ...SBOM_LIMITS, ...options.limits };
  if (!isAccepted(doc.specVersion)) {
    throw new SbomRejection(`CycloneDX specVersion ${printable(JSON.stringify(doc.specVersion ?? null))} is not accepted (${ACCEPTED_SPEC_VERSIONS.join(', ')})`);
  }
  const all = flatten(doc.components, limits);
  const invalid = validateCyclonedx(doc.specVersion, json);
  if (invalid !== null) throw new SbomRejection(`invalid CycloneDX ${doc.specVersion}: ${describeValidationError(invalid)}`);

  const release = releaseOf(doc, options.release);
  const isRelease = (id: { name: string; version: string }): boolean => id.name === release.name && id.version === release.version;
  const warnings: string[] = [];
  type Found = { ref?: string; id: { name: string; version: string; purl: string } };
  const byRef = new Map<string, Found>();
  const found: Found[] = [];
  let skipped = 0;
  for (const component of all) {
    const id = identify(component);
    if (!id.ok) {
      if ('problem' in id) warnings.push(`left out ${id.problem}`);
      else skipped += 1;
      continue;
    }
    const entry: Found = { ref: component['bom-ref'], id };
    found.push(entry);
    if (entry.ref !== undefined) byRef.set(entry.ref, entry);
  }
  if (skipped > 0) warnings.push(`left out ${skipped} component(s) that are not npm packages`);

  // Breadth first from the release: the first time a ref is reached, it is along a shortest path.
  // Each ref keeps a link to the ref it was reached from, never a path: a deep graph costs a link per
  // component, and a path is spelled out only when a query asks for it.
  const rootRef = doc.metadata?.component?.['bom-ref'];
  const edges = new Map<string, string[]>();
  for (const d of doc.dependencies ?? []) edges.set(d.ref, d.dependsOn ?? []);
  const reachedFrom = new Map<string, string | null>();
  const reached: string[] = [];
  if (rootRef !== undefined) {
    reachedFrom.set(rootRef, null);
    reached.push(rootRef);
    let levelEnd = 1;
    let depth = 0;
    for (let i = 0; i < reached.length; i++) {
      if (i === levelEnd) {
        depth += 1;
        levelEnd = reached.length;
      }
      const ref = reached[i]!;
      for (const next of edges.get(ref) ?? []) {
        if (reachedFrom.has(next)) continue;
        if (depth + 1 > limits.depth) {
          const id = byRef.get(next)?.id;
          throw new SbomRejection(
            `${printable(id ? `${id.name}@${id.version}` : next)} is more than ${count(limits.depth)} dependencies away from the release (shortest path): at most ${count(limits.depth)} levels are accepted`,
          );
        }
        reachedFrom.set(next, ref);
        reached.push(next);
      }
    }
  }

  // One component per name@version (npm nests one package at several places): the occurrence nearest
  // the release, reached first. Its parent is the component its path runs through; a ref that is not
  // one of the release's npm components (another ecosystem, a bad purl, the release itself) is passed
  // through, so the path names only what the index knows.
  const components: SbomComponent[] = [];
  const kept = new Map<string, number>();
  const anchorOf = new Map<string, number | null>();
  let pathEntries = 0;
  const keep = (id: Found['id'], parent: number | null, direct: boolean): number => {
    const depth = parent === null ? 1 : components[parent]!.depth + 1;
    pathEntries += depth;
    if (pathEntries > limits.pathEntries) {
      throw new SbomRejection(`the dependency paths of the SBOM's components add up to more than ${count(limits.pathEntries)} entries: at most ${count(limits.pathEntries)} are kept for one release`);
    }
    components.push({ name: id.name, version: id.version, purl: id.purl, direct, parent, depth });
    return components.length - 1;
  };
  for (let i = 0; i < reached.length; i++) {
    const ref = reached[i]!;
    const from = reachedFrom.get(ref);
    const parent = from === null || from === undefined ? null : (anchorOf.get(from) ?? null);
    const entry = byRef.get(ref);
    if (i === 0 || !entry || isRelease(entry.id)) {
      anchorOf.set(ref, parent);
      continue;
    }
    const key = `${entry.id.name}@${entry.id.version}`;
    let at = kept.get(key);
    if (at === undefined) kept.set(key, (at = keep(entry.id, parent, from === rootRef)));
    anchorOf.set(ref, at);
  }
  let unreachable = 0;
  for (const entry of found) {
    if (isRelease(entry.id)) continue;
    if (entry.ref !== undefined && reachedFrom.has(entry.ref) && byRef.get(entry.ref) === entry) continue;
    unreachable += 1;
    const key = `${entry.id.name}@${entry.id.version}`;
    if (!kept.has(key)) kept.set(key, keep(entry.id, null, false));
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
      components,
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
