// A synthetic fleet of our releases for the blast-radius bench: deterministic (seeded), generated one
// SBOM at a time so that 10,000 documents of ~1,000 components never sit in memory together.
//
// The shape follows what a real fleet looks like to the index:
// - a universe of npm packages with a popularity skew (Zipf: a hundred or so in nearly every release,
//   a long tail each in a handful), scoped and unscoped names, several versions each, published over
//   time, occasionally a prerelease;
// - a few dozen of our packages (`@acme/pkg-<i>`), each with its own stable set of dependencies (some
//   added or dropped over its history), releasing many versions over the fleet's time span; a release
//   resolves each dependency to the newest version published before it (minus a per-package staleness),
//   keeps an older copy of some popular ones nested deeper (npm's duplicates), and sometimes depends on
//   one of our other packages;
// - a dependency tree up to depth 6 (direct dependencies a few dozen, leaf utilities deep), with extra
//   edges (a package required from two places), as `npm sbom --sbom-format cyclonedx --package-lock-only`
//   prints it: CycloneDX 1.5, metadata.component with a purl, components sorted by bom-ref with hashes
//   and licenses, and a `dependencies` entry for every node;
// - provenance for every release: trusted publishing from a monorepo workflow (runs that publish several
//   packages at once) or a per-package repository; older releases without provenance; a few unverified,
//   invalid, or from an unexpected workflow.
import { createHash } from 'node:crypto';
import type { ReleaseProvenance, ReleaseRef } from '../core/release-index';

// ---- deterministic randomness ------------------------------------------------------------------

