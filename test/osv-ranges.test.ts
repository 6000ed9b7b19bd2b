// OSV "is this version affected" (core/osv-ranges.ts): each rule of the schema's evaluation on
// hand-written ranges, then the real OpenSSF records in test/fixtures/osv (see SOURCES.md there)
// against published version lists built per package: the record's own versions plus neighbours.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AffectedPackage, NormalizedAlert, OsvRange } from '../core/alert';
import { parseOsvAlerts } from '../core/alerts/osv';
import { type AffectedSpec, affectedAmong, invalidVersionsIn, isAffected, isAffectedByRange, isOverBroad, overBroadReason } from '../core/osv-ranges';

const semverRange = (...events: OsvRange['events']): OsvRange => ({ type: 'SEMVER', events });
const spec = (parts: Partial<AffectedSpec>): AffectedSpec => ({ versions: [], ranges: [], osvRanges: [], ...parts });

describe('isAffectedByRange: one OSV range, by the schema pseudo-code', () => {
  const cases: [rule: string, version: string, range: OsvRange, affected: boolean][] = [
    // introduced "0" sorts before every version: affected from the beginning, prereleases too.
    ['introduced "0" opens at the beginning', '0.0.0-alpha.0', semverRange({ introduced: '0' }), true],
    ['introduced "0" with no end reaches every later version', '999.1.0', semverRange({ introduced: '0' }), true],
    // introduced is inclusive.
    ['introduced is inclusive', '1.0.0', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }), true],
    ['below introduced is not affected', '0.9.9', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }), false],
    ['between introduced and fixed', '1.0.1', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }), true],
    // fixed is the first good version: it closes before itself.
    ['fixed closes before itself', '1.0.2', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }), false],
    ['after fixed is not affected', '2.0.0', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }), false],
    // last_affected is the last bad version: it closes after itself.
    ['last_affected is inclusive', '1.0.2', semverRange({ introduced: '1.0.0' }, { last_affected: '1.0.2' }), true],
    ['last_affected closes after itself', '1.0.3', semverRange({ introduced: '1.0.0' }, { last_affected: '1.0.2' }), false],
    // semver ordering: a prerelease sorts before its release, after the previous release.
    ['a prerelease of fixed is before fixed, so affected', '2.0.0-rc.1', semverRange({ introduced: '1.0.0' }, { fixed: '2.0.0' }), true],
    ['a prerelease of introduced is before introduced', '1.0.0-rc.1', semverRange({ introduced: '1.0.0' }, { fixed: '2.0.0' }), false],
    ['a prerelease of the next patch is after last_affected', '1.0.3-beta.0', semverRange({ introduced: '1.0.0' }, { last_affected: '1.0.2' }), false],
    // numeric, not string, comparison: 1.10.0 > 1.9.0.
    ['versions compare numerically', '1.10.0', semverRange({ introduced: '1.9.0' }, { fixed: '1.11.0' }), true],
    // limit bounds from above, exclusive.
    ['below limit', '1.9.9', semverRange({ introduced: '0' }, { limit: '2.0.0' }), true],
    ['limit is exclusive', '2.0.0', semverRange({ introduced: '0' }, { limit: '2.0.0' }), false],
    ['limit "*" is infinity', '500.0.0', semverRange({ introduced: '1.0.0' }, { limit: '*' }), true],
    // several limits: below any one of them is enough (each widens the scope).
    ['below the higher of two limits', '2.0.0', semverRange({ introduced: '0' }, { limit: '1.0.0' }, { limit: '3.0.0' }), true],
    ['above every limit', '3.0.0', semverRange({ introduced: '0' }, { limit: '1.0.0' }, { limit: '3.0.0' }), false],
    ['"*" among finite limits leaves no bound', '9.0.0', semverRange({ introduced: '0' }, { limit: '1.0.0' }, { limit: '*' }), true],
    // limit only restricts: a fixed below it still closes.
    ['fixed below the limit still closes', '1.6.0', semverRange({ introduced: '0' }, { fixed: '1.5.0' }, { limit: '2.0.0' }), false],
    // several introduced/fixed pairs in one range: the schema's "multiple range example".
    ['inside the first pair', '1.0.1', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }), true],
    ['between the pairs', '2.0.0', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }), false],
    ['inside the second pair', '3.1.0', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }), true],
    ['at the second fixed', '3.2.5', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.2' }, { introduced: '3.0.0' }, { fixed: '3.2.5' }), false],
    // an introduced with no end after a closed pair: open-ended from there.
    ['the gap before a re-introduction', '2.5.0', semverRange({ introduced: '1.0.0' }, { fixed: '2.0.0' }, { introduced: '3.0.0' }), false],
    ['open-ended after the last introduced', '99.0.0', semverRange({ introduced: '1.0.0' }, { fixed: '2.0.0' }, { introduced: '3.0.0' }), true],
    // events are evaluated sorted by version, whatever order the record lists them in.
    ['unsorted pairs: the later pair listed first', '3.1.0', semverRange({ introduced: '3.0.0' }, { fixed: '3.2.5' }, { introduced: '1.0.0' }, { fixed: '1.0.2' }), true],
    ['unsorted pair: fixed listed before introduced still closes', '1.0.2', semverRange({ fixed: '1.0.2' }, { introduced: '1.0.0' }), false],
    ['unsorted: introduced "0" listed last still opens first, so fixed closes it', '1.5.0', semverRange({ fixed: '1.0.0' }, { introduced: '0' }), false],
    // equal versions keep the record's order: [introduced X, fixed X] is the empty interval [X, X).
    ['introduced and fixed at the same version: empty', '1.0.0', semverRange({ introduced: '1.0.0' }, { fixed: '1.0.0' }), false],
    // [introduced X, last_affected X] is the single version X.
    ['introduced and last_affected at the same version: that version', '1.0.0', semverRange({ introduced: '1.0.0' }, { last_affected: '1.0.0' }), true],
    ['introduced and last_affected at the same version: not the next', '1.0.1', semverRange({ introduced: '1.0.0' }, { last_affected: '1.0.0' }), false],
    // with no introduced nothing opens (the schema requires one; a range without is empty).
    ['no introduced event: nothing is affected', '0.5.0', semverRange({ fixed: '1.0.0' }), false],
    // ECOSYSTEM ranges for npm use the same semver ordering.
    ['ECOSYSTEM is evaluated like SEMVER', '1.0.1', { type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { fixed: '1.0.2' }] }, true],
    // invalid event versions are ignored (and reported by invalidVersionsIn).
    ['an invalid fixed is ignored, so the range stays open', '5.0.0', semverRange({ introduced: '1.0.0' }, { fixed: 'not-a-version' }), true],
    ['an invalid introduced is ignored, so nothing opens', '5.0.0', semverRange({ introduced: 'v1.0.0' }), false],
    ['an invalid limit is ignored: the implicit "*" applies', '5.0.0', semverRange({ introduced: '1.0.0' }, { limit: '2.0' }), true],
    // the version asked about must itself be an exact version: a tag or range is never "affected".
    ['a dist-tag is not a version', 'latest', semverRange({ introduced: '0' }), false],
    ['a "v" prefix is not npm\'s form of a version', 'v1.0.1', semverRange({ introduced: '0' }), false],
  ];
  it.each(cases)('%s: %s', (_rule, version, range, affected) => {
    expect(isAffectedByRange(version, range)).toBe(affected);
  });
});

