// Pure containment decisions added for issue 9: the over-broad hold, latest within its major, the short
// marker and our own message template, bounded incident state, the OTP classification.
import { createHash } from 'node:crypto';
import { asksForOtp } from '../activities/registry';
import { boundView, compactReport, KEPT_REPORTS, KEPT_TIMELINE_ENTRIES, type IncidentView, type Report } from '../core/incident';
import { incidentId } from '../core/incident-id';
import { packageStateFromPackument, type PackageState } from '../core/package-state';
import {
  DEFAULT_MAX_VERSIONS_PER_CONTAINMENT,
  deprecationMessage,
  highestSafeVersion,
  incidentMarker,
  planContainment,
  planWrites,
  publishableAdvisoryIds,
  verifyContainment,
} from '../core/plan';
import { sha256Hex } from '../core/sha256';

function pkg(name: string, versions: string[], latest: string, more: { tags?: Record<string, string>; deprecated?: Record<string, string> } = {}): PackageState {
  return packageStateFromPackument(name, {
    'dist-tags': { latest, ...more.tags },
    versions: Object.fromEntries(versions.map((v) => [v, more.deprecated?.[v] ? { deprecated: more.deprecated[v] } : {}])),
  });
}

const range = (count: number, major = 1): string[] => Array.from({ length: count }, (_, i) => `${major}.0.${i}`);

describe('sha256 for workflow code', () => {
  it.each(['', 'abc', 'x'.repeat(55), 'x'.repeat(56), 'x'.repeat(64), 'é😀'.repeat(100), incidentId('https://registry.npmjs.org/', '@acme/core', range(200))])(
    'matches node:crypto for %#',
    (text) => {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    },
  );
});

describe('over-broad containments wait for a person', () => {
  const message = deprecationMessage('incident-x');
  const marker = incidentMarker('incident-x');

  it('holds a containment of every published version', () => {
    const plan = planContainment(pkg('@acme/core', ['1.0.0', '1.0.1'], '1.0.1'), ['1.0.0', '1.0.1'], message, marker);
    expect(plan.overBroad[0]).toMatch(/^all 2 published versions are affected/);
    expect(planContainment(pkg('@acme/solo', ['1.0.0'], '1.0.0'), ['1.0.0'], message, marker).overBroad[0]).toMatch(/^the only published version/);
  });

  it('holds more versions than the limit, the default and a configured one', () => {
    const state = pkg('@acme/core', range(DEFAULT_MAX_VERSIONS_PER_CONTAINMENT + 3), `1.0.${DEFAULT_MAX_VERSIONS_PER_CONTAINMENT + 2}`);
    const affected = range(DEFAULT_MAX_VERSIONS_PER_CONTAINMENT + 2).slice(1);
    expect(planContainment(state, affected.slice(1), message, marker).overBroad).toEqual([]);
    expect(planContainment(state, affected, message, marker).overBroad).toEqual([
      `${affected.length} versions, more than the limit of ${DEFAULT_MAX_VERSIONS_PER_CONTAINMENT} for one containment`,
    ]);
    expect(planContainment(state, ['1.0.1', '1.0.2', '1.0.3'], message, marker, { maxVersions: 2 }).overBroad).toEqual([
      '3 versions, more than the limit of 2 for one containment',
    ]);
    expect(planContainment(state, affected, message, marker, { maxVersions: 40 }).overBroad).toEqual([]);
  });

  it('holds when latest would have no safe target, and still plans the deprecation for an approver', () => {
    const state = pkg('@acme/core', ['1.0.0', '1.0.1'], '1.0.1', { deprecated: { '1.0.0': 'old' } });
    const plan = planContainment(state, ['1.0.1'], message, marker);
    expect(plan.overBroad).toEqual(['latest (1.0.1) would have no safe release to move to']);
    expect(plan.deprecate).toEqual(['1.0.1']);
    expect(plan.unresolved[0]).toMatch(/latest stays on @acme\/core@1\.0\.1/);
  });

  it('does not hold an ordinary containment', () => {
    const plan = planContainment(pkg('@acme/core', ['1.2.0', '1.2.1', '1.2.2', '1.2.3'], '1.2.3'), ['1.2.3'], message, marker);
    expect(plan.overBroad).toEqual([]);
    expect(plan.tagMoves).toEqual([{ tag: 'latest', from: '1.2.3', to: '1.2.2' }]);
  });
});

