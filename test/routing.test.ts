// Routing decisions without any server: which alerts may lead to a containment, which incident a
// route joins (review finding H3's reproductions), how long ids get, and which packages a blast
// radius leaves for a person (H4, M10).
import type { AlertSeverity, NormalizedAlert } from '../core/alert';
import { parseGenericAlert } from '../core/alerts/generic';
import { parseGithubDelivery } from '../core/alerts/github';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { affectedByComponents, type AffectedRelease, type BlastRadius } from '../core/blast-radius';
import type { Report } from '../core/incident';
import { MAX_INCIDENT_ID_LENGTH } from '../core/incident-id';
import { compromiseIncidentId, containmentsFor, routeAlert, type Route, type RoutingContext } from '../core/intake';
import { DEFAULT_POLICY } from '../core/playbook/policy';
import { parsePolicy } from '../core/playbook/policy-file';
import type { ReleaseIndex, SbomComponent } from '../core/release-index';
import { IncidentIndex, routeKind } from '../server/incident-index';
import { openReleaseIndex } from '../store/sqlite-store';
import { dependabotOnCore, GHSA, malwareAdvisoryOnCore, type Payload } from './helpers/github-payloads';

const REGISTRY = 'http://registry.example/';
const context = (deliveryId: string, owned: string[] = ['@acme/*']): RoutingContext => ({ owned, registry: REGISTRY, deliveryId, receivedAt: '2026-12-01T00:00:00.000Z' });

function alertsOf(parsed: ParsedDelivery): NormalizedAlert[] {
  if (parsed.outcome !== 'alerts') throw new Error(`expected alerts, got ignored: ${parsed.reason}`);
  return parsed.alerts;
}
const generic = (body: Record<string, unknown>): NormalizedAlert => alertsOf(parseGenericAlert({ severity: 'critical', title: 't', ...body }))[0]!;
const routesOf = (alert: NormalizedAlert, deliveryId = 'd', owned?: string[]): Route[] => routeAlert(alert, context(deliveryId, owned));
const summary = (route: Route) => ({ workflow: route.workflow, kind: routeKind(route), incident: route.incident });

