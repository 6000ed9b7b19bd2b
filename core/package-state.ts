// What the registry says about one package, reduced to what containment decides on.
export interface PackageState {
  name: string;
  versions: string[];
  distTags: Record<string, string>;
  /** version -> deprecation message, for deprecated versions only. */
  deprecated: Record<string, string>;
}

interface PackumentLike {
  name?: unknown;
  versions?: Record<string, { deprecated?: unknown } | undefined>;
  'dist-tags'?: Record<string, unknown>;
}

/** Reduces a packument (the registry's JSON document for a package) to a PackageState. */
export function packageStateFromPackument(name: string, packument: PackumentLike): PackageState {
  const versions = Object.keys(packument.versions ?? {});
  const deprecated: Record<string, string> = {};
  for (const version of versions) {
    const message = packument.versions?.[version]?.deprecated;
    if (typeof message === 'string' && message !== '') deprecated[version] = message;
  }
  const distTags: Record<string, string> = {};
  for (const [tag, version] of Object.entries(packument['dist-tags'] ?? {})) {
    if (typeof version === 'string') distTags[tag] = version;
  }
  return { name, versions, distTags, deprecated };
}