describe('latest stays in its major', () => {
  const message = deprecationMessage('incident-x');

  it('never moves latest to a higher major, even when that is the highest safe release', () => {
    const state = pkg('@acme/core', ['1.2.2', '1.2.3', '2.0.0'], '1.2.3', { tags: { next: '2.0.0' } });
    expect(highestSafeVersion(state, ['1.2.3'])).toBe('2.0.0');
    expect(planContainment(state, ['1.2.3'], message).tagMoves).toEqual([{ tag: 'latest', from: '1.2.3', to: '1.2.2' }]);
  });

  it('leaves latest for a person when its major has no safe release', () => {
    const state = pkg('@acme/core', ['1.0.0', '2.0.0'], '1.0.0', { tags: { next: '2.0.0' } });
    const plan = planContainment(state, ['1.0.0'], message);
    expect(plan.tagMoves).toEqual([]);
    expect(plan.unresolved).toEqual([expect.stringMatching(/latest stays on @acme\/core@1\.0\.0: no unaffected, undeprecated release in 1\.x/)]);
    expect(plan.overBroad).toEqual(['latest (1.0.0) would have no safe release to move to']);
  });

  it('treats a 0.x minor as the major, as caret ranges do', () => {
    const state = pkg('zero', ['0.1.0', '0.2.0', '0.2.1'], '0.2.1');
    expect(planContainment(state, ['0.2.1'], message).tagMoves).toEqual([{ tag: 'latest', from: '0.2.1', to: '0.2.0' }]);
    expect(planContainment(state, ['0.2.0', '0.2.1'], message).tagMoves).toEqual([]);
  });
});

describe('deprecation message and marker', () => {
  const id = incidentId('https://registry.npmjs.org/', '@acme/core', ['1.2.3']);

  it('is a short hash of the incident id', () => {
    expect(incidentMarker(id)).toMatch(/^qi:[0-9a-f]{8}$/);
    expect(incidentMarker(id)).not.toBe(incidentMarker(`${id}-dry-run`));
  });

  it('is our template: marker, strict advisory ids and our own link, then the on-call reason', () => {
    expect(deprecationMessage(id, { advisories: ['GHSA-9x4v-xfq5-m8x5', 'MAL-2025-1234'], reason: 'stolen token' })).toBe(
      `SECURITY: this release is compromised, do not install it (${incidentMarker(id)}; GHSA-9x4v-xfq5-m8x5, MAL-2025-1234; https://github.com/advisories/GHSA-9x4v-xfq5-m8x5): stolen token`,
    );
    expect(deprecationMessage(id, { advisories: ['MAL-2025-1234'] })).toBe(
      `SECURITY: this release is compromised, do not install it (${incidentMarker(id)}; MAL-2025-1234; https://osv.dev/vulnerability/MAL-2025-1234)`,
    );
  });

  it('publishes no alert text: ids of unknown form, links and instructions are dropped', () => {
    const hostile = ['use @evil/core-fixed instead', 'GHSA-9x4v-xfq5-m8x5 https://evil.example', 'https://evil.example/GHSA', 'GHSA-aaaa-bbbb-cccc', 'MAL-2025-1 ', 'snyk:lic:npm:x'];
    expect(publishableAdvisoryIds(hostile)).toEqual([]);
    const message = deprecationMessage(id, { advisories: hostile });
    expect(message).toBe(`SECURITY: this release is compromised, do not install it (${incidentMarker(id)})`);
  });

  it('keeps the marker for 200 versions and a 214-character name, and verification passes', () => {
    const name = `@acme/${'n'.repeat(214 - '@acme/'.length)}`;
    expect(name).toHaveLength(214);
    const versions = range(201);
    const affected = versions.slice(0, 200);
    // The id as the v1 code listed it, every version in it: the marker must survive any id, not only bounded ones.
    const incident = `incident-${name}@${affected.join(',')}-c95e5b87`;
    expect(incident.length).toBeGreaterThan(1000);
    const message = deprecationMessage(incident, { advisories: ['GHSA-9x4v-xfq5-m8x5'], reason: 'x'.repeat(1000) });
    expect(message.length).toBeLessThanOrEqual(300);
    const marker = incidentMarker(incident);
    expect(message).toContain(marker);

    const state = pkg(name, versions, '1.0.199');
    const plan = planContainment(state, affected, message, marker, { maxVersions: 200 });
    expect(plan.overBroad).toEqual([]);
    expect(plan.deprecate).toHaveLength(200);
    const deprecated = Object.fromEntries(affected.map((v) => [v, message]));
    const contained = { ...state, deprecated, distTags: { latest: '1.0.200' } };
    const checks = verifyContainment(plan, contained);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks).toHaveLength(201);
    expect(planWrites(planContainment(contained, affected, message, marker, { maxVersions: 200 }))).toBe(false);
  });
});