const round = (h: number, x: number): number => {
  let k = Math.imul(x | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
};

/** A 32-bit hash of a few integers: choices that must not depend on the order things are generated in. */
export function hash(seed: number, a: number, b = 0, c = 0, d = 0): number {
  let h = round(round(round(round(round(0x3c6ef372, seed), a), b), c), d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const unit = (h: number): number => h / 4294967296;

/** A seeded stream of numbers in [0, 1). */
export class Rng {
  private n = 0;
  constructor(
    private readonly seed: number,
    private readonly stream: number,
  ) {}
  next(): number {
    return unit(hash(this.seed, this.stream, this.n++, 0x5eed));
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from nothing');
    return xs[this.int(xs.length)]!;
  }
}

// ---- the universe of npm packages --------------------------------------------------------------

const WORDS = [
  'fast', 'tiny', 'micro', 'json', 'yaml', 'http', 'stream', 'path', 'glob', 'color', 'ansi', 'string', 'array', 'object',
  'deep', 'merge', 'parse', 'format', 'date', 'time', 'uuid', 'crypto', 'hash', 'buffer', 'event', 'emitter', 'promise',
  'async', 'queue', 'cache', 'lru', 'config', 'env', 'log', 'debug', 'trace', 'mock', 'react', 'vue', 'dom', 'css', 'style',
  'query', 'route', 'router', 'server', 'client', 'proxy', 'socket', 'web', 'fetch', 'retry', 'util', 'core', 'kit', 'lite',
  'node', 'cli', 'args', 'flag', 'semver', 'range', 'tree', 'graph', 'walk', 'fs', 'file', 'zip', 'tar', 'image', 'icon',
  'font', 'text', 'diff', 'patch', 'lint', 'type', 'schema', 'valid', 'check', 'escape', 'regex', 'base64', 'url', 'mime',
];
const SCOPES = ['@babel', '@types', '@eslint', '@jest', '@swc', '@aws-sdk', '@smithy', '@octokit', '@sinclair', '@radix-ui', '@floating-ui', '@opentelemetry', '@tanstack', '@rollup', '@esbuild', '@noble'];
const LICENSES = ['MIT', 'MIT', 'MIT', 'ISC', 'Apache-2.0', 'BSD-3-Clause', 'BSD-2-Clause', '0BSD'];
const NEARLY_ALWAYS = 0.97;
const MAX_DEPTH = 6;

export interface UniversePackage {
  name: string;
  purlName: string;
  license: string;
  /** Probability that one of our packages depends on it. */
  popularity: number;
  /** Its usual depth in a tree (1: a direct dependency; 6: a leaf utility). */
  level: number;
  versions: string[];
  /** When each version was published, on the fleet's time axis (the fleet spans [0, 1]). */
  times: number[];
  fragments: (string | undefined)[];
  /** How many releases contain each version; and any version. */
  seen: Int32Array;
  releases: number;
  lastRelease: number;
}

function uniqueNames(count: number, rng: Rng): string[] {
  const names = new Set<string>();
  while (names.size < count) {
    const shape = rng.next();
    let base = shape < 0.45 ? `${rng.pick(WORDS)}-${rng.pick(WORDS)}` : shape < 0.7 ? `${rng.pick(WORDS)}${rng.pick(WORDS)}` : shape < 0.9 ? `${rng.pick(WORDS)}-${rng.pick(WORDS)}-${rng.pick(WORDS)}` : rng.pick(WORDS);
    if (names.has(base) || rng.chance(0.15)) base = `${base}${rng.chance(0.5) ? '-' : ''}${rng.int(100)}`;
    const name = rng.chance(0.18) ? `${rng.pick(SCOPES)}/${base}` : base;
    names.add(name);
  }
  return [...names];
}

/** A version history: mostly patches, some minors, rare majors; now and then a prerelease before a release. */
function versionHistory(count: number, rng: Rng): string[] {
  let major = rng.chance(0.3) ? 0 : 1 + rng.int(6);
  let minor = rng.int(8);
  let patch = rng.int(5);
  const out: string[] = [];
  while (out.length < count) {
    const bump = rng.next();
    if (bump < 0.04) {
      major += 1;
      minor = 0;
      patch = 0;
      if (rng.chance(0.35) && out.length < count - 1) out.push(`${major}.0.0-${rng.chance(0.5) ? 'beta' : 'rc'}.${rng.int(3)}`);
    } else if (bump < 0.25) {
      minor += 1;
      patch = 0;
    } else {
      patch += 1;
    }
    out.push(`${major}.${minor}.${patch}`);
  }
  return out;
}

// ---- our packages and releases -----------------------------------------------------------------

interface Dependency {
  u: number;
  /** The part of the package's history in which it depends on u. */
  from: number;
  to: number;
  /** How stale its pin is, in fleet time. */
  lag: number;
  /** Also ships an older copy nested under another package. */
  nestedOld: boolean;
}

interface OurPackage {
  name: string;
  deps: Dependency[];
  acmeDeps: number[];
  monorepo: boolean;
  repository: string;
  workflowPath: string;
  released: string[];
  semver: [number, number, number];
}

export interface FleetRelease extends ReleaseRef {
  text: string;
  components: number;
  provenance: ReleaseProvenance;
}

export interface FleetOptions {
  sboms: number;
  components: number;
  packages: number;
  seed: number;
}

const FLEET_START = Date.parse('2023-01-01T00:00:00Z');
const FLEET_SPAN_MS = 900 * 24 * 3600 * 1000;
/** A release dropping one of its usual dependencies now and then (a refactor, an optional one). */
const DROP = 0.01;
const MONOREPO = 'https://github.com/acme/platform';
const MONOREPO_WORKFLOW = '.github/workflows/release.yml';

const hex = (seed: number, a: number, b: number, chars: number): string => {
  let out = '';
  for (let k = 0; out.length < chars; k++) out += hash(seed, a, b, k, 0x4e).toString(16).padStart(8, '0');
  return out.slice(0, chars);
};

export class Fleet {
  readonly universe: UniversePackage[];
  readonly ours: OurPackage[];
  readonly releases: { name: string; version: string; time: number; provenance: ReleaseProvenance }[] = [];
  private readonly releasePackage: Int32Array;
  private readonly seed: number;

  constructor(readonly options: FleetOptions) {
    this.seed = options.seed;
    const rng = new Rng(this.seed, 1);
    const size = Math.max(2000, options.components * 20);
    const names = uniqueNames(size, rng);

    // Zipf popularity, scaled so that a release has about `components` components.
    const scale = this.calibrate(size, options.components);
    this.universe = names.map((name, rank) => {
      const popularity = Math.min(NEARLY_ALWAYS, scale / (rank + 1));
      const count = 2 + rng.int(popularity > 0.3 ? 26 : popularity > 0.02 ? 14 : 6);
      const versions = versionHistory(count, rng);
      // Versions are published over [-1, 1]: some before the fleet starts, the rest during it.
      const times = versions.map(() => rng.next() * 2 - 1).sort((a, b) => a - b);
      // Popular packages are mostly small utilities deep in the tree; direct dependencies are a few dozen.
      const x = unit(hash(this.seed, 3, rank));
      const level = rank < 1000 ? 2 + Math.floor(x * (MAX_DEPTH - 1)) : 1 + [0.04, 0.16, 0.38, 0.64, 0.84, 1].findIndex((edge) => x < edge);
      const [scope, bare] = name.startsWith('@') ? name.split('/') : [undefined, name];
      return {
        name,
        purlName: scope ? `%40${scope.slice(1)}/${bare ?? ''}` : name,
        license: LICENSES[rank % LICENSES.length]!,
        popularity,
        level,
        versions,
        times,
        fragments: versions.map(() => undefined),
        seen: new Int32Array(versions.length),
        releases: 0,
        lastRelease: -1,
      };
    });

    this.ours = Array.from({ length: options.packages }, (_, i) => {
      const own = 0.7 + unit(hash(this.seed, 5, i)) * 0.6;
      const deps: Dependency[] = [];
      this.universe.forEach((pkg, u) => {
        if (unit(hash(this.seed, 11, i, u)) >= pkg.popularity * own) return;
        const windowed = pkg.popularity < 0.5 && unit(hash(this.seed, 12, i, u)) < 0.4;
        const from = windowed ? unit(hash(this.seed, 13, i, u)) * 1.4 - 0.4 : -Infinity;
        const to = windowed ? from + 0.2 + unit(hash(this.seed, 14, i, u)) * 0.8 : Infinity;
        deps.push({ u, from, to, lag: unit(hash(this.seed, 15, i, u)) * 0.25, nestedOld: pkg.popularity > 0.3 && unit(hash(this.seed, 16, i, u)) < 0.08 });
      });
      const monorepo = i % 2 === 0;
      const acmeDeps = [...new Set([0, 1].filter(() => i > 0 && rng.chance(0.4)).map(() => rng.int(i)))];
      return {
        name: `@acme/pkg-${i}`,
        deps,
        acmeDeps,
        monorepo,
        repository: monorepo ? MONOREPO : `https://github.com/acme/pkg-${i}`,
        workflowPath: monorepo ? MONOREPO_WORKFLOW : '.github/workflows/publish.yml',
        released: [],
        semver: [rng.chance(0.3) ? 0 : 1, rng.int(4), 0],
      };
    });

    // Which package each release is: some release much more often than others.
    const weights = this.ours.map((_, i) => 0.2 + unit(hash(this.seed, 6, i)) * 2);
    const total = weights.reduce((a, b) => a + b, 0);
    this.releasePackage = new Int32Array(options.sboms);
    for (let j = 0; j < options.sboms; j++) {
      let x = rng.next() * total;
      let i = 0;
      while (i < weights.length - 1 && x >= weights[i]!) x -= weights[i++]!;
      this.releasePackage[j] = i;
    }
  }

  /** The Zipf scale at which a release has `target` components on average (windows, drops and duplicates included). */
  private calibrate(size: number, target: number): number {
    // Mean covered fraction of the fleet's span for a windowed dependency, by the same draws as the packages use.
    const w = new Rng(this.seed, 2);
    let covered = 0;
    const samples = 4000;
    for (let k = 0; k < samples; k++) {
      const from = w.next() * 1.4 - 0.4;
      const to = from + 0.2 + w.next() * 0.8;
      covered += Math.max(0, Math.min(1, to) - Math.max(0, from));
    }
    const windowCoverage = 0.6 + 0.4 * (covered / samples);
    const expected = (scale: number): number => {
      let sum = 0;
      for (let rank = 0; rank < size; rank++) {
        const p = Math.min(NEARLY_ALWAYS, scale / (rank + 1));
        sum += p * (p < 0.5 ? windowCoverage : 1) * (1 - DROP) + (p > 0.3 ? p * 0.08 : 0);
      }
      return sum;
    };
    let lo = 0;
    let hi = target;
    for (let k = 0; k < 50; k++) {
      const mid = (lo + hi) / 2;
      if (expected(mid) < target) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  }

  /** The newest version of u published by `time`; a prerelease only sometimes (npm picks one only when pinned). */
  private versionAt(u: number, time: number, salt: number): number {
    const { times, versions } = this.universe[u]!;
    let lo = 0;
    let hi = times.length - 1;
    let found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! <= time) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found > 0 && versions[found]!.includes('-') && unit(hash(this.seed, 17, u, salt)) < 0.85) found -= 1;
    return found;
  }

  /** One component as npm sbom prints it, cached per package version (everything in it is fixed by them). */
  private fragment(u: number, vi: number): string {
    const pkg = this.universe[u]!;
    const cached = pkg.fragments[vi];
    if (cached !== undefined) return cached;
    const version = pkg.versions[vi]!;
    const text = JSON.stringify({
      'bom-ref': `${pkg.name}@${version}`,
      type: 'library',
      name: pkg.name,
      version,
      scope: 'required',
      purl: `pkg:npm/${pkg.purlName}@${version}`,
      properties: [],
      externalReferences: [],
      hashes: [{ alg: 'SHA-512', content: createHash('sha512').update(`${pkg.name}@${version}`).digest('hex') }],
      licenses: [{ license: { id: pkg.license } }],
    });
    pkg.fragments[vi] = text;
    return text;
  }

  private nextVersion(pkg: OurPackage, j: number): string {
    const bump = unit(hash(this.seed, 21, j));
    const v = pkg.semver;
    if (pkg.released.length > 0) {
      if (bump < 0.02) pkg.semver = [v[0] + 1, 0, 0];
      else if (bump < 0.2) pkg.semver = [v[0], v[1] + 1, 0];
      else pkg.semver = [v[0], v[1], v[2] + 1];
    }
    return pkg.semver.join('.');
  }

  private provenanceOf(release: ReleaseRef, pkg: OurPackage, j: number, time: number): ReleaseProvenance {
    const publishedAt = new Date(FLEET_START + time * FLEET_SPAN_MS + (hash(this.seed, 31, j) % 600_000)).toISOString();
    const x = unit(hash(this.seed, 32, j));
    // Trusted publishing came in a tenth of the way through the fleet's history.
    if (time < 0.1) return { release, status: 'none', reason: 'the registry has no attestations for this version', publishedAt };
    // Monorepo runs publish the packages released around the same time together.
    const runId = pkg.monorepo ? String(7_000_000_000 + Math.floor(time * this.options.sboms * 0.4)) : String(8_000_000_000 + j);
    const facts = {
      repository: pkg.repository,
      workflowPath: x < 0.003 ? '.github/workflows/ci.yml' : pkg.workflowPath,
      ref: `refs/tags/${pkg.monorepo ? `${release.name.replace('@acme/', '')}-` : ''}v${release.version}`,
      commit: hex(this.seed, 33, pkg.monorepo ? Number(runId) % 1_000_000_007 : j, 40),
      runId,
      runAttempt: x > 0.97 ? '2' : '1',
      builderId: 'https://github.com/actions/runner/github-hosted',
      predicateType: 'https://slsa.dev/provenance/v1',
    };
    if (x > 0.996) return { release, status: 'invalid', reason: 'subject digest does not match dist.integrity', publishedAt };
    if (x > 0.99) return { release, status: 'unverified', reason: 'signed by a key the trust root does not know', publishedAt, ...facts };
    return { release, status: 'verified', publishedAt, ...facts };
  }

  /** Release j (0-based, in publication order): its SBOM as text and its provenance. Call in order. */
  release(j: number): FleetRelease {
    const i = this.releasePackage[j]!;
    const pkg = this.ours[i]!;
    const time = (j + 0.5) / this.options.sboms;
    const version = this.nextVersion(pkg, j);
    pkg.released.push(version);
    const release = { name: pkg.name, version };
    const rootRef = `${pkg.name}@${version}`;

    interface Node {
      ref: string;
      fragment: string;
      level: number;
    }
    const nodes: Node[] = [];
    const count = (u: number, vi: number): void => {
      const p = this.universe[u]!;
      p.seen[vi] = p.seen[vi]! + 1;
      if (p.lastRelease !== j) {
        p.lastRelease = j;
        p.releases += 1;
      }
    };
    for (const dep of pkg.deps) {
      if (time < dep.from || time >= dep.to) continue;
      if (unit(hash(this.seed, 18, j, dep.u)) < DROP) continue;
      const u = this.universe[dep.u]!;
      const vi = this.versionAt(dep.u, time - dep.lag, i);
      nodes.push({ ref: `${u.name}@${u.versions[vi]!}`, fragment: this.fragment(dep.u, vi), level: u.level });
      count(dep.u, vi);
      if (dep.nestedOld && vi > 0) {
        const old = Math.max(0, vi - 1 - Math.floor(unit(hash(this.seed, 19, i, dep.u)) * 3));
        nodes.push({ ref: `${u.name}@${u.versions[old]!}`, fragment: this.fragment(dep.u, old), level: Math.min(MAX_DEPTH, u.level + 1) });
        count(dep.u, old);
      }
    }
    for (const a of pkg.acmeDeps) {
      const other = this.ours[a]!;
      const last = other.released.at(-1);
      if (last === undefined) continue;
      const purl = `pkg:npm/%40acme/${other.name.slice('@acme/'.length)}@${last}`;
      const fragment = JSON.stringify({
        'bom-ref': `${other.name}@${last}`, type: 'library', name: other.name, version: last, scope: 'required', purl, properties: [], externalReferences: [],
        hashes: [{ alg: 'SHA-512', content: createHash('sha512').update(`${other.name}@${last}`).digest('hex') }], licenses: [{ license: { id: 'Apache-2.0' } }],
      });
      nodes.push({ ref: `${other.name}@${last}`, fragment, level: 1 });
    }

    // The tree: each node hangs under one at the nearest shallower level that has any; some get a
    // second parent at the same depth, a few a shortcut from much higher up.
    const byLevel: number[][] = Array.from({ length: MAX_DEPTH + 2 }, () => []);
    nodes.forEach((node, k) => byLevel[node.level]!.push(k));
    const children: string[][] = nodes.map(() => []);
    const rootChildren: string[] = [];
    nodes.forEach((node, k) => {
      let parents: number[] | undefined;
      for (let l = node.level - 1; l >= 1 && !parents; l--) if (byLevel[l]!.length > 0) parents = byLevel[l];
      if (!parents) {
        rootChildren.push(node.ref);
        return;
      }
      const h = hash(this.seed, 41, j, k);
      const first = parents[h % parents.length]!;
      children[first]!.push(node.ref);
      if (unit(hash(this.seed, 42, j, k)) < 0.25) {
        const second = parents[(h >>> 8) % parents.length]!;
        if (second !== first) children[second]!.push(node.ref);
      }
      if (node.level >= 4 && unit(hash(this.seed, 43, j, k)) < 0.04) {
        const high = byLevel[1]!;
        if (high.length > 0) children[high[(h >>> 4) % high.length]!]!.push(node.ref);
      }
    });

    const order = nodes.map((_, k) => k).sort((a, b) => (nodes[a]!.ref < nodes[b]!.ref ? -1 : 1));
    const list = (refs: string[]): string => refs.map((r) => `"${r}"`).join(',');
    const provenance = this.provenanceOf(release, pkg, j, time);
    const serial = hex(this.seed, 51, j, 32);
    const root = JSON.stringify({
      'bom-ref': rootRef,
      type: 'library',
      name: pkg.name,
      version,
      scope: 'required',
      description: `acme package ${i}`,
      purl: `pkg:npm/%40acme/pkg-${i}@${version}`,
      properties: [],
      externalReferences: [],
      licenses: [{ license: { id: 'Apache-2.0' } }],
    });
    const text =
      `{"$schema":"http://cyclonedx.org/schema/bom-1.5.schema.json","bomFormat":"CycloneDX","specVersion":"1.5",` +
      `"serialNumber":"urn:uuid:${serial.slice(0, 8)}-${serial.slice(8, 12)}-4${serial.slice(13, 16)}-a${serial.slice(17, 20)}-${serial.slice(20, 32)}","version":1,` +
      `"metadata":{"timestamp":"${provenance.publishedAt ?? new Date(FLEET_START).toISOString()}","lifecycles":[{"phase":"pre-build"}],` +
      `"tools":[{"vendor":"npm","name":"cli","version":"11.19.1"}],"component":${root}},` +
      `"components":[${order.map((k) => nodes[k]!.fragment).join(',')}],` +
      `"dependencies":[{"ref":"${rootRef}","dependsOn":[${list(rootChildren)}]},${order.map((k) => `{"ref":"${nodes[k]!.ref}","dependsOn":[${list(children[k]!)}]}`).join(',')}]}`;
    this.releases.push({ name: pkg.name, version, time, provenance });
    return { ...release, text, components: nodes.length, provenance };
  }
}
