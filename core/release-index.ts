// What the blast-radius index knows about our releases: the components each release ships (from its
// CycloneDX SBOM) and how each release was built (from its npm provenance). The store behind it is an
// edge (store/); the queries over it are plain functions (core/blast-radius.ts).

/** One of our published releases. */
export interface ReleaseRef {
  name: string;
  version: string;
}

export const releaseKey = (release: ReleaseRef): string => `${release.name}@${release.version}`;

/** A component found in a release's SBOM. */
export interface ReleaseComponent {
  /** The package name as npm knows it (`@scope/name`), from the purl when there is one. */
  name: string;
  version: string;
  purl: string;
  /** True when the release depends on it directly. */
  direct: boolean;
  /**
   * The dependency path from the release to the component, both ends included, as `name@version`;
   * empty when the answer was too large to carry paths (BlastRadius.pathsOmitted).
   */
  path: string[];
}

/**
 * A component as an SBOM delivers it: its dependency path is not spelled out but linked, so that a
 * deep graph costs one link per component instead of one path per component.
 */
export interface SbomComponent extends Omit<ReleaseComponent, 'path'> {
  /**
   * Index (in ReleaseSbom.components, always lower than this component's own) of the component it is
   * reached through on its shortest path from the release; null for a direct dependency, and for a
   * component the graph does not reach (its path is unknown: the release, then itself).
   */
  parent: number | null;
  /** Steps from the release: 1 for a direct dependency (and for an unknown path). */
  depth: number;
}

/** The dependency path of `components[at]`, both ends included, as `name@version`, built from its links. */
export function sbomComponentPath(release: ReleaseRef, components: readonly SbomComponent[], at: number): string[] {
  const path: string[] = [];
  // Parents come first, so a chain is never longer than the list: the bound only guards bad input.
  for (let i: number | null = at; i !== null && path.length <= components.length; i = components[i]?.parent ?? null) {
    const c = components[i];
    if (!c) break;
    path.push(`${c.name}@${c.version}`);
  }
  path.push(releaseKey(release));
  return path.reverse();
}

/** A release's SBOM reduced to what the index keeps. */
export interface ReleaseSbom {
  release: ReleaseRef;
  /** CycloneDX specVersion of the document. */
  specVersion: string;
  /** The document's serialNumber (`urn:uuid:...`), when it has one. */
  serialNumber?: string;
  /** sha256 (hex) of the document's bytes: the same bytes ingested twice are one SBOM. */
  digest: string;
  /** In breadth-first order from the release: a component's parent comes before it. */
  components: SbomComponent[];
}

/**
 * How a release was built, as its npm attestations say. `none`: the registry has no provenance for
 * it (a finding of its own); `invalid`: attestations exist but are tampered or malformed and nothing of
 * them is trusted; `unverified`: well-formed but the signature could not be checked against the trust
 * root (e.g. a key newer than ours); `verified`: signature and subject digest check out, and the signing
 * certificate names the build the provenance claims.
 */
export type ProvenanceStatus = 'verified' | 'unverified' | 'invalid' | 'none';

export interface ReleaseProvenance {
  release: ReleaseRef;
  status: ProvenanceStatus;
  /** Why the status is not `verified`. */
  reason?: string;
  /** When the registry says the version was published (packument `time`), ISO 8601. */
  publishedAt?: string;
  /** The facts below are present for `verified` and `unverified` only: an `invalid` attestation is not believed. */
  repository?: string;
  workflowPath?: string;
  ref?: string;
  commit?: string;
  runId?: string;
  runAttempt?: string;
  builderId?: string;
  predicateType?: string;
}

/** A component occurrence: which release ships which version of a package, and how it got there. */
export interface ComponentOccurrence {
  release: ReleaseRef;
  component: ReleaseComponent;
}

/** What a build query can narrow by; lists are alternatives, given fields must all hold. */
export interface ProvenanceFilter {
  runIds?: string[];
  /** Lower-case hex prefixes (7 to 40 digits). */
  commitPrefixes?: string[];
  /** Workflow file paths (`.github/workflows/release.yml`), without the repository. */
  workflowPaths?: string[];
  /** Publish time window, epoch milliseconds, inclusive. */
  since?: number;
  until?: number;
}

/** What the queries read. Implementations: store/sqlite-store.ts (embedded default). */
export interface ReleaseIndexReader {
  /** The versions of the package `name` that any of our releases contains. */
  componentVersions(name: string): string[];
  /** How many occurrences occurrencesOf would return, without reading them. */
  countOccurrences(name: string, versions: readonly string[]): number;
  /** Every occurrence of those versions of `name` across our releases; with `paths: false`, each path is left empty. */
  occurrencesOf(name: string, versions: readonly string[], options?: { paths?: boolean }): ComponentOccurrence[];
  /**
   * Provenance records: every one, or, given a filter, at least those that can match it (an index may
   * narrow by run, commit, workflow or publish time; the caller still checks each record).
   */
  provenance(filter?: ProvenanceFilter): ReleaseProvenance[];
  /** Every release the index knows (by SBOM or by provenance). */
  releases(): ReleaseRef[];
  /** How many releases the index knows, without listing them. */
  releaseCount(): number;
}

export interface ReleaseIndexWriter {
  /** Replaces the release's SBOM atomically: afterwards the index holds exactly these components for it. */
  putSbom(sbom: ReleaseSbom): { replaced: boolean; unchanged: boolean };
  /** Replaces the release's provenance record. */
  putProvenance(record: ReleaseProvenance): void;
}

/** What a provenance sync asks before reading the registry: records are immutable, so a recorded version is not read again. */
export interface ProvenanceRecords {
  /** The versions of our package `name` that have a provenance record, with its status. */
  recordedProvenance(name: string): { version: string; status: ProvenanceStatus }[];
}

export interface ReleaseIndex extends ReleaseIndexReader, ReleaseIndexWriter, ProvenanceRecords {
  close(): void;
}