describe('bounded incident state', () => {
  const report = (i: number): Report => ({
    reportId: `r${i}`,
    requestedBy: `osv:MAL-2025-${i}`,
    reason: 'x'.repeat(5000),
    at: new Date(0).toISOString(),
    alert: { source: 'osv', sourceId: `MAL-2025-${i}`, kind: 'malware', severity: 'critical', aliases: [], evidence: Array.from({ length: 100 }, () => 'e'.repeat(2000)), withdrawn: false },
  });

  it('keeps a report small', () => {
    const kept = compactReport(report(1));
    expect(JSON.stringify(kept).length).toBeLessThan(5_000);
    expect(kept.alert?.evidence).toHaveLength(5);
  });

  it('keeps the first report and the latest, the first and latest timeline entries, with counts', () => {
    const view: IncidentView = {
      incident: 'i', status: 'verified', registry: 'r', name: 'n', versions: ['1.0.0'], reason: 'r', dryRun: false, startedAt: '', reports: [], timeline: [],
    };
    for (let i = 0; i < 1000; i++) {
      view.reports.push(compactReport(report(i)));
      view.reportCount = (view.reportCount ?? 0) + 1;
      view.timeline.push({ step: `s${i}`, status: 'ok', detail: '', startedAt: '' });
      boundView(view);
    }
    expect(view.reportCount).toBe(1000);
    expect(view.reports).toHaveLength(KEPT_REPORTS);
    expect(view.reports[0]!.reportId).toBe('r0');
    expect(view.reports[KEPT_REPORTS - 1]!.reportId).toBe('r999');
    expect(view.timeline).toHaveLength(KEPT_TIMELINE_ENTRIES);
    expect(view.timeline[0]!.step).toBe('s0');
    expect(view.timeline[view.timeline.length - 1]!.step).toBe('s999');
    expect(view.timelineDropped).toBe(1000 - KEPT_TIMELINE_ENTRIES);
    expect(JSON.stringify(view).length).toBeLessThan(300_000);
  });
});

describe('registry answers asking for a one-time password', () => {
  const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] ?? null });

  it('are told apart from a token without rights', () => {
    expect(asksForOtp({ code: 'EOTP', statusCode: 401 })).toBe(true);
    expect(asksForOtp({ statusCode: 401, headers: headers({ 'www-authenticate': 'OTP' }) })).toBe(true);
    expect(asksForOtp({ statusCode: 403, headers: headers({ 'npm-notice': 'This operation requires a one-time password' }) })).toBe(true);
    expect(asksForOtp({ statusCode: 403, body: { error: 'Two-factor authentication or granular access token with bypass 2fa enabled is required to publish packages.' } })).toBe(true);
    expect(asksForOtp({ statusCode: 403, body: { error: 'user acme-reader is not allowed to publish package otp' } })).toBe(false);
    expect(asksForOtp({ statusCode: 401, headers: headers({ 'www-authenticate': 'Bearer realm="npm"' }) })).toBe(false);
    expect(asksForOtp({ statusCode: 500, code: 'E500' })).toBe(false);
  });
});
