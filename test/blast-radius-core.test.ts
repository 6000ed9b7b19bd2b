// The blast-radius decisions without any server: build and publisher queries over provenance records,
// "most of our releases" as over-broad, and which containments an answer calls for.
import { affectedByBuild, affectedByComponents, PATH_DETAIL_LIMIT, publisherFindings, QueryError, type BlastRadius } from '../core/blast-radius';
import { parseGenericAlert } from '../core/alerts/generic';
import type { Report } from '../core/incident';
import { compromiseIncidentId, containmentsFor, routeAlert } from '../core/intake';
import { DEFAULT_POLICY } from '../core/playbook/policy';
import type { ReleaseIndex, ReleaseProvenance, SbomComponent } from '../core/release-index';
import { openReleaseIndex } from '../store/sqlite-store';

const REPO = 'https://github.com/acme/core';
const GOOD_COMMIT = 'a'.repeat(40);
const BAD_COMMIT = 'b'.repeat(40);

function provenance(version: string, over: Partial<ReleaseProvenance> = {}): ReleaseProvenance {
  return {
    release: { name: '@acme/core', version },
    status: 'verified',
    publishedAt: `2026-11-0${version.at(-1)}T12:00:00.000Z`,
    repository: REPO,
    workflowPath: '.github/workflows/release.yml',
    ref: 'refs/heads/main',
    commit: GOOD_COMMIT,
    runId: `100${version.at(-1)}`,
    runAttempt: '1',
    builderId: 'https://github.com/actions/runner/github-hosted',
    predicateType: 'https://slsa.dev/provenance/v1',
    ...over,
  };
}

let index: ReleaseIndex;
beforeEach(() => {
  index = openReleaseIndex(':memory:');
  index.putProvenance(provenance('1.0.1'));
  index.putProvenance(provenance('1.0.2'));
  // The poisoned build: valid provenance, from the usual repository, but a compromised run and commit.
  index.putProvenance(provenance('1.0.3', { commit: BAD_COMMIT, runId: '6666', runAttempt: '2' }));
  index.putProvenance(provenance('1.0.4', { repository: 'https://github.com/attacker/fork', commit: BAD_COMMIT, runId: '6667' }));
  index.putProvenance({ release: { name: '@acme/core', version: '1.0.5' }, status: 'none', reason: 'no provenance', publishedAt: '2026-11-05T12:00:00.000Z' });
  index.putProvenance({ release: { name: '@acme/core', version: '1.0.6' }, status: 'invalid', reason: 'signature does not verify', publishedAt: '2026-11-06T12:00:00.000Z' });
  index.putProvenance(provenance('1.0.7'));
  index.putProvenance(provenance('1.0.8'));
  index.putProvenance(provenance('1.0.9'));
});
afterEach(() => index.close());

const names = (radius: BlastRadius) => radius.releases.map((r) => r.version);

describe('by build', () => {
  test('a run id, a commit (or its prefix) and a workflow name the releases they built; invalid provenance is never matched by its facts', () => {
    expect(names(affectedByBuild(index, { runIds: ['6666'] }))).toEqual(['1.0.3']);
    expect(names(affectedByBuild(index, { commits: [BAD_COMMIT.slice(0, 7)] }))).toEqual(['1.0.3', '1.0.4']);
    expect(names(affectedByBuild(index, { commits: [BAD_COMMIT], workflows: ['attacker/fork/.github/workflows/release.yml'] }))).toEqual(['1.0.4']);
    const run = affectedByBuild(index, { runIds: ['6666'] });
    expect(run.releases[0]!.reasons[0]).toMatchObject({ kind: 'build', matched: ['run 6666 attempt 2'] });
  });

  test('a time window takes every release published inside it, with or without provenance', () => {
    const window = affectedByBuild(index, { since: '2026-11-04T00:00:00Z', until: '2026-11-06T23:59:59Z' });
    expect(names(window)).toEqual(['1.0.4', '1.0.5', '1.0.6']);
    expect(window.overBroad).toBeUndefined();
  });

  test('a window or workflow that takes most of our releases is over-broad', () => {
    const radius = affectedByBuild(index, { workflows: ['.github/workflows/release.yml'] });
    expect(radius.releases.length).toBe(7);
    expect(radius.overBroad).toBe('7 of our 9 releases are affected: more than half of what we ship');
  });

  test('bad queries are refused', () => {
    expect(() => affectedByBuild(index, {})).toThrow(QueryError);
    expect(() => affectedByBuild(index, { commits: ['xyz'] })).toThrow('"xyz" is not a git commit');
    expect(() => affectedByBuild(index, { runIds: ['12a'] })).toThrow('run id "12a" is not a number');
    expect(() => affectedByBuild(index, { since: '2026-11-09', until: '2026-11-01' })).toThrow('--since is after --until');
  });
});

