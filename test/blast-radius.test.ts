// The blast radius by component, as a user gets it: SBOMs that the real npm CLI generated from real
// fixture projects, ingested with `quarantine sbom ingest`, queried with `quarantine affected`, with
// real OSV records. No Temporal, no registry: the index is a file in QUARANTINE_DATA_DIR.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import type { BlastRadius } from '../core/blast-radius';
import { npmSbom } from '../stack/npm-cli';
import { jsonOf, runCli } from './helpers/stack';

const PROJECTS = join(__dirname, 'fixtures', 'sbom-projects');
const OSV = join(__dirname, 'fixtures', 'osv');

let work: string;
let sboms: string;
let env: Record<string, string>;

const affected = async (...args: string[]) => {
  const result = await runCli(['affected', ...args, '--json'], env);
  return { code: result.code, radius: jsonOf<BlastRadius>(result), stderr: result.stderr };
};
const releasesOf = (radius: BlastRadius) => radius.releases.map((r) => `${r.name}@${r.version}`);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'quarantine-blast-'));
  sboms = join(work, 'sboms');
  mkdirSync(sboms);
  env = { QUARANTINE_DATA_DIR: join(work, 'data') };
  for (const project of readdirSync(PROJECTS, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    writeFileSync(join(sboms, `${project.name}.cdx.json`), await npmSbom(join(PROJECTS, project.name)));
  }
  const ingest = await runCli(['sbom', 'ingest', sboms], env);
  expect(ingest.stderr).toBe('');
  expect(ingest.code).toBe(0);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('quarantine sbom ingest', () => {
  test('indexes every fixture release under the name its SBOM gives', async () => {
    const again = await runCli(['sbom', 'ingest', sboms, '--json'], env);
    expect(again.code).toBe(0);
    const { results } = jsonOf<{ results: { ok: boolean; result: { release: { name: string; version: string }; outcome: string; components: number } }[] }>(again);
    expect(results.map((r) => `${r.result.release.name}@${r.result.release.version}`).sort()).toEqual([
      '@acme/cli@2.0.0',
      '@acme/cli@2.0.1',
      '@acme/cli@2.1.0-beta.0',
      '@acme/core@1.2.0',
      '@acme/core@1.2.1',
      '@acme/core@1.2.2',
      '@acme/core@1.2.3',
      '@acme/utils@1.2.0',
    ]);
    // The same bytes again change nothing.
    expect(new Set(results.map((r) => r.result.outcome))).toEqual(new Set(['unchanged']));
    expect(results.every((r) => r.result.components > 5)).toBe(true);
  });
});

describe('quarantine affected by component, with real OSV records', () => {
  test('introduced/fixed range: the transitive @solana/web3.js in exactly the releases inside [1.95.6, 1.95.8)', async () => {
    const { code, radius } = await affected('--osv', join(OSV, '@solana__web3.js__MAL-2024-11183.json'));
    expect(code).toBe(0);
    expect(radius.overBroad).toBeUndefined();
    expect(releasesOf(radius)).toEqual(['@acme/core@1.2.1', '@acme/core@1.2.3']);
    expect(radius.releases[0]!.reasons).toEqual([
      {
        kind: 'component',
        component: { name: '@solana/web3.js', version: '1.95.6', purl: 'pkg:npm/%40solana/web3.js@1.95.6' },
        direct: false,
        path: ['@acme/core@1.2.1', '@solana/spl-token@0.4.9', '@solana/web3.js@1.95.6'],
      },
    ]);
  });

  test('introduced/last_affected range: last_affected is inclusive, the version before introduced is not', async () => {
    const { radius } = await affected('--osv', join(OSV, '@crowdstrike__commitlint__MAL-2025-47233.json'));
    expect(releasesOf(radius)).toEqual(['@acme/cli@2.0.1', '@acme/cli@2.1.0-beta.0']);
    expect(radius.releases.map((r) => r.reasons[0])).toMatchObject([
      { component: { version: '8.1.1' }, direct: true, path: ['@acme/cli@2.0.1', '@crowdstrike/commitlint@8.1.1'] },
      { component: { version: '8.1.2' }, direct: true },
    ]);
  });

  test('versions list and ranges are a union: a listed version outside every range is affected', async () => {
    const { radius } = await affected('--osv', join(OSV, 'ngx-bootstrap__MAL-2025-47197.json'));
    expect(releasesOf(radius)).toEqual(['@acme/utils@1.2.0']);
  });

  test('an array of OSV records in one file, and exact versions from the CLI, answer together', async () => {
    const records = ['is__MAL-2025-6020.json', '@crowdstrike__commitlint__MAL-2025-47233.json'].map((f) => JSON.parse(readFileSync(join(OSV, f), 'utf8')) as unknown);
    const file = join(work, 'two-records.json');
    writeFileSync(file, JSON.stringify(records));
    const { radius } = await affected('--osv', file);
    expect(releasesOf(radius)).toEqual(['@acme/cli@2.0.1', '@acme/cli@2.1.0-beta.0', '@acme/core@1.2.2']);

    const exact = await affected('is@3.3.1');
    expect(releasesOf(exact.radius)).toEqual(['@acme/core@1.2.2']);
    expect(exact.radius.releases[0]!.reasons[0]).toMatchObject({ direct: true, path: ['@acme/core@1.2.2', 'is@3.3.1'] });
    const range = await affected('@solana/web3.js@>=1.95.6 <1.95.8');
    expect(releasesOf(range.radius)).toEqual(['@acme/core@1.2.1', '@acme/core@1.2.3']);
  });

  test('--vex prints the answer as a CycloneDX VEX document that the CycloneDX validator accepts', async () => {
    const result = await runCli(['affected', '--osv', join(OSV, '@solana__web3.js__MAL-2024-11183.json'), '--vex'], env);
    expect(result.code).toBe(0);
    expect(await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(result.stdout)).toBeNull();
    const vex = JSON.parse(result.stdout) as { vulnerabilities: { id: string; affects: { ref: string }[]; analysis: { state: string } }[] };
    expect(vex.vulnerabilities).toHaveLength(1);
    expect(vex.vulnerabilities[0]).toMatchObject({ id: 'MAL-2024-11183', analysis: { state: 'exploitable' } });
    expect(vex.vulnerabilities[0]!.affects.map((a) => a.ref).sort()).toEqual(['pkg:npm/%40acme/core@1.2.1', 'pkg:npm/%40acme/core@1.2.3']);
  });

  test('a record whose range is introduced "0" comes back over-broad (exit 4), for a human', async () => {
    const { code, radius } = await affected('--osv', join(OSV, 'flatmap-stream__MAL-2025-20690.json'));
    expect(code).toBe(4);
    expect(radius.overBroad).toMatch(/flatmap-stream: .*every version/);
    const star = await affected('@solana/web3.js@*');
    expect(star.code).toBe(4);
    expect(releasesOf(star.radius)).toEqual(['@acme/core@1.2.0', '@acme/core@1.2.1', '@acme/core@1.2.2', '@acme/core@1.2.3']);
  });

  test('bad input exits 2 with one clear reason and opens no index', async () => {
    const fresh = { QUARANTINE_DATA_DIR: join(work, 'untouched') };
    for (const args of [['lodash'], ['lodash@not-a-range'], ['../x@1.0.0'], ['--since', 'yesterday'], ['is@3.3.1', '--run', '1'], ['--osv', join(work, 'missing.json')]]) {
      const result = await runCli(['affected', ...args], fresh);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr.split('\n')[0]).toMatch(/^quarantine affected: /);
    }
    expect(existsSync(fresh.QUARANTINE_DATA_DIR)).toBe(false);
  });
});

