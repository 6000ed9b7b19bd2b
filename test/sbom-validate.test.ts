// The SBOM validator (core/cyclonedx-schema.ts) against the CycloneDX library's own validator, as the
// oracle: on real npm-generated SBOMs and on broken variants of them, both give the same verdict and
// the same first error. Only their speed on large documents differs.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Validation } from '@cyclonedx/cyclonedx-library';
import { validateCyclonedx, type SchemaVersion } from '../core/cyclonedx-schema';
import { npmSbom } from '../stack/npm-cli';

const PROJECTS = join(__dirname, 'fixtures', 'sbom-projects');
type Doc = Record<string, unknown> & { components: Record<string, unknown>[]; dependencies: unknown[]; metadata: Record<string, unknown> };

const originals: Record<string, string> = {};
beforeAll(async () => {
  for (const project of readdirSync(PROJECTS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    originals[project.name] = await npmSbom(join(PROJECTS, project.name));
  }
}, 60_000);

const library = new Map<SchemaVersion, Validation.JsonStrictValidator>();
async function libraryVerdict(version: SchemaVersion, doc: unknown): Promise<{ instancePath: string; message: string } | null> {
  let v = library.get(version);
  if (!v) library.set(version, (v = new Validation.JsonStrictValidator(version as ConstructorParameters<typeof Validation.JsonStrictValidator>[0])));
  const errors = (await v.validate(JSON.stringify(doc))) as { instancePath: string; message: string }[] | null;
  return errors === null ? null : { instancePath: errors[0]!.instancePath, message: errors[0]!.message };
}
function ourVerdict(version: SchemaVersion, doc: unknown): { instancePath: string; message: string } | null {
  const errors = validateCyclonedx(version, doc);
  return errors === null ? null : { instancePath: errors[0]!.instancePath, message: errors[0]!.message ?? '' };
}

const variants: Record<string, (doc: Doc) => [SchemaVersion, unknown]> = {
  'as npm wrote it': (doc) => ['1.5', doc],
  'relabelled 1.6': (doc) => ['1.6', { ...doc, specVersion: '1.6' }],
  'relabelled 1.4 (metadata.lifecycles is new in 1.5)': (doc) => ['1.4', { ...doc, specVersion: '1.4' }],
  'a duplicated component': (doc) => ['1.5', { ...doc, components: [...doc.components, doc.components[3]] }],
  'a duplicated dependency entry': (doc) => ['1.5', { ...doc, dependencies: [...doc.dependencies, doc.dependencies[0]] }],
  'the same component with its keys in another order': (doc) => {
    const c = doc.components[2]!;
    const reordered = Object.fromEntries(Object.entries(c).reverse());
    return ['1.5', { ...doc, components: [...doc.components, reordered] }];
  },
  'an unknown component type': (doc) => ['1.5', { ...doc, components: doc.components.map((c, i) => (i === 5 ? { ...c, type: 'malware' } : c)) }],
  'a hash that is not hex': (doc) => ['1.5', { ...doc, components: doc.components.map((c, i) => (i === 1 ? { ...c, hashes: [{ alg: 'SHA-512', content: 'zz' }] } : c)) }],
  'an unknown top-level key (strict)': (doc) => ['1.5', { ...doc, surprise: true }],
  'a component without a name': (doc) => ['1.5', { ...doc, components: doc.components.map((c, i) => (i === 0 ? { ...c, name: undefined } : c)) }],
};

describe.each(['acme-core-1.2.2', 'acme-cli-2.0.1', 'acme-utils-1.2.0'])('%s', (project) => {
  test.each(Object.keys(variants))('%s: same verdict as the CycloneDX library', async (name) => {
    const doc = JSON.parse(originals[project]!) as Doc;
    const [version, variant] = variants[name]!(doc);
    // Round-trip: an `undefined` field is absent, as it would be on the wire.
    const wire = JSON.parse(JSON.stringify(variant)) as unknown;
    const expected = await libraryVerdict(version, wire);
    expect(ourVerdict(version, wire)).toEqual(expected);
    if (name === 'as npm wrote it' || name === 'relabelled 1.6') expect(expected).toBeNull();
    else expect(expected).not.toBeNull();
  });
});