describe('by publisher', () => {
  test('no provenance, failed verification and a repository other than the usual one are findings; the usual ones are not', () => {
    const radius = publisherFindings(index);
    expect(radius.releases.map((r) => [r.version, r.reasons[0]!.kind === 'publisher' ? r.reasons[0]!.finding : ''])).toEqual([
      ['1.0.4', 'built by attacker/fork/.github/workflows/release.yml, while the package\'s other releases come from acme/core/.github/workflows/release.yml'],
      ['1.0.5', 'published without provenance'],
      ['1.0.6', 'provenance does not verify: signature does not verify'],
    ]);
  });

  test('an explicit policy overrides what is learnt', () => {
    const radius = publisherFindings(index, { repositories: ['attacker/fork'] });
    expect(names(radius)).toEqual(['1.0.1', '1.0.2', '1.0.3', '1.0.5', '1.0.6', '1.0.7', '1.0.8', '1.0.9']);
  });
});

describe('by component over an index', () => {
  const component = (name: string, version: string): SbomComponent => ({ name, version, purl: `pkg:npm/${name}@${version}`, direct: true, parent: null, depth: 1 });
  test('a narrow version in most of our releases is over-broad too', () => {
    for (const v of ['1.0.1', '1.0.2', '1.0.3']) {
      index.putSbom({ release: { name: '@acme/core', version: v }, specVersion: '1.5', digest: v, components: [component('left-pad', '1.3.0')] });
    }
    const radius = affectedByComponents(index, [{ name: 'left-pad', versions: ['1.3.0'], ranges: [], osvRanges: [] }]);
    expect(names(radius)).toEqual(['1.0.1', '1.0.2', '1.0.3']);
    expect(radius.overBroad).toBeUndefined();
    for (const v of ['1.0.4', '1.0.5']) {
      index.putSbom({ release: { name: '@acme/core', version: v }, specVersion: '1.5', digest: v, components: [component('left-pad', '1.3.0')] });
    }
    expect(affectedByComponents(index, [{ name: 'left-pad', versions: ['1.3.0'], ranges: [], osvRanges: [] }]).overBroad).toBe('5 of our 9 releases are affected: more than half of what we ship');
  });
});