describe('isAffected: the union of the versions list, the OSV ranges and the npm ranges', () => {
  const pkg = spec({ versions: ['1.0.5'], osvRanges: [semverRange({ introduced: '2.0.0' }, { fixed: '2.1.0' })], ranges: ['>=3.0.0 <3.0.2'] });
  const cases: [rule: string, version: string, affected: boolean][] = [
    ['listed exactly', '1.0.5', true],
    ['a neighbour of a listed version is not', '1.0.4', false],
    ['inside the OSV range only', '2.0.1', true],
    ['inside the npm range only', '3.0.1', true],
    // npm ranges are evaluated with includePrerelease: a malicious prerelease inside one counts.
    ['a prerelease inside the npm range', '3.0.1-beta.0', true],
    ['outside all three', '3.0.2', false],
  ];
  it.each(cases)('%s: %s', (_rule, version, affected) => {
    expect(isAffected(version, pkg)).toBe(affected);
  });

  it('ignores invalid entries instead of widening: an empty npm range is not "*", "1.0" is not 1.0.0', () => {
    expect(isAffected('1.0.0', spec({ ranges: [''] }))).toBe(false);
    expect(isAffected('1.0.0', spec({ ranges: ['   '] }))).toBe(false);
    expect(isAffected('1.0.0', spec({ versions: ['1.0'] }))).toBe(false);
    expect(isAffected('1.0.0', spec({}))).toBe(false);
  });
});

