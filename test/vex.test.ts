import { Validation } from '@cyclonedx/cyclonedx-library';
import type { BlastRadius } from '../core/blast-radius';
import type { ReleaseProvenance } from '../core/release-index';
import { buildVex, npmPurl, VexInputError, type VexSpecVersion, type VexVulnerability } from '../core/vex';

const NOW = '2025-09-08T14:00:00.000Z';

const provenance: ReleaseProvenance = {
  release: { name: '@acme/cli', version: '2.0.0' },
  status: 'verified',
  publishedAt: '2025-09-08T13:00:00.000Z',
  repository: 'https://github.com/acme/monorepo',
  workflowPath: '.github/workflows/release.yml',
  commit: 'abc1234def5678abc1234def5678abc1234def56',
  runId: '123',
  runAttempt: '1',
};

function radius(overrides: Partial<BlastRadius> = {}): BlastRadius {
  return {
    query: 'releases containing is 3.3.1; built by run 123',
    releases: [
      {
        name: '@acme/core',
        version: '1.2.3',
        reasons: [
          {
            kind: 'component',
            component: { name: 'is', version: '3.3.1', purl: 'pkg:npm/is@3.3.1' },
            direct: false,
            path: ['@acme/core@1.2.3', 'a@1.0.0', 'is@3.3.1'],
          },
        ],
      },
      {
        name: '@acme/cli',
        version: '2.0.0',
        reasons: [{ kind: 'build', matched: ['run 123 attempt 1', `commit ${provenance.commit ?? ''}`], provenance }],
      },
    ],
    warnings: [],
    indexedReleases: 10,
    ...overrides,
  };
}

const malware: VexVulnerability = {
  id: 'MAL-2025-6020',
  source: { name: 'OSV', url: 'https://osv.dev/vulnerability/MAL-2025-6020' },
  description: 'Malicious code in is (npm)',
  references: ['https://github.com/advisories/GHSA-vm4q-9x8h-5w7q'],
  aliases: ['GHSA-vm4q-9x8h-5w7q'],
  published: '2025-07-19T17:39:12Z',
};

interface Doc {
  serialNumber: string;
  specVersion: string;
  metadata: { timestamp: string; tools: { components: { name: string; type: string }[] } };
  components: { type: string; name: string; group?: string; version: string; purl: string; 'bom-ref': string }[];
  vulnerabilities: {
    'bom-ref': string;
    id: string;
    description?: string;
    analysis: { state: string; detail: string };
    affects?: { ref: string; versions: { version: string; status: string }[] }[];
    advisories?: { url: string }[];
    references?: { id: string; source: { name?: string; url?: string } }[];
    properties?: { name: string; value: string }[];
  }[];
}

const parse = (json: string): Doc => JSON.parse(json) as Doc;
const vulnOf = (doc: Doc): Doc['vulnerabilities'][number] => {
  expect(doc.vulnerabilities).toHaveLength(1);
  return doc.vulnerabilities[0] as Doc['vulnerabilities'][number];
};

const validators = new Map<VexSpecVersion, Validation.JsonStrictValidator>();
async function validate(json: string, version: VexSpecVersion): Promise<unknown> {
  let v = validators.get(version);
  if (!v) {
    v = new Validation.JsonStrictValidator(version as ConstructorParameters<typeof Validation.JsonStrictValidator>[0]);
    validators.set(version, v);
  }
  return v.validate(json);
}

describe('npmPurl', () => {
  test('encodes the scope of a scoped name and leaves an unscoped one alone', () => {
    expect(npmPurl({ name: '@acme/core', version: '1.2.3' })).toBe('pkg:npm/%40acme/core@1.2.3');
    expect(npmPurl({ name: 'is', version: '3.3.1' })).toBe('pkg:npm/is@3.3.1');
  });
});

