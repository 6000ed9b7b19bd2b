// SBOM ingest cost does not grow with the square of the dependency depth, and one SBOM cannot make the
// index keep more than its caps: pure parseSbom and putSbom on SBOMs built to be as deep as possible.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { syntheticSbom } from '../bench/sbom';
import { affectedByComponents } from '../core/blast-radius';
import { sbomComponentPath, type ReleaseSbom } from '../core/release-index';
import { parseSbom, SBOM_LIMITS, SbomRejection } from '../core/sbom';
import { openReleaseIndex } from '../store/sqlite-store';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const LIFTED = { components: 1e9, depth: 1e9, pathEntries: 1e12 };

test('the default caps are the documented ones', () => {
  expect(SBOM_LIMITS).toEqual({ components: 50_000, depth: 100, pathEntries: 1_000_000 });
});

test('an 8,000-deep chain is reduced to one parent link per component: its paths are built on demand, and what it keeps is small', async () => {
  const text = syntheticSbom(8_000, 'chain');
  gc();
  const before = process.memoryUsage().heapUsed;
  const { sbom } = await parseSbom(text, { limits: LIFTED });
  gc();
  const retained = process.memoryUsage().heapUsed - before;
  expect(sbom.components).toHaveLength(8_000);
  // Every path spelled out would be 32 million entries (a gigabyte and more of strings).
  expect(retained).toBeLessThan(64 * 2 ** 20);
  const last = sbom.components.length - 1;
  expect(sbom.components[last]).toEqual({ name: 'pkg-7999', version: '1.0.0', purl: 'pkg:npm/pkg-7999@1.0.0', direct: false, parent: last - 1, depth: 8_000 });
  expect(sbom.components[0]).toMatchObject({ name: 'pkg-0', direct: true, parent: null, depth: 1 });
  const path = sbomComponentPath(sbom.release, sbom.components, last);
  expect(path).toHaveLength(8_001);
  expect(path.slice(0, 3)).toEqual(['app@1.0.0', 'pkg-0@1.0.0', 'pkg-1@1.0.0']);
  expect(path.at(-1)).toBe('pkg-7999@1.0.0');
});

describe('the caps, each named in its refusal', () => {
  test('depth: a component 101 dependencies from the release is refused; 100 is accepted', async () => {
    await expect(parseSbom(syntheticSbom(101, 'chain'))).rejects.toThrow(
      new SbomRejection('pkg-100@1.0.0 is more than 100 dependencies away from the release (shortest path): at most 100 levels are accepted'),
    );
    const { sbom } = await parseSbom(syntheticSbom(100, 'chain'));
    expect(sbom.components.at(-1)).toMatchObject({ name: 'pkg-99', depth: 100 });
  });

  test('the chain SBOMs of the review (1,000 to 8,000 deep) are refused by the depth cap', async () => {
    for (const size of [1_000, 4_000, 8_000]) {
      await expect(parseSbom(syntheticSbom(size, 'chain'))).rejects.toThrow('at most 100 levels are accepted');
    }
  });

  test('components: more than 50,000 (nested ones counted) are refused before the schema is checked', async () => {
    const doc = JSON.parse(syntheticSbom(10, 'chain')) as { components: Record<string, unknown>[] };
    const filler = Array.from({ length: 50_000 }, (_, i) => ({ type: 'library', name: `x${i}`, version: '1.0.0' }));
    doc.components[0]!.components = filler;
    await expect(parseSbom(JSON.stringify(doc))).rejects.toThrow(new SbomRejection('the SBOM lists more than 50,000 components: at most 50,000 are accepted'));
  });

  test('nesting: components nested more than 100 levels deep are refused', async () => {
    const doc = JSON.parse(syntheticSbom(1, 'chain')) as { components: Record<string, unknown>[] };
    let at = doc.components[0]!;
    for (let i = 0; i < 150; i++) {
      const inner = { type: 'library', name: `n${i}`, version: '1.0.0' };
      at.components = [inner];
      at = inner;
    }
    await expect(parseSbom(JSON.stringify(doc))).rejects.toThrow(new SbomRejection('the SBOM nests components more than 100 levels deep: at most 100 levels are accepted'));
  });

  test('path entries: a tree as deep as allowed, with too many components at depth, is refused', async () => {
    // A trunk of 100 and 19,900 leaves spread over its levels: 1,010,000 path entries.
    await expect(parseSbom(syntheticSbom(20_000, 'deepest-tree'))).rejects.toThrow(
      new SbomRejection("the dependency paths of the SBOM's components add up to more than 1,000,000 entries: at most 1,000,000 are kept for one release"),
    );
    const { sbom } = await parseSbom(syntheticSbom(8_000, 'deepest-tree'));
    expect(sbom.components).toHaveLength(8_000);
    expect(Math.max(...sbom.components.map((c) => c.depth))).toBe(100);
  });
});

test('the index answers the paths of a tree as deep as allowed, from the parent links', async () => {
  const { sbom } = await parseSbom(syntheticSbom(8_000, 'deepest-tree'));
  const index = openReleaseIndex(':memory:');
  try {
    expect(index.putSbom(sbom)).toEqual({ replaced: false, unchanged: false });
    // pkg-7999 hangs off trunk component pkg-98, the 99th level.
    const [deepest] = index.occurrencesOf('pkg-7999', ['1.0.0']);
    expect(deepest!.component.path).toEqual(['app@1.0.0', ...Array.from({ length: 99 }, (_, i) => `pkg-${i}@1.0.0`), 'pkg-7999@1.0.0']);
    const radius = affectedByComponents(index, [{ name: 'pkg-0', versions: ['1.0.0'], ranges: [], osvRanges: [] }]);
    expect(radius.releases[0]!.reasons[0]).toMatchObject({ direct: true, path: ['app@1.0.0', 'pkg-0@1.0.0'] });
  } finally {
    index.close();
  }
});

test('putSbom refuses a component whose parent does not come before it, and keeps the earlier SBOM', () => {
  const index = openReleaseIndex(':memory:');
  try {
    const release = { name: '@acme/app', version: '1.0.0' };
    const good: ReleaseSbom = { release, specVersion: '1.5', digest: 'a', components: [{ name: 'x', version: '1.0.0', purl: 'pkg:npm/x@1.0.0', direct: true, parent: null, depth: 1 }] };
    index.putSbom(good);
    const looped: ReleaseSbom = {
      release,
      specVersion: '1.5',
      digest: 'b',
      components: [
        { name: 'y', version: '1.0.0', purl: 'pkg:npm/y@1.0.0', direct: false, parent: 1, depth: 2 },
        { name: 'z', version: '1.0.0', purl: 'pkg:npm/z@1.0.0', direct: false, parent: 0, depth: 2 },
      ],
    };
    expect(() => index.putSbom(looped)).toThrow('component 0 of @acme/app@1.0.0 names parent 1: parents come before their components');
    expect(index.occurrencesOf('x', ['1.0.0']).map((o) => o.component.path)).toEqual([['@acme/app@1.0.0', 'x@1.0.0']]);
    expect(index.occurrencesOf('y', ['1.0.0'])).toEqual([]);
  } finally {
    index.close();
  }
});