describe('affectedAmong', () => {
  it('keeps the affected published versions once each, in semver order (prereleases before their release, 1.9 before 1.10)', () => {
    const published = ['2.0.0', '1.10.0', '1.9.0', '2.0.0-rc.1', 'latest', '1.9.0', '0.9.0', '2.0.1'];
    const pkg = spec({ osvRanges: [semverRange({ introduced: '1.9.0' }, { last_affected: '2.0.0' })] });
    expect(affectedAmong(published, pkg)).toEqual(['1.9.0', '1.10.0', '2.0.0-rc.1', '2.0.0']);
  });
});

describe('invalidVersionsIn', () => {
  it('reports each ignored entry once: bad versions, bad npm ranges, bad event versions, malformed events', () => {
    const pkg = spec({
      versions: ['1.0.1', '1.0', '1.0'],
      ranges: ['>=1.0.0', '', 'not a range'],
      osvRanges: [
        semverRange({ introduced: '0' }, { fixed: 'v2.0.0' }, { limit: '*' }),
        semverRange({ introduced: 'garbage' }, {} as OsvRange['events'][number]),
      ],
    });
    expect(invalidVersionsIn(pkg)).toEqual(['1.0', '', 'not a range', 'v2.0.0', 'garbage', '{}']);
  });

  it('is empty when every entry is valid, "0" and "*" included', () => {
    expect(invalidVersionsIn(spec({ versions: ['1.0.0-beta.1'], ranges: ['^1.2.3'], osvRanges: [semverRange({ introduced: '0' }, { limit: '*' })] }))).toEqual([]);
  });
});

