// npm / pnpm audit intake against their real JSON output (test/fixtures/audit/SOURCES.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NormalizedAlert } from '../core/alert';
import { parseAuditReport } from '../core/alerts/audit';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { rejection } from './helpers/alerts';

const fixture = (file: string): unknown => JSON.parse(readFileSync(join(__dirname, 'fixtures', 'audit', file), 'utf8'));

function alerts(result: ParsedDelivery): NormalizedAlert[] {
  if (result.outcome !== 'alerts') throw new Error(`expected alerts, got ignored: ${result.reason}`);
  return result.alerts;
}
const byId = (list: NormalizedAlert[], id: string): NormalizedAlert | undefined => list.find((alert) => alert.sourceId === id);


describe('npm audit --json', () => {
  const list = alerts(parseAuditReport(fixture('npm-audit.json')));

  it('gives one alert per advisory the report contains', () => {
    expect(list.map((alert) => alert.sourceId).sort()).toEqual(['npm:1164', 'npm:1179', 'npm:1300', 'npm:1316', 'npm:1324', 'npm:1325', 'npm:1523', 'npm:755'].sort());
    expect(new Set(list.map((alert) => alert.source))).toEqual(new Set(['npm-audit']));
  });

  it('reads each advisory: package, range, severity, title, link', () => {
    expect(byId(list, 'npm:1523')).toEqual({
      source: 'npm-audit',
      sourceId: 'npm:1523',
      kind: 'vulnerability',
      severity: 'low',
      title: 'Prototype Pollution',
      packages: [{ name: 'lodash', versions: [], ranges: ['<4.17.19'], osvRanges: [] }],
      aliases: [],
      evidence: ['https://npmjs.com/advisories/1523'],
      withdrawn: false,
    });
    expect(byId(list, 'npm:755')).toMatchObject({ severity: 'critical', packages: [{ name: 'handlebars', ranges: ['<=4.0.13 || >=4.1.0 <4.1.2'] }] });
  });

  it('makes nothing of packages only vulnerable through another (mkdirp, optimist -> minimist)', () => {
    const minimist = list.filter((alert) => alert.packages.some((pkg) => pkg.name === 'minimist'));
    expect(minimist.map((alert) => alert.sourceId)).toEqual(['npm:1179']);
    expect(list.flatMap((alert) => alert.packages.map((pkg) => pkg.name))).not.toContain('mkdirp');
  });

  // Today's registry links GHSA advisories and lists CWEs; the recorded fixture predates that.
  // Hand-written in npm's report shape:
  const modern = {
    auditReportVersion: 2,
    vulnerabilities: {
      'evil-pkg': {
        name: 'evil-pkg',
        severity: 'critical',
        isDirect: true,
        via: [
          {
            source: 1099999,
            name: 'evil-pkg',
            dependency: 'evil-pkg',
            title: 'Malware in evil-pkg',
            url: 'https://github.com/advisories/GHSA-2mhj-xmf4-pr8m',
            severity: 'critical',
            cwe: ['CWE-506'],
            cvss: { score: 0, vectorString: null },
            range: '>=0',
          },
        ],
        effects: ['evil-wrapper'],
        range: '*',
        nodes: ['node_modules/evil-pkg'],
        fixAvailable: false,
      },
      'evil-wrapper': { name: 'evil-wrapper', severity: 'critical', isDirect: true, via: ['evil-pkg'], effects: [], range: '*', nodes: [], fixAvailable: false },
    },
    metadata: {},
  };

  it('keys an advisory that links a GHSA by its GHSA id, and calls CWE-506 malware', () => {
    expect(alerts(parseAuditReport(modern))).toEqual([
      {
        source: 'npm-audit',
        sourceId: 'GHSA-2mhj-xmf4-pr8m',
        kind: 'malware',
        severity: 'critical',
        title: 'Malware in evil-pkg',
        packages: [{ name: 'evil-pkg', versions: [], ranges: ['>=0'], osvRanges: [] }],
        aliases: [],
        evidence: ['https://github.com/advisories/GHSA-2mhj-xmf4-pr8m'],
        withdrawn: false,
      },
    ]);
  });

  it('makes one alert of an advisory listed under several packages', () => {
    const report = structuredClone(modern) as unknown as { vulnerabilities: Record<string, { via: unknown[] }> };
    const [advisory] = report.vulnerabilities['evil-pkg']?.via as [Record<string, unknown>];
    (report.vulnerabilities['evil-wrapper'] as { via: unknown[] }).via = [{ ...advisory, name: 'evil-wrapper', dependency: 'evil-wrapper', range: '<2.0.0' }];
    const [alert, ...rest] = alerts(parseAuditReport(report));
    expect(rest).toEqual([]);
    expect(alert?.packages.map((pkg) => [pkg.name, pkg.ranges])).toEqual([
      ['evil-pkg', ['>=0']],
      ['evil-wrapper', ['<2.0.0']],
    ]);
  });

  it('refuses an advisory whose range is not a semver range, naming the field', () => {
    const report = structuredClone(modern) as unknown as { vulnerabilities: Record<string, { via: Record<string, unknown>[] }> };
    (report.vulnerabilities['evil-pkg']?.via[0] as Record<string, unknown>).range = 'every version';
    const error = rejection(() => parseAuditReport(report));
    expect([error.status, error.field]).toEqual([400, 'vulnerabilities.evil-pkg.via.0.range']);
  });

  it('ignores a clean report', () => {
    expect(parseAuditReport({ auditReportVersion: 2, vulnerabilities: {}, metadata: {} })).toEqual({ outcome: 'ignored', reason: 'the audit found no advisory' });
  });
});