describe('SBOMs that must not be trusted', () => {
  test('a new SBOM for a known release replaces the old one entirely', async () => {
    const project = join(work, 'core-1.2.2-rebuilt');
    cpSync(join(PROJECTS, 'acme-core-1.2.2'), project, { recursive: true });
    // Rebuilt with is pinned back to 3.3.0, in both the manifest and the lockfile.
    for (const file of ['package.json', 'package-lock.json']) {
      writeFileSync(join(project, file), readFileSync(join(project, file), 'utf8').replaceAll('3.3.1', '3.3.0'));
    }
    const file = join(work, 'rebuilt.json');
    writeFileSync(file, await npmSbom(project));
    const data = { QUARANTINE_DATA_DIR: join(work, 'replace') };
    expect((await runCli(['sbom', 'ingest', join(sboms, 'acme-core-1.2.2.cdx.json')], data)).code).toBe(0);
    expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', 'is@3.3.1', '--json'], data)))).toEqual(['@acme/core@1.2.2']);

    const replaced = await runCli(['sbom', 'ingest', file], data);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toMatch(/^replaced +@acme\/core@1\.2\.2: \d+ components/);
    expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', 'is@3.3.1', '--json'], data)))).toEqual([]);
    expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', 'is@3.3.0', '--json'], data)))).toEqual(['@acme/core@1.2.2']);
  });

  test('invalid, non-CycloneDX, XML and mislabelled documents are refused with the reason, and nothing of them is indexed', async () => {
    const good = JSON.parse(readFileSync(join(sboms, 'acme-core-1.2.2.cdx.json'), 'utf8')) as Record<string, unknown>;
    const bad = join(work, 'bad');
    mkdirSync(bad);
    // npm emits 1.5 (metadata.lifecycles is new in 1.5): the same document labelled 1.4 does not validate.
    writeFileSync(join(bad, 'a-labelled-1.4.json'), JSON.stringify({ ...good, specVersion: '1.4' }));
    writeFileSync(join(bad, 'b-spdx.json'), JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'x' }));
    writeFileSync(join(bad, 'c-bom.xml'), '<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.5"/>');
    writeFileSync(join(bad, 'd-broken.json'), '{"bomFormat": "CycloneDX", ');
    writeFileSync(join(bad, 'e-proto.json'), '{"bomFormat":"CycloneDX","specVersion":"1.5","__proto__":{"x":1}}');
    const data = { QUARANTINE_DATA_DIR: join(work, 'refused') };
    const result = await runCli(['sbom', 'ingest', bad], data);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/^refused .*a-labelled-1\.4\.json: invalid CycloneDX 1\.4: \/metadata must NOT have additional properties/);
    expect(lines[1]).toMatch(/b-spdx\.json: not a CycloneDX document: bomFormat is null/);
    expect(lines[2]).toMatch(/c-bom\.xml: XML SBOMs are not accepted here/);
    expect(lines[3]).toMatch(/d-broken\.json: not JSON/);
    expect(lines[4]).toMatch(/e-proto\.json: not JSON/);
    expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', 'is@3.3.1', '--json'], data)))).toEqual([]);

    const other = await runCli(['sbom', 'ingest', join(sboms, 'acme-core-1.2.2.cdx.json'), '--release', '@acme/core@9.9.9'], data);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/the SBOM describes @acme\/core@1\.2\.2, not @acme\/core@9\.9\.9/);
  });

  test('a component with a bad purl is reported and left out; the rest of the SBOM goes in', async () => {
    const doc = JSON.parse(readFileSync(join(sboms, 'acme-core-1.2.2.cdx.json'), 'utf8')) as { components: { name: string; purl: string }[] };
    const is = doc.components.find((c) => c.name === 'is')!;
    is.purl = 'pkg:npm/is%@3.3.1';
    const file = join(work, 'bad-purl.json');
    writeFileSync(file, JSON.stringify(doc));
    const data = { QUARANTINE_DATA_DIR: join(work, 'bad-purl') };
    const result = await runCli(['sbom', 'ingest', file], data);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/warning: left out pkg:npm\/is%@3\.3\.1: bad purl \(Invalid purl/);
    expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', 'is@3.3.1', '--json'], data)))).toEqual([]);
    expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', '@solana/web3.js@1.95.8', '--json'], data)))).toEqual(['@acme/core@1.2.2']);
  });
});