describe('routeAlert: only what may write goes to a containment', () => {
  it.each(['low', 'critical'])('sends a %s vulnerability on exact versions of our release to review, never to a containment', (severity) => {
    const alert = generic({ id: 'audit-1', kind: 'vulnerability', severity, title: 'ReDoS in parseHeader', package: { name: '@acme/core', versions: ['1.2.3'] } });
    const [route, ...more] = routesOf(alert);
    expect(more).toEqual([]);
    expect(summary(route!)).toEqual({ workflow: 'watchIncidentWorkflow', kind: 'review', incident: expect.stringMatching(/^review-@acme\/core@1\.2\.3-/) });
  });

  it('sends live malware and a compromised build naming exact versions of our release to the playbook incident of the compromise', () => {
    for (const kind of ['malware', 'compromised-build']) {
      const routes = routesOf(generic({ id: `x-${kind}`, kind, package: { name: '@acme/core', versions: ['1.2.3'] } }));
      expect(routes.map(summary)).toEqual([{ workflow: 'playbookWorkflow', kind: 'containment', incident: expect.stringMatching(/^compromise-generic-[0-9a-f]{8}-[0-9a-f]{8}$/) }]);
      expect(routes[0]!.workflow === 'playbookWorkflow' && routes[0]!.compromise.releases).toEqual([{ name: '@acme/core', versions: ['1.2.3'] }]);
    }
  });

  it('puts every release of ours that one alert names into one incident, named by the advisory, and watches the rest', () => {
    const routes = routesOf(
      generic({
        id: 'MAL-2026-3141',
        kind: 'malware',
        packages: [
          { name: '@acme/core', versions: ['1.2.3', '1.2.4'] },
          { name: '@acme/cli', versions: ['2.0.1'] },
          { name: 'left-pad', versions: ['1.3.1'] },
        ],
      }),
    );
    expect(routes.map(summary)).toEqual([
      { workflow: 'playbookWorkflow', kind: 'containment', incident: expect.stringMatching(/^compromise-MAL-2026-3141-[0-9a-f]{8}$/) },
      { workflow: 'watchIncidentWorkflow', kind: 'dependency', incident: expect.stringMatching(/^dependency-left-pad@1\.3\.1-/) },
    ]);
    const [containment] = routes;
    expect(containment!.workflow === 'playbookWorkflow' && containment!.compromise.releases).toEqual([
      { name: '@acme/core', versions: ['1.2.3', '1.2.4'] },
      { name: '@acme/cli', versions: ['2.0.1'] },
    ]);
  });

  it('sends a withdrawn malware alert on our release to a withdrawn incident', () => {
    const alert = { ...generic({ id: 'x', kind: 'malware', package: { name: '@acme/core', versions: ['1.2.3'] } }), withdrawn: true };
    expect(routesOf(alert).map(summary)).toEqual([{ workflow: 'watchIncidentWorkflow', kind: 'withdrawn', incident: expect.stringMatching(/^withdrawn-@acme\/core@1\.2\.3-/) }]);
  });

  it('keeps every id under MAX_INCIDENT_ID_LENGTH: 1,000 versions, the longest names', () => {
    const versions = Array.from({ length: 1_000 }, (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`);
    const longName = `@acme/${'x'.repeat(200)}`;
    const alerts = [
      generic({ id: 'many', kind: 'malware', package: { name: '@acme/core', versions } }),
      generic({ id: 'many-long', kind: 'malware', package: { name: longName, versions } }),
      generic({ id: 'many-dep', kind: 'malware', package: { name: `left-${'p'.repeat(200)}`, versions } }),
      generic({ id: 'many-review', kind: 'vulnerability', package: { name: longName, versions } }),
    ];
    const routes = alerts.flatMap((alert) => routesOf(alert));
    expect(routes.map(routeKind)).toEqual(['containment', 'containment', 'dependency', 'review']);
    for (const route of routes) expect(route.incident.length).toBeLessThanOrEqual(MAX_INCIDENT_ID_LENGTH);
  });
});

describe('IncidentIndex: routes join only incidents of their own kind (review finding H3)', () => {
  const githubRoutes = (event: string, payload: Payload, delivery: string) => alertsOf(parseGithubDelivery(event, payload)).flatMap((alert, i) => routesOf(alert, `${delivery}/${i}`));

  it('a Dependabot range alert, then the exact-version GHSA malware advisory: the advisory reaches the containment', () => {
    const index = new IncidentIndex();
    const [review] = index.assign(githubRoutes('dependabot_alert', dependabotOnCore('created'), 'g1'));
    expect(summary(review!.route)).toMatchObject({ kind: 'review' });
    const [advisory] = index.assign(githubRoutes('security_advisory', malwareAdvisoryOnCore(), 'g2'));
    expect(advisory!.isNew).toBe(true);
    expect(summary(advisory!.route)).toEqual({ workflow: 'playbookWorkflow', kind: 'containment', incident: expect.stringMatching(new RegExp(`^compromise-${GHSA}-`)) });
    expect(advisory!.route.report.alert).toMatchObject({ sourceId: GHSA, kind: 'malware' });
    // A second copy of the advisory joins that containment.
    const [again] = index.assign(githubRoutes('security_advisory', malwareAdvisoryOnCore(), 'g3'));
    expect(again).toMatchObject({ isNew: false, route: { incident: advisory!.route.incident } });
  });

  it('the advisory, then a Dependabot `fixed` for the same GHSA: the withdrawal never reaches the containment', () => {
    const index = new IncidentIndex();
    const [containment] = index.assign(githubRoutes('security_advisory', malwareAdvisoryOnCore(), 'g1'));
    expect(routeKind(containment!.route)).toBe('containment');
    const [fixed] = index.assign(githubRoutes('dependabot_alert', dependabotOnCore('fixed'), 'g2'));
    expect(fixed!.route.workflow).toBe('watchIncidentWorkflow');
    expect(routeKind(fixed!.route)).toBe('withdrawn');
    expect(fixed!.route.incident).not.toBe(containment!.route.incident);
    expect(fixed!.route.report.alert?.withdrawn).toBe(true);
    // A second withdrawal of the same compromise joins the withdrawn incident.
    const [fixedElsewhere] = index.assign(githubRoutes('dependabot_alert', dependabotOnCore('fixed', 'acme-consumer/other', 9), 'g3'));
    expect(fixedElsewhere).toMatchObject({ isNew: false, route: { incident: fixed!.route.incident } });
  });

  it('a scanner that first gives a range and then the version: the version reaches the containment', () => {
    const index = new IncidentIndex();
    const [range] = index.assign(routesOf(generic({ id: 'inhouse-9', kind: 'malware', package: { name: '@acme/core', ranges: ['>=1.2.3 <1.2.4'] } }), 's1'));
    expect(routeKind(range!.route)).toBe('review');
    const [exact] = index.assign(routesOf(generic({ id: 'inhouse-9', kind: 'malware', package: { name: '@acme/core', versions: ['1.2.3'] } }), 's2'));
    expect(summary(exact!.route)).toEqual({ workflow: 'playbookWorkflow', kind: 'containment', incident: expect.stringMatching(/^compromise-generic-/) });
  });

  it('a report of the same compromise under an alias joins its incident and brings the releases it names', () => {
    const index = new IncidentIndex();
    const [first] = index.assign(routesOf(generic({ id: 'MAL-2026-1', kind: 'malware', package: { name: '@acme/core', versions: ['1.2.2'] } }), 'a'));
    const [other] = index.assign(routesOf(generic({ id: 'scan-1', kind: 'malware', aliases: ['MAL-2026-1'], package: { name: '@acme/cli', versions: ['2.0.1'] } }), 'b'));
    expect(other).toMatchObject({ isNew: false, route: { workflow: 'playbookWorkflow', incident: first!.route.incident } });
    expect(other!.route.workflow === 'playbookWorkflow' && other!.route.compromise.releases).toEqual([{ name: '@acme/cli', versions: ['2.0.1'] }]);
  });

  it('a dependency alert never joins a review incident, and a review never joins a containment, even by alias', () => {
    const index = new IncidentIndex();
    const [containment] = index.assign(routesOf(generic({ id: 'MAL-2', kind: 'malware', package: { name: '@acme/core', versions: ['1.2.3'] } }), 'a'));
    const [review] = index.assign(routesOf(generic({ id: 'vuln-2', kind: 'vulnerability', aliases: ['MAL-2'], package: { name: '@acme/core', versions: ['1.2.3'] } }), 'b'));
    expect(review).toMatchObject({ isNew: true, route: { workflow: 'watchIncidentWorkflow' } });
    expect(review!.route.incident).not.toBe(containment!.route.incident);
    // The same package seen as a dependency (another intake's owned patterns): its own incident.
    const [dependency] = index.assign(routesOf(generic({ id: 'vuln-2', kind: 'vulnerability', package: { name: '@acme/core', versions: ['1.2.3'] } }), 'c', []));
    expect(dependency).toMatchObject({ isNew: true });
    expect(routeKind(dependency!.route)).toBe('dependency');
  });

  it('a malware report never joins, by alias, a dependency incident a vulnerability started (it would act on the versions the vulnerability named)', () => {
    const index = new IncidentIndex();
    const [vulnerable] = index.assign(routesOf(generic({ id: 'vuln-4', kind: 'vulnerability', aliases: ['CVE-2026-4'], package: { name: 'left-pad', versions: ['1.3.0'] } }), 'a'));
    const [malware] = index.assign(routesOf(generic({ id: 'mal-4', kind: 'malware', aliases: ['CVE-2026-4'], package: { name: 'left-pad', ranges: ['>=2.0.0 <2.0.2'] } }), 'b'));
    expect(routeKind(malware!.route)).toBe('dependency');
    expect(malware).toMatchObject({ isNew: true });
    expect(malware!.route.incident).not.toBe(vulnerable!.route.incident);
    // The other way round is fine: a vulnerability joining a malware incident never acts.
    const [later] = index.assign(routesOf(generic({ id: 'vuln-5', kind: 'vulnerability', aliases: ['mal-4'], package: { name: 'left-pad', versions: ['2.0.1'] } }), 'c'));
    expect(later).toMatchObject({ isNew: false, route: { incident: malware!.route.incident } });
  });

  it('replaying a journal rebuilds the same joins', () => {
    const first = new IncidentIndex();
    const review = first.assign(githubRoutes('dependabot_alert', dependabotOnCore('created'), 'g1'));
    const second = new IncidentIndex();
    second.replay('g1', review.map((a) => a.route));
    const [advisory] = second.assign(githubRoutes('security_advisory', malwareAdvisoryOnCore(), 'g2'));
    expect(routeKind(advisory!.route)).toBe('containment');
    const [resent] = second.assign(githubRoutes('dependabot_alert', dependabotOnCore('created', 'acme-consumer/other', 8), 'g3'));
    expect(resent).toMatchObject({ isNew: false, route: { incident: review[0]!.route.incident } });
  });
});

describe('containmentsFor: one playbook incident per compromise, a person decides what would take a whole package (H4, M10)', () => {
  let index: ReleaseIndex;
  const leftPad = (version: string): SbomComponent => ({ name: 'left-pad', version, purl: `pkg:npm/left-pad@${version}`, direct: true, parent: null, depth: 1 });
  const report = (kind: 'malware' | 'vulnerability', withdrawn = false, severity: AlertSeverity = 'critical'): Report => ({
    reportId: 'osv:d:0',
    requestedBy: 'osv:MAL-2026-1',
    reason: `${kind} (${severity}): left-pad`,
    at: '2026-12-01T00:00:00.000Z',
    alert: { source: 'osv', sourceId: 'MAL-2026-1', kind, severity, aliases: ['GHSA-2222-3333-4444', 'SNYK-JS-LEFTPAD-1'], evidence: [], withdrawn },
  });
  beforeEach(() => {
    // Review finding H4's index: 20 releases each of core, cli and utils; only core ships left-pad.
    index = openReleaseIndex(':memory:');
    for (const name of ['@acme/core', '@acme/cli', '@acme/utils']) {
      for (let i = 0; i < 20; i++) {
        index.putSbom({ release: { name, version: `1.0.${i}` }, specVersion: '1.5', digest: `${name}${i}`, components: name === '@acme/core' ? [leftPad(i < 10 ? '1.3.0' : '1.3.1')] : [] });
      }
    }
  });
  afterEach(() => index.close());
  const query = (over: Partial<{ versions: string[]; ranges: string[] }>) => [{ name: 'left-pad', versions: [], ranges: [], osvRanges: [], ...over }];
  const secondHalf = Array.from({ length: 10 }, (_, i) => `1.0.${i + 10}`);

  it('a malware alert on left-pad >=0.0.1 (20 of 60 releases, every release of core) opens nothing', () => {
    const radius = affectedByComponents(index, query({ ranges: ['>=0.0.1'] }));
    expect(radius.releases).toHaveLength(20);
    expect(radius.overBroad).toBe('left-pad: range ">=0.0.1" alone matches every version');
    expect(containmentsFor(radius, REGISTRY, report('malware'), DEFAULT_POLICY)).toEqual({ held: [] });
  });

  it('exact versions that reach every indexed release of a package hold that package for a person', () => {
    const radius = affectedByComponents(index, query({ versions: ['1.3.0', '1.3.1'] }));
    expect(radius.overBroad).toBeUndefined();
    expect(radius.wholePackages).toEqual([{ name: '@acme/core', reason: '@acme/core: all 20 indexed releases are affected' }]);
    const decision = containmentsFor(radius, REGISTRY, report('malware'), DEFAULT_POLICY);
    expect(decision.contain).toBeUndefined();
    expect(decision.held).toEqual([{ name: '@acme/core', versionCount: 20, versions: expect.arrayContaining(['1.0.0', '1.0.19']), reason: '@acme/core: all 20 indexed releases are affected' }]);
    expect(decision.held[0]!.versions).toHaveLength(20);
  });

  it('exact versions that reach part of a package contain that part, in the incident named by the compromise', () => {
    const radius = affectedByComponents(index, query({ versions: ['1.3.1'] }));
    const decision = containmentsFor(radius, REGISTRY, report('malware'), DEFAULT_POLICY);
    expect(decision.held).toEqual([]);
    expect(decision.contain?.start.compromise).toEqual({
      incident: expect.stringMatching(/^compromise-MAL-2026-1-[0-9a-f]{8}$/),
      registry: REGISTRY,
      trigger: 'malware',
      severity: 'critical',
      releases: [{ name: '@acme/core', versions: secondHalf }],
      advisories: ['MAL-2026-1', 'GHSA-2222-3333-4444', 'SNYK-JS-LEFTPAD-1'],
      approvedReleases: [],
    });
    expect(decision.contain?.start.first.report.reason).toBe('ships left-pad@1.3.1: malware (critical): left-pad');
    // An open incident under a readable alias (a direct GHSA alert, say) is joined; an id of no known form names none.
    expect(decision.contain?.aliasIncidents).toEqual([expect.stringMatching(/^compromise-GHSA-2222-3333-4444-[0-9a-f]{8}$/)]);
    expect(containmentsFor(radius, REGISTRY, report('vulnerability'), DEFAULT_POLICY)).toEqual({ held: [] });
    expect(containmentsFor(radius, REGISTRY, report('malware', true), DEFAULT_POLICY)).toEqual({ held: [] });
  });

  it('the same answer gives the same report (a retry is taken once); an answer reaching more gives a new one', () => {
    const one = containmentsFor(affectedByComponents(index, query({ versions: ['1.3.1'] })), REGISTRY, report('malware'), DEFAULT_POLICY);
    const again = containmentsFor(affectedByComponents(index, query({ versions: ['1.3.1'] })), REGISTRY, report('malware'), DEFAULT_POLICY);
    expect(again).toEqual(one);
    // Releases the index learnt since: 1.3.0 in five more releases of core (not all of it).
    for (let i = 0; i < 5; i++) index.putSbom({ release: { name: '@acme/core', version: `1.1.${i}` }, specVersion: '1.5', digest: `more${i}`, components: [leftPad('1.3.1')] });
    const more = containmentsFor(affectedByComponents(index, query({ versions: ['1.3.1'] })), REGISTRY, report('malware'), DEFAULT_POLICY);
    expect(more.contain?.start.compromise.incident).toBe(one.contain?.start.compromise.incident);
    expect(more.contain?.start.first.report.reportId).not.toBe(one.contain?.start.first.report.reportId);
    expect(more.contain?.start.first.releases).toEqual([{ name: '@acme/core', versions: [...secondHalf, '1.1.0', '1.1.1', '1.1.2', '1.1.3', '1.1.4'] }]);
  });

  it('a report below the policy\'s minimum severity contains nothing and holds every package, saying why', () => {
    const strict = parsePolicy({ version: 1, triggers: { malware: { minSeverity: 'high' } } });
    const radius = affectedByComponents(index, query({ versions: ['1.3.1'] }));
    const decision = containmentsFor(radius, REGISTRY, report('malware', false, 'moderate'), strict);
    expect(decision.contain).toBeUndefined();
    expect(decision.held).toEqual([{ name: '@acme/core', versionCount: 10, versions: secondHalf, reason: "a moderate-severity malware report is below the policy's minimum (high): recorded, not contained" }]);
    expect(containmentsFor(radius, REGISTRY, report('malware', false, 'high'), strict).contain?.start.first.releases).toEqual([{ name: '@acme/core', versions: secondHalf }]);
  });

  it('every package an answer reaches goes to the one incident; a package it would take whole is held, the rest contained', () => {
    const release = (name: string, version: string): AffectedRelease => ({ name, version, reasons: [{ kind: 'component', component: { name: 'left-pad', version: '1.3.1', purl: 'pkg:npm/left-pad@1.3.1' }, direct: true, path: [] }] });
    const radius: BlastRadius = {
      query: 'left-pad@1.3.1',
      releases: [release('@acme/utils', '1.0.0'), release('@acme/core', '1.0.10'), release('@acme/cli', '1.0.1'), release('@acme/core', '1.0.11')],
      warnings: [],
      indexedReleases: 60,
      wholePackages: [{ name: '@acme/utils', reason: '@acme/utils: its only indexed release is affected' }],
    };
    const decision = containmentsFor(radius, REGISTRY, report('malware'), DEFAULT_POLICY);
    expect(decision.contain?.start.compromise.releases).toEqual([{ name: '@acme/cli', versions: ['1.0.1'] }, { name: '@acme/core', versions: ['1.0.10', '1.0.11'] }]);
    expect(decision.contain?.start.first.releases).toEqual(decision.contain?.start.compromise.releases);
    expect(decision.held).toEqual([{ name: '@acme/utils', versionCount: 1, versions: ['1.0.0'], reason: '@acme/utils: its only indexed release is affected' }]);
  });

  it('an alert naming our release and a dependency: the dependency\'s blast radius joins the incident the intake opens, as a report of its own', () => {
    // The dependency is listed first: its watch report and the containment's report share the alert's first index.
    const alert = generic({ id: 'MAL-2026-9', kind: 'malware', packages: [{ name: 'left-pad', versions: ['1.3.1'] }, { name: '@acme/cli', versions: ['1.0.3'] }] });
    const routes = routesOf(alert);
    const direct = routes.find((r) => r.workflow === 'playbookWorkflow');
    const dependency = routes.find((r) => r.workflow === 'watchIncidentWorkflow');
    if (direct?.workflow !== 'playbookWorkflow' || dependency?.workflow !== 'watchIncidentWorkflow') throw new Error('expected a containment and a watch route');
    const decision = containmentsFor(affectedByComponents(index, [dependency.request.affected!]), REGISTRY, dependency.report, DEFAULT_POLICY);
    expect(decision.contain?.start.compromise.incident).toBe(direct.incident);
    expect(dependency.report.reportId).toBe(direct.compromise.report.reportId);
    // Otherwise the incident would take the blast radius's releases for a report it already has, and drop them.
    expect(decision.contain?.start.first.report.reportId).not.toBe(direct.compromise.report.reportId);
    expect(decision.contain?.start.first.releases).toEqual([{ name: '@acme/core', versions: secondHalf }]);
  });

  it('an exact alert on a package the index knows as ours contains the release itself, without owned patterns (M10)', () => {
    const alert = generic({ id: 'MAL-3', kind: 'malware', package: { name: '@acme/utils', versions: ['1.0.7'] } });
    const [route] = routesOf(alert, 'd', []);
    expect(routeKind(route!)).toBe('dependency');
    if (route!.workflow !== 'watchIncidentWorkflow') throw new Error('expected a watch route');
    const radius = affectedByComponents(index, [route!.request.affected!]);
    expect(radius.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/utils@1.0.7']);
    const decision = containmentsFor(radius, REGISTRY, route!.report, DEFAULT_POLICY);
    expect(decision.contain?.start.compromise.incident).toBe(compromiseIncidentId(route!.report.alert!, REGISTRY));
    expect(decision.contain?.start.compromise.releases).toEqual([{ name: '@acme/utils', versions: ['1.0.7'] }]);
    expect(decision.contain?.start.first.report.reason).toMatch(/^named by the alert: malware \(critical\)/);
  });

  it('a range on a package the index knows as ours is never contained: it is a warning for a person', () => {
    const radius = affectedByComponents(index, [{ name: '@acme/utils', versions: [], ranges: ['>=1.0.5 <1.0.7'], osvRanges: [] }]);
    expect(radius.releases).toEqual([]);
    expect(radius.warnings).toEqual([expect.stringMatching(/^@acme\/utils is one of our packages: its ranges take 2 of our releases, never contained automatically/)]);
  });
});