describe('isOverBroad / overBroadReason', () => {
  const published = ['1.0.0', '1.0.1', '1.1.0'];

  it('is true when every published version is affected', () => {
    expect(overBroadReason(published, ['1.0.0', '1.0.1', '1.1.0'])).toBe('all 3 published versions are affected');
    expect(overBroadReason(['0.0.7'], ['0.0.7'])).toBe('the only published version is affected');
  });

  it('is false for a proper subset, and for a package with nothing published', () => {
    expect(isOverBroad(published, ['1.0.1'])).toBe(false);
    expect(overBroadReason(published, ['1.0.1'])).toBeUndefined();
    expect(isOverBroad([], [])).toBe(false);
  });

  it('is true when an OSV range alone matches every version, even before anything is published', () => {
    const pkg = spec({ osvRanges: [semverRange({ introduced: '0' })] });
    expect(overBroadReason([], [], pkg)).toBe('OSV range {introduced: "0"} alone matches every version');
  });

  it('says so when an {introduced: "0"} range sits beside narrower data', () => {
    const pkg = spec({ versions: ['1.0.1'], osvRanges: [semverRange({ introduced: '0' }), semverRange({ introduced: '1.1.0' }, { fixed: '1.1.1' })] });
    expect(overBroadReason(published, affectedAmong(published, pkg), pkg)).toBe(
      'OSV range {introduced: "0"} alone matches every version, beside 1 exact version and 1 narrower range: likely a leftover of an earlier revision',
    );
  });

  it.each([['*'], ['x'], ['>=0'], ['>=0.0.0'], ['>=0.0.0-0']])('is true for the npm range "%s"', (range) => {
    expect(overBroadReason([], [], spec({ ranges: [range] }))).toBe(`range "${range}" alone matches every version`);
  });

  // Review finding H4: each of these named every release of a package and was not flagged.
  it.each([['>=0.0.1'], ['>0.0.0'], ['<99999.0.0'], ['<1.0.0 || >=1.0.0'], ['<=1.0.0 || >1.0.0'], ['>=0.0.1 <100.0.0']])(
    'is true for the npm range "%s", which leaves out no plausible release',
    (range) => {
      expect(overBroadReason(published, ['1.0.1'], spec({ ranges: [range] }))).toBe(`range "${range}" alone matches every version`);
    },
  );

  it.each([
    ['{introduced: "0.0.1"}', [{ introduced: '0.0.1' }]],
    ['{introduced: "0"} {fixed: "99999.0.0"}', [{ introduced: '0' }, { fixed: '99999.0.0' }]],
    ['{introduced: "0"} {limit: "99999.0.0"}', [{ introduced: '0' }, { limit: '99999.0.0' }]],
    ['{introduced: "0"} {last_affected: "99999.0.0"}', [{ introduced: '0' }, { last_affected: '99999.0.0' }]],
    ['{introduced: "0"} {fixed: "1.0.0"} {introduced: "1.0.0"}', [{ introduced: '0' }, { fixed: '1.0.0' }, { introduced: '1.0.0' }]],
  ] as [string, OsvRange['events']][])('is true for the OSV range %s', (described, events) => {
    expect(overBroadReason(published, ['1.0.1'], spec({ osvRanges: [semverRange(...events)] }))).toBe(`OSV range ${described} alone matches every version`);
  });

  it.each([['<1.0.0 || >1.0.0'], ['>=0.0.2'], ['>=1.95.6 <1.95.8'], ['<2.0.0'], ['>=0.0.1 <99.0.0']])('is false for the npm range "%s", which leaves a release out', (range) => {
    expect(overBroadReason(published, ['1.0.1'], spec({ ranges: [range] }))).toBeUndefined();
  });

  it.each([
    // closed, bounded above, or starting later: not "every version" by themselves.
    ['introduced "0" then fixed', spec({ osvRanges: [semverRange({ introduced: '0' }, { fixed: '1.1.0' })] })],
    ['introduced "0" under a finite limit', spec({ osvRanges: [semverRange({ introduced: '0' }, { limit: '1.1.0' })] })],
    ['introduced later, open-ended', spec({ osvRanges: [semverRange({ introduced: '1.1.0' })] })],
    ['an npm range with a lower bound', spec({ ranges: ['>=1.1.0'] })],
    ['an empty npm range (invalid, not "*")', spec({ ranges: [''] })],
  ])('is false for %s when published versions remain unaffected', (_rule, pkg) => {
    expect(isOverBroad(published, affectedAmong(published, pkg), pkg)).toBe(false);
  });
});