describe('a large answer', () => {
  test('lists every release but leaves out dependency paths above the detail limit', () => {
    const big = openReleaseIndex(':memory:');
    const sbom = (version: string, components: SbomComponent[]) => ({ release: { name: '@acme/app', version }, specVersion: '1.5', digest: version, components });
    const dep = (version: string): SbomComponent => ({ name: 'tslib', version, purl: `pkg:npm/tslib@${version}`, direct: false, parent: 0, depth: 2 });
    const mid: SbomComponent = { name: 'mid', version: '1.0.0', purl: 'pkg:npm/mid@1.0.0', direct: true, parent: null, depth: 1 };
    for (let i = 0; i < PATH_DETAIL_LIMIT + 1; i++) big.putSbom(sbom(`1.0.${i}`, [mid, dep(i % 2 === 0 ? '2.8.0' : '2.8.1')]));
    const small = affectedByComponents(big, [{ name: 'tslib', versions: ['2.8.1'], ranges: [], osvRanges: [] }]);
    expect(small.releases).toHaveLength(PATH_DETAIL_LIMIT / 2);
    expect(small.pathsOmitted).toBeUndefined();
    expect(small.releases[0]!.reasons[0]).toMatchObject({ path: ['@acme/app@1.0.1', 'mid@1.0.0', 'tslib@2.8.1'] });

    const all = affectedByComponents(big, [{ name: 'tslib', versions: [], ranges: ['>=2.8.0 <2.9.0'], osvRanges: [] }]);
    expect(all.releases).toHaveLength(PATH_DETAIL_LIMIT + 1);
    // Sorted by version, not as text: 1.0.2 before 1.0.10.
    expect(all.releases.slice(0, 3).map((r) => r.version)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    expect(all.pathsOmitted).toBe(`${PATH_DETAIL_LIMIT + 1} occurrences, more than ${PATH_DETAIL_LIMIT}: dependency paths left out (ask about fewer versions for them)`);
    expect(all.releases.every((r) => r.reasons.every((reason) => reason.kind === 'component' && reason.path.length === 0 && !reason.direct))).toBe(true);
    expect(all.overBroad).toMatch(/more than half of what we ship/);
    big.close();
  });
});

describe('a compromised-build alert', () => {
  const body = {
    id: 'ACME-2026-7',
    kind: 'compromised-build',
    severity: 'critical',
    title: 'release workflow run 6666 executed an injected step',
    build: { runIds: ['6666'], commits: [BAD_COMMIT.toUpperCase()] },
  };
  const registry = 'http://registry.example/';
  const context = { owned: ['@acme/*'], registry, deliveryId: 'd1', receivedAt: '2026-11-26T00:00:00.000Z' };

  test('routes to one build incident carrying the build, and its blast radius to the playbook incident of the compromise', () => {
    const parsed = parseGenericAlert(body);
    if (parsed.outcome !== 'alerts') throw new Error('expected alerts');
    const [route, ...more] = routeAlert(parsed.alerts[0]!, context);
    expect(more).toEqual([]);
    expect(route!.workflow).toBe('watchIncidentWorkflow');
    if (route!.workflow !== 'watchIncidentWorkflow') return;
    expect(route!.request).toMatchObject({ kind: 'compromised-build', registry, build: { runIds: ['6666'], commits: [BAD_COMMIT] } });

    const radius = affectedByBuild(index, route!.request.build!);
    const { contain, held } = containmentsFor(radius, registry, route!.report, DEFAULT_POLICY);
    expect(held).toEqual([]);
    // The compromise's own id, the one the intake gives this alert when it names our release itself.
    expect(contain?.start.compromise).toMatchObject({ incident: compromiseIncidentId(route!.report.alert!, registry), trigger: 'compromised-build', severity: 'critical', releases: [{ name: '@acme/core', versions: ['1.0.3'] }] });
    expect(contain?.start.first.report.reason).toMatch(/^built by run 6666 attempt 2, commit b{40}: compromised-build \(critical\)/);
  });

  test('a vulnerability, an over-broad answer or a withdrawn alert opens no containment', () => {
    const radius = affectedByBuild(index, { runIds: ['6666'] });
    const report = (kind: 'vulnerability' | 'malware', withdrawn = false): Report => ({
      reportId: 'r',
      requestedBy: 'x',
      reason: 'y',
      at: context.receivedAt,
      alert: { source: 'generic', sourceId: 'A', kind, severity: 'high', aliases: [], evidence: [], withdrawn },
    });
    expect(containmentsFor(radius, registry, report('malware'), DEFAULT_POLICY).contain?.start.compromise.releases).toEqual([{ name: '@acme/core', versions: ['1.0.3'] }]);
    const none = { held: [] };
    expect(containmentsFor(radius, registry, report('vulnerability'), DEFAULT_POLICY)).toEqual(none);
    expect(containmentsFor(radius, registry, report('malware', true), DEFAULT_POLICY)).toEqual(none);
    expect(containmentsFor({ ...radius, overBroad: 'too much' }, registry, report('malware'), DEFAULT_POLICY)).toEqual(none);
  });

  test('a build on another kind of alert, or a build that names nothing, is refused', () => {
    expect(() => parseGenericAlert({ ...body, kind: 'malware', package: { name: 'x', versions: ['1.0.0'] } })).toThrow(/build: only an alert of kind compromised-build names a build/);
    expect(() => parseGenericAlert({ ...body, build: {} })).toThrow(/name a run, commit, workflow or time bound/);
    expect(() => parseGenericAlert({ ...body, build: { runIds: ['1; rm -rf /'] } })).toThrow(/a GitHub Actions run id/);
  });
});