describe('buildVex', () => {
  test.each<VexSpecVersion>(['1.5', '1.6'])('the document validates strictly as CycloneDX %s', async (specVersion) => {
    const vex = buildVex(radius(), malware, { now: NOW, specVersion, toolVersion: '0.1.0' });
    expect(vex.specVersion).toBe(specVersion);
    expect(parse(vex.json).specVersion).toBe(specVersion);
    expect(await validate(vex.json, specVersion)).toBeNull();
  });

  test('components are our releases: library, scope as group, purl as bom-ref', () => {
    const doc = parse(buildVex(radius(), malware, { now: NOW }).json);
    const byRef = new Map(doc.components.map((c) => [c['bom-ref'], c]));
    expect([...byRef.keys()].sort()).toEqual(['pkg:npm/%40acme/cli@2.0.0', 'pkg:npm/%40acme/core@1.2.3']);
    expect(byRef.get('pkg:npm/%40acme/core@1.2.3')).toMatchObject({ type: 'library', group: '@acme', name: 'core', version: '1.2.3', purl: 'pkg:npm/%40acme/core@1.2.3' });
    expect(byRef.get('pkg:npm/%40acme/cli@2.0.0')).toMatchObject({ type: 'library', group: '@acme', name: 'cli', version: '2.0.0', purl: 'pkg:npm/%40acme/cli@2.0.0' });
  });

  test('affects lists exactly the releases, each affected at its version', () => {
    const r = radius();
    const vuln = vulnOf(parse(buildVex(r, malware, { now: NOW }).json));
    const refs = (vuln.affects ?? []).map((a) => a.ref).sort();
    expect(refs).toEqual(r.releases.map(npmPurl).sort());
    expect(refs).toEqual(['pkg:npm/%40acme/cli@2.0.0', 'pkg:npm/%40acme/core@1.2.3']);
    for (const affect of vuln.affects ?? []) {
      const release = r.releases.find((x) => npmPurl(x) === affect.ref);
      expect(affect.versions).toEqual([{ version: release?.version, status: 'affected' }]);
    }
  });

  test('the analysis is exploitable and says why each release is affected', () => {
    const doc = parse(buildVex(radius(), malware, { now: NOW }).json);
    const vuln = vulnOf(doc);
    expect(vuln.id).toBe('MAL-2025-6020');
    expect(vuln.analysis.state).toBe('exploitable');
    expect(vuln.analysis.detail).toContain('@acme/core@1.2.3: ships is@3.3.1 (transitive): @acme/core@1.2.3 > a@1.0.0 > is@3.3.1');
    expect(vuln.analysis.detail).toContain('@acme/cli@2.0.0: built by run 123 attempt 1, commit abc1234def5678abc1234def5678abc1234def56');
    expect(vuln.advisories).toEqual([{ url: 'https://github.com/advisories/GHSA-vm4q-9x8h-5w7q' }]);
    expect(vuln.references).toEqual([{ id: 'GHSA-vm4q-9x8h-5w7q', source: { name: 'GitHub Advisory Database', url: 'https://github.com/advisories/GHSA-vm4q-9x8h-5w7q' } }]);
    expect(doc.metadata.timestamp).toBe(NOW);
    expect(doc.metadata.tools.components).toEqual([expect.objectContaining({ type: 'application', name: 'quarantine' })]);
  });

  test('an over-broad radius is in triage with the reason, for a human', async () => {
    const reason = '7 of our 10 releases are affected: more than half of what we ship';
    const vex = buildVex(radius({ overBroad: reason }), malware, { now: NOW });
    const vuln = vulnOf(parse(vex.json));
    expect(vuln.analysis.state).toBe('in_triage');
    expect(vuln.analysis.detail).toContain(`Over-broad: ${reason}`);
    expect(vuln.analysis.detail).toContain('escalated to a human');
    expect(vuln.properties).toContainEqual({ name: 'quarantine:over-broad', value: reason });
    // Still the releases it names, so the human sees what acting would hit.
    expect((vuln.affects ?? []).map((a) => a.ref).sort()).toEqual(['pkg:npm/%40acme/cli@2.0.0', 'pkg:npm/%40acme/core@1.2.3']);
    expect(await validate(vex.json, '1.6')).toBeNull();
  });

  test('an empty radius is in triage, not a claim that nothing is affected', async () => {
    const vex = buildVex(radius({ releases: [] }), malware, { now: NOW });
    const doc = parse(vex.json);
    const vuln = vulnOf(doc);
    expect(vuln.analysis.state).toBe('in_triage');
    expect(vuln.affects).toBeUndefined();
    expect(doc.components).toEqual([]);
    expect(await validate(vex.json, '1.6')).toBeNull();
  });

  test('attacker-controlled text goes in as data and comes back unchanged', async () => {
    const hostile = 'pwned</script><script>alert(1)</script>\u0000\u0007\u001b[31m\r\n\u2028\u2029"\\ & <!--';
    const hostileName = `evil</script>${'\u0001'}`;
    const r = radius();
    const core = r.releases[0];
    if (core?.reasons[0]?.kind !== 'component') throw new Error('fixture changed');
    core.reasons[0].component.name = hostileName;
    const vex = buildVex(r, { ...malware, description: hostile }, { now: NOW });
    expect(vex.json).not.toContain('</script>');
    expect(vex.json).not.toContain('<');
    // No raw control character anywhere in the text: all escaped inside strings.
    const raw = [...vex.json].filter((ch) => ch !== '\n' && (ch.charCodeAt(0) < 0x20 || ch === '\u2028' || ch === '\u2029'));
    expect(raw).toEqual([]);
    const vuln = vulnOf(parse(vex.json));
    expect(vuln.description).toBe(hostile);
    expect(vuln.analysis.detail).toContain(`ships ${hostileName}@3.3.1`);
    expect(await validate(vex.json, '1.6')).toBeNull();
  });

  test('references that are not http(s) URLs are left out with a warning', async () => {
    const vex = buildVex(radius(), { ...malware, references: ['javascript:alert(1)', 'https://osv.dev/vulnerability/MAL-2025-6020'], source: { name: 'OSV', url: 'file:///etc/passwd' } }, { now: NOW });
    const vuln = vulnOf(parse(vex.json));
    expect(vuln.advisories).toEqual([{ url: 'https://osv.dev/vulnerability/MAL-2025-6020' }]);
    expect(vex.warnings).toHaveLength(2);
    expect(vex.json).not.toContain('javascript:');
    expect(vex.json).not.toContain('file:');
    expect(await validate(vex.json, '1.6')).toBeNull();
  });

  test('the same radius yields the same document; another radius another serial number', () => {
    const a = buildVex(radius(), malware, { now: NOW });
    const b = buildVex(radius(), { ...malware }, { now: new Date(NOW) });
    expect(b.json).toBe(a.json);
    expect(a.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parse(a.json).serialNumber).toBe(a.serialNumber);
    expect(parse(a.json).vulnerabilities[0]?.['bom-ref']).toBe('vulnerability:MAL-2025-6020');
    const other = buildVex(radius({ releases: radius().releases.slice(0, 1) }), malware, { now: NOW });
    expect(other.serialNumber).not.toBe(a.serialNumber);
    expect(buildVex(radius(), { ...malware, id: 'GHSA-vm4q-9x8h-5w7q' }, { now: NOW }).serialNumber).not.toBe(a.serialNumber);
  });

  test('the same release listed twice is one component with both reasons', () => {
    const r = radius();
    const [core] = r.releases;
    if (!core) throw new Error('fixture changed');
    r.releases.push({ name: core.name, version: core.version, reasons: [{ kind: 'publisher', finding: 'published without provenance', provenance: { release: core, status: 'none' } }] });
    const doc = parse(buildVex(r, malware, { now: NOW }).json);
    expect(doc.components).toHaveLength(2);
    expect(vulnOf(doc).affects).toHaveLength(2);
    expect(vulnOf(doc).analysis.detail).toContain('suspect publisher: published without provenance');
  });

  test('suspect publishers alone are in triage, not exploitable', () => {
    const r = radius({
      query: 'releases with a suspect publisher',
      releases: [{ name: 'left-pad', version: '9.9.9', reasons: [{ kind: 'publisher', finding: 'published without provenance', provenance: { release: { name: 'left-pad', version: '9.9.9' }, status: 'none' } }] }],
    });
    const vuln = vulnOf(parse(buildVex(r, malware, { now: NOW }).json));
    expect(vuln.analysis.state).toBe('in_triage');
    expect(vuln.affects?.map((a) => a.ref)).toEqual(['pkg:npm/left-pad@9.9.9']);
  });

  test('bad input is refused', () => {
    expect(() => buildVex(radius(), { ...malware, id: ' ' }, { now: NOW })).toThrow(VexInputError);
    expect(() => buildVex(radius(), malware, { now: 'yesterday' })).toThrow(VexInputError);
    expect(() => buildVex(radius(), malware, { now: NOW, specVersion: '1.4' as VexSpecVersion })).toThrow(VexInputError);
  });
});