describe('real OSV records (test/fixtures/osv)', () => {
  const DIR = join(__dirname, 'fixtures', 'osv');
  const FILES = readdirSync(DIR).filter((file) => file.endsWith('.json'));
  const record = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown>;

  function onlyAlert(body: unknown): NormalizedAlert {
    const result = parseOsvAlerts(body);
    if (result.outcome !== 'alerts') throw new Error(`expected alerts, got ignored: ${result.reason}`);
    expect(result.alerts).toHaveLength(1);
    return result.alerts[0] as NormalizedAlert;
  }
  function onlyPackage(body: unknown): AffectedPackage {
    const { packages } = onlyAlert(body);
    expect(packages).toHaveLength(1);
    return packages[0] as AffectedPackage;
  }
  const pkgOf = (file: string): AffectedPackage => onlyPackage(record(file));

  it.each(FILES)('%s: every version it lists is affected, and nothing in it is invalid', (file) => {
    const pkg = pkgOf(file);
    expect(affectedAmong(pkg.versions, pkg)).toHaveLength(pkg.versions.length);
    expect(invalidVersionsIn(pkg)).toEqual([]);
  });

  // [file, published versions built around the record's, expected affected, expected over-broad]
  const cases: [file: string, published: string[], affected: string[], overBroad: boolean][] = [
    // introduced 1.95.6 / fixed 1.95.8: the fix is not affected.
    ['@solana__web3.js__MAL-2024-11183.json', ['1.95.4', '1.95.5', '1.95.6', '1.95.7', '1.95.8', '1.98.0'], ['1.95.6', '1.95.7'], false],
    // introduced 1.1.5 / last_affected 1.1.7: the last affected version is included.
    ['@ledgerhq__connect-kit__MAL-2023-8697.json', ['1.1.4', '1.1.5', '1.1.6', '1.1.7', '1.1.8'], ['1.1.5', '1.1.6', '1.1.7'], false],
    ['@crowdstrike__commitlint__MAL-2025-47233.json', ['8.1.0', '8.1.1', '8.1.2', '8.1.3'], ['8.1.1', '8.1.2'], false],
    // versions list and range disagree (18.1.4 only listed) and the range's pairs are unsorted: the union, sorted.
    [
      'ngx-bootstrap__MAL-2025-47197.json',
      ['18.1.3', '18.1.4', '19.0.2', '19.0.3', '19.0.4', '19.0.5', '20.0.2', '20.0.3', '20.0.4', '20.0.5', '20.0.6', '20.0.7'],
      ['18.1.4', '19.0.3', '19.0.4', '20.0.3', '20.0.4', '20.0.5', '20.0.6'],
      false,
    ],
    // an unsorted versions list with a prerelease: answered in semver order, the prerelease before its release.
    [
      '@asyncapi__specs__MAL-2025-190643.json',
      ['6.8.1', '6.8.2', '6.8.3', '6.9.0', '6.9.1', '6.10.0', '6.10.1', '6.11.1', '6.11.2-alpha.0', '6.11.2-alpha.1', '6.11.2', '6.11.3'],
      ['6.8.2', '6.8.3', '6.9.1', '6.10.1', '6.11.2-alpha.1', '6.11.2'],
      false,
    ],
    // unsorted across two majors.
    ['posthog-node__MAL-2025-190925.json', ['4.18.0', '4.18.1', '5.11.2', '5.11.3', '5.13.2', '5.13.3', '5.13.4'], ['4.18.1', '5.11.3', '5.13.3'], false],
    [
      'eslint-config-prettier__MAL-2025-6022.json',
      ['8.10.0', '8.10.1', '9.1.0', '9.1.1', '10.1.5', '10.1.6', '10.1.7', '10.1.8'],
      ['8.10.1', '9.1.1', '10.1.6', '10.1.7'],
      false,
    ],
    ['node-ipc__MAL-2026-3744.json', ['9.1.5', '9.1.6', '9.2.2', '9.2.3', '12.0.0', '12.0.1'], ['9.1.6', '9.2.3', '12.0.1'], false],
    // introduced "0" only: the whole package, so a human decides.
    ['flatmap-stream__MAL-2025-20690.json', ['0.1.0', '0.1.1', '0.1.2'], ['0.1.0', '0.1.1', '0.1.2'], true],
    ['0-shadowenv__MAL-2022-10.json', ['0.0.1', '1.0.0'], ['0.0.1', '1.0.0'], true],
  ];
  it.each(cases)('%s: affected among published, and whether that is over-broad', (file, published, affected, overBroad) => {
    const pkg = pkgOf(file);
    expect(affectedAmong(published, pkg)).toEqual(affected);
    expect(isOverBroad(published, affected, pkg)).toBe(overBroad);
  });

  it('ngx-bootstrap: the range alone misses the listed 18.1.4, and only sorted evaluation keeps 20.0.4', () => {
    const pkg = pkgOf('ngx-bootstrap__MAL-2025-47197.json');
    const [range] = pkg.osvRanges as [OsvRange];
    // As given: introduced 20.0.3, last_affected 20.0.6, introduced 19.0.3, last_affected 19.0.4.
    expect(range.events).toEqual([{ introduced: '20.0.3' }, { last_affected: '20.0.6' }, { introduced: '19.0.3' }, { last_affected: '19.0.4' }]);
    expect(isAffectedByRange('18.1.4', range)).toBe(false);
    expect(isAffected('18.1.4', pkg)).toBe(true);
    // Walked in the given order, the last_affected 19.0.4 listed last would close 20.0.4.
    expect(isAffectedByRange('20.0.4', range)).toBe(true);
  });

  it('flatmap-stream: the reason names the {introduced: "0"} range', () => {
    const pkg = pkgOf('flatmap-stream__MAL-2025-20690.json');
    expect(overBroadReason(['0.1.1'], ['0.1.1'], pkg)).toBe('OSV range {introduced: "0"} alone matches every version');
  });

  it('ngx-bootstrap merged with its first origin: the leftover {introduced: "0"} beside the exact data is reported', () => {
    // A feed that merges a record's revisions carries the first import's range (kept in
    // database_specific's malicious-packages-origins) beside the narrowed ones.
    const body = record('ngx-bootstrap__MAL-2025-47197.json') as {
      affected: { ranges: unknown[] }[];
      database_specific: { 'malicious-packages-origins': { ranges?: unknown[] }[] };
    };
    const [firstOrigin] = body.database_specific['malicious-packages-origins'];
    expect(firstOrigin?.ranges).toEqual([{ type: 'SEMVER', events: [{ introduced: '0' }] }]);
    body.affected[0]?.ranges.push(...(firstOrigin?.ranges ?? []));
    const pkg = onlyPackage(body);
    const published = ['18.1.3', '18.1.4', '19.0.3', '20.0.7'];
    expect(affectedAmong(published, pkg)).toEqual(published);
    expect(overBroadReason(published, affectedAmong(published, pkg), pkg)).toBe(
      'OSV range {introduced: "0"} alone matches every version, beside 7 exact versions and 1 narrower range: likely a leftover of an earlier revision',
    );
  });

  it('the withdrawn @amber-team/amazon-utils record: flagged withdrawn, and its {introduced: "0"} range would take every version', () => {
    // Withdrawal is the alert's business (alert.withdrawn: recorded, never acted on); the ranges
    // still evaluate as written, and would be over-broad anyway.
    const alert = onlyAlert(record('@amber-team__amazon-utils__MAL-2025-7048.json'));
    expect(alert.withdrawn).toBe(true);
    const [pkg] = alert.packages as [AffectedPackage];
    const published = ['1.0.0', '1.0.1', '2.0.0'];
    expect(affectedAmong(published, pkg)).toEqual(published);
    expect(overBroadReason(published, published, pkg)).toBe('OSV range {introduced: "0"} alone matches every version');
  });

  it('single-version records: the listed version only, unless it is all that was published', () => {
    const picasso = pkgOf('@toptal__picasso__MAL-2025-6038.json');
    expect(affectedAmong(['54.1.2', '54.1.3', '54.1.4'], picasso)).toEqual(['54.1.3']);
    expect(isOverBroad(['54.1.2', '54.1.3', '54.1.4'], ['54.1.3'], picasso)).toBe(false);
    // 02-echo lists 0.0.7; were it the only release, containing it means the whole package.
    const echo = pkgOf('02-echo__MAL-2025-191025.json');
    expect(affectedAmong(['0.0.7'], echo)).toEqual(['0.0.7']);
    expect(overBroadReason(['0.0.7'], ['0.0.7'], echo)).toBe('the only published version is affected');
  });
});