describe('pnpm audit --json', () => {
  const list = alerts(parseAuditReport(fixture('pnpm-audit.json')));

  it('gives one alert per advisory, with its CVE ids as aliases and the versions it found', () => {
    expect(list).toHaveLength(15);
    expect(new Set(list.map((alert) => alert.source))).toEqual(new Set(['pnpm-audit']));
    expect(byId(list, 'npm:782')).toEqual({
      source: 'pnpm-audit',
      sourceId: 'npm:782',
      kind: 'vulnerability',
      severity: 'high',
      title: 'Prototype Pollution',
      packages: [{ name: 'lodash', versions: ['4.17.10'], ranges: ['<4.17.11'], osvRanges: [] }],
      aliases: ['CVE-2018-16487'],
      evidence: ['https://npmjs.com/advisories/782'],
      withdrawn: false,
    });
    expect(byId(list, 'npm:1179')?.packages).toEqual([{ name: 'minimist', versions: ['0.0.10', '0.0.8'], ranges: ['<0.2.1 || >=1.0.0 <1.2.3'], osvRanges: [] }]);
  });

  it('keys by github_advisory_id when pnpm gives one', () => {
    const report = fixture('pnpm-audit.json') as { advisories: Record<string, Record<string, unknown>> };
    const [first] = Object.values(report.advisories) as [Record<string, unknown>];
    Object.assign(first, { github_advisory_id: 'GHSA-2mhj-xmf4-pr8m', cves: ['CVE-2019-20920'] });
    const alert = byId(alerts(parseAuditReport(report)), 'GHSA-2mhj-xmf4-pr8m');
    expect(alert?.aliases).toEqual(['CVE-2019-20920']);
  });

  it('refuses the output of a failed audit, and anything else', () => {
    const failed = { error: { code: 'ERR_PNPM_AUDIT_BAD_RESPONSE', message: 'The audit endpoint responded with 405' } };
    expect(rejection(() => parseAuditReport(failed)).field).toBe('error');
    expect(rejection(() => parseAuditReport([1, 2])).field).toBe('body');
    expect(rejection(() => parseAuditReport({ auditReportVersion: 1, vulnerabilities: {} })).field).toBe('auditReportVersion');
  });
});
