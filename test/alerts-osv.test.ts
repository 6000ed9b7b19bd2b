// OSV intake against 18 real OpenSSF malicious-packages records (test/fixtures/osv/SOURCES.md).
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type NormalizedAlert } from '../core/alert';
import { parseOsvAlerts } from '../core/alerts/osv';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { rejection } from './helpers/alerts';

const DIR = join(__dirname, 'fixtures', 'osv');
const FILES = readdirSync(DIR).filter((file) => file.endsWith('.json'));
const raw = (file: string): Buffer => readFileSync(join(DIR, file));
const record = (file: string): Record<string, unknown> => JSON.parse(raw(file).toString('utf8')) as Record<string, unknown>;

function alerts(result: ParsedDelivery): NormalizedAlert[] {
  if (result.outcome !== 'alerts') throw new Error(`expected alerts, got ignored: ${result.reason}`);
  return result.alerts;
}
const onlyAlert = (result: ParsedDelivery): NormalizedAlert => {
  const [alert, ...rest] = alerts(result);
  expect(rest).toEqual([]);
  return alert as NormalizedAlert;
};


describe('the fixtures', () => {
  it('are the 18 records SOURCES.md lists, byte for byte', () => {
    const sources = readFileSync(join(DIR, 'SOURCES.md'), 'utf8');
    const rows = [...sources.matchAll(/^\| `([^`]+\.json)` \|.*\| (\d+) \| `([0-9a-f]{64})` \|$/gm)];
    expect(rows).toHaveLength(18);
    expect(rows.map((row) => row[1]).sort()).toEqual([...FILES].sort());
    for (const [, file, bytes, sha256] of rows) {
      const content = raw(file as string);
      expect([file, content.length]).toEqual([file, Number(bytes)]);
      expect([file, createHash('sha256').update(content).digest('hex')]).toEqual([file, sha256]);
    }
  });
});

describe('real OSV records', () => {
  it.each(FILES)('%s parses to one malware alert for its package', (file) => {
    const [pkgPart, id] = file.replace(/\.json$/, '').split(/__(?=MAL-)/) as [string, string];
    const alert = onlyAlert(parseOsvAlerts(record(file)));
    expect(alert).toMatchObject({ source: 'osv', sourceId: id, kind: 'malware', severity: 'critical' });
    expect(alert.packages.map((pkg) => pkg.name)).toEqual([pkgPart.replace('__', '/')]);
    expect(alert.title).toMatch(/^Malicious code in /);
    for (const url of alert.evidence) expect(url).toMatch(/^https?:\/\//);
  });

  it('keeps @solana/web3.js MAL-2024-11183 as given: no versions, the introduced/fixed range, its GHSA alias', () => {
    expect(onlyAlert(parseOsvAlerts(record('@solana__web3.js__MAL-2024-11183.json')))).toEqual({
      source: 'osv',
      sourceId: 'MAL-2024-11183',
      kind: 'malware',
      severity: 'critical',
      title: 'Malicious code in @solana/web3.js (npm)',
      packages: [
        {
          name: '@solana/web3.js',
          versions: [],
          ranges: [],
          osvRanges: [{ type: 'SEMVER', events: [{ introduced: '1.95.6' }, { fixed: '1.95.8' }] }],
        },
      ],
      aliases: ['GHSA-2mhj-xmf4-pr8m'],
      evidence: [
        'https://github.com/advisories/GHSA-2mhj-xmf4-pr8m',
        'https://github.com/solana-labs/solana-web3.js/security/advisories/GHSA-jcxm-7wvp-g6p5',
        'https://socket.dev/blog/supply-chain-attack-solana-web3-js-library',
      ],
      withdrawn: false,
    });
  });

  it('records the withdrawn one as withdrawn', () => {
    const alert = onlyAlert(parseOsvAlerts(record('@amber-team__amazon-utils__MAL-2025-7048.json')));
    expect(alert).toMatchObject({ sourceId: 'MAL-2025-7048', withdrawn: true, aliases: [], evidence: [] });
    expect(alert.packages[0]?.osvRanges).toEqual([{ type: 'SEMVER', events: [{ introduced: '0' }] }]);
    expect(FILES.map((file) => onlyAlert(parseOsvAlerts(record(file)))).filter((a) => a.withdrawn)).toHaveLength(1);
  });

  it('does not evaluate ranges: ngx-bootstrap keeps its versions and both range pairs in their order', () => {
    const [pkg] = onlyAlert(parseOsvAlerts(record('ngx-bootstrap__MAL-2025-47197.json'))).packages;
    expect(pkg?.versions).toEqual(['18.1.4', '19.0.3', '19.0.4', '20.0.3', '20.0.4', '20.0.5', '20.0.6']);
    expect(pkg?.osvRanges).toEqual([
      { type: 'SEMVER', events: [{ introduced: '20.0.3' }, { last_affected: '20.0.6' }, { introduced: '19.0.3' }, { last_affected: '19.0.4' }] },
    ]);
  });

  it('keeps unsorted versions and prereleases as given (@asyncapi/specs)', () => {
    const [pkg] = onlyAlert(parseOsvAlerts(record('@asyncapi__specs__MAL-2025-190643.json'))).packages;
    expect(pkg?.versions).toEqual(['6.8.3', '6.9.1', '6.8.2', '6.10.1', '6.11.2', '6.11.2-alpha.1']);
  });

  it('parses a batch of all of them', () => {
    const batch = FILES.map(record);
    expect(alerts(parseOsvAlerts(batch)).map((alert) => alert.sourceId).sort()).toEqual(FILES.map((file) => /MAL-\d+-\d+/.exec(file)?.[0]).sort());
  });
});

describe('records beyond the fixtures', () => {
  const base = (): Record<string, unknown> & { affected: Record<string, unknown>[] } => ({
    id: 'GHSA-aaaa-bbbb-cccc',
    modified: '2026-01-01T00:00:00Z',
    summary: 'Prototype pollution in example-lib',
    affected: [{ package: { ecosystem: 'npm', name: 'example-lib' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '2.0.0' }] }] }],
  });

  it('reads a vulnerability with its stated severity', () => {
    const alert = onlyAlert(parseOsvAlerts({ ...base(), database_specific: { severity: 'HIGH' } }));
    expect(alert).toMatchObject({ kind: 'vulnerability', severity: 'high' });
    expect(onlyAlert(parseOsvAlerts({ ...base(), severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }] })).severity).toBe('unknown');
  });

  it('calls a non-MAL record with CWE-506 malware', () => {
    const record = base();
    record.affected[0] = { ...record.affected[0], database_specific: { cwes: [{ cweId: 'CWE-506' }] } };
    expect(onlyAlert(parseOsvAlerts(record)).kind).toBe('malware');
    expect(onlyAlert(parseOsvAlerts({ ...base(), database_specific: { cwe_ids: ['CWE-506'] } })).kind).toBe('malware');
  });

  it('skips other ecosystems and GIT ranges, and ignores a record with no npm package', () => {
    const record = base();
    record.affected.unshift({ package: { ecosystem: 'PyPI', name: 'Example_Lib' }, versions: ['1.0'] });
    record.affected[1] = { ...record.affected[1], ranges: [{ type: 'GIT', repo: 'https://github.com/x/y', events: [{ introduced: 'abc123' }] }] };
    const alert = onlyAlert(parseOsvAlerts(record));
    expect(alert.packages).toEqual([{ name: 'example-lib', versions: [], ranges: [], osvRanges: [] }]);
    expect(parseOsvAlerts({ ...base(), affected: [{ package: { ecosystem: 'PyPI', name: 'x' } }] })).toEqual({
      outcome: 'ignored',
      reason: 'no affected npm package in the OSV record(s)',
    });
  });

  it('drops references that are not http(s)', () => {
    const alert = onlyAlert(parseOsvAlerts({ ...base(), references: [{ url: 'javascript:alert(1)' }, { url: 'https://example.com/a' }] }));
    expect(alert.evidence).toEqual(['https://example.com/a']);
  });

  it.each([
    ['a bad package name', (r: ReturnType<typeof base>) => Object.assign(r.affected[0] as object, { package: { ecosystem: 'npm', name: '../../etc' } }), 'affected.0.package.name'],
    ['a version that is not exact', (r: ReturnType<typeof base>) => Object.assign(r.affected[0] as object, { versions: ['1.0.0', 'latest'] }), 'affected.0.versions.1'],
    [
      'an event that is not a version',
      (r: ReturnType<typeof base>) => Object.assign(r.affected[0] as object, { ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '>2' }] }] }),
      'affected.0.ranges.0.events.1.fixed',
    ],
    [
      'an event with two keys',
      (r: ReturnType<typeof base>) => Object.assign(r.affected[0] as object, { ranges: [{ type: 'SEMVER', events: [{ introduced: '0', fixed: '1.0.0' }] }] }),
      'affected.0.ranges.0.events.0',
    ],
    [
      'a purl naming another package',
      (r: ReturnType<typeof base>) => Object.assign(r.affected[0] as object, { package: { ecosystem: 'npm', name: 'example-lib', purl: 'pkg:npm/%40evil/example-lib' } }),
      'affected.0.package.purl',
    ],
    ['no modified time', (r: ReturnType<typeof base>) => delete r.modified, 'modified'],
    ['an id that is text', (r: ReturnType<typeof base>) => (r.id = 'MAL 1; drop'), 'id'],
    ['more than 1,000 versions', (r: ReturnType<typeof base>) => Object.assign(r.affected[0] as object, { versions: Array.from({ length: 1001 }, (_, i) => `1.0.${i}`) }), 'affected.0.versions'],
    ['more than 50 aliases', (r: ReturnType<typeof base>) => (r.aliases = Array.from({ length: 51 }, (_, i) => `CVE-2026-${1000 + i}`)), 'aliases'],
  ])('refuses %s, naming the field', (_what, spoil, field) => {
    const record = base();
    spoil(record);
    const error = rejection(() => parseOsvAlerts(record));
    expect([error.status, error.field]).toEqual([400, field]);
  });

  it('accepts a purl naming the same package', () => {
    const record = base();
    record.affected[0] = { ...record.affected[0], package: { ecosystem: 'npm', name: '@acme/core', purl: 'pkg:npm/%40acme/core@1.2.3' } };
    expect(onlyAlert(parseOsvAlerts(record)).packages[0]?.name).toBe('@acme/core');
  });

  it('names the record in a batch', () => {
    const bad = base();
    bad.affected[0] = { package: { ecosystem: 'npm', name: 'Not Valid' } };
    expect(rejection(() => parseOsvAlerts([base(), bad])).field).toBe('1.affected.0.package.name');
  });
});
