// GitHub webhook intake against GitHub's real example payloads (@octokit/webhooks-examples 7.6.1).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NormalizedAlert } from '../core/alert';
import { githubRangeToNpm, parseGithubDelivery } from '../core/alerts/github';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { rejection } from './helpers/alerts';

type Payload = Record<string, unknown> & { action?: string };
const EXAMPLES = join(__dirname, '..', 'node_modules', '@octokit', 'webhooks-examples');

function examples(event: string, flavour = 'api.github.com'): Payload[] {
  const all = JSON.parse(readFileSync(join(EXAMPLES, flavour, 'index.json'), 'utf8')) as { name: string; examples: Payload[] }[];
  const found = all.find((entry) => entry.name === event);
  if (!found) throw new Error(`no ${event} examples in ${flavour}`);
  return found.examples;
}

function onlyAlert(result: ParsedDelivery): NormalizedAlert {
  if (result.outcome !== 'alerts') throw new Error(`expected alerts, got ignored: ${result.reason}`);
  expect(result.alerts).toHaveLength(1);
  return result.alerts[0] as NormalizedAlert;
}


const clone = <T>(value: T): T => structuredClone(value);

describe('dependabot_alert', () => {
  const [pipFixed, npmCreated, pipFixedAgain] = examples('dependabot_alert') as [Payload, Payload, Payload];

  it('turns the npm example into an alert keyed by repository and alert number', () => {
    expect(npmCreated.action).toBe('created');
    expect(onlyAlert(parseGithubDelivery('dependabot_alert', npmCreated))).toEqual({
      source: 'github',
      sourceId: 'wolfy1339/pika-pack#dependabot/20',
      kind: 'vulnerability',
      severity: 'moderate',
      title: 'semver vulnerable to Regular Expression Denial of Service',
      packages: [{ name: 'semver', versions: [], ranges: ['<7.5.2'], osvRanges: [] }],
      aliases: ['GHSA-c2qf-rxjj-qqgw', 'CVE-2022-25883'],
      evidence: expect.arrayContaining([
        'https://github.com/wolfy1339/pika-pack/security/dependabot/20',
        'https://github.com/advisories/GHSA-c2qf-rxjj-qqgw',
      ]),
      withdrawn: false,
    });
  });

  it('ignores the pip examples, saying why', () => {
    for (const payload of [pipFixed, pipFixedAgain]) {
      expect(parseGithubDelivery('dependabot_alert', payload)).toEqual({ outcome: 'ignored', reason: expect.stringMatching(/pip ecosystem, not npm/) });
    }
  });

  it.each(['dismissed', 'fixed', 'auto_dismissed'])('records %s as withdrawn', (action) => {
    const payload = clone(npmCreated) as Payload & { alert: { state: string } };
    payload.action = action;
    payload.alert.state = action;
    expect(onlyAlert(parseGithubDelivery('dependabot_alert', payload)).withdrawn).toBe(true);
  });

  it.each(['reopened', 'reintroduced'])('keeps %s active', (action) => {
    const payload = { ...clone(npmCreated), action };
    expect(onlyAlert(parseGithubDelivery('dependabot_alert', payload)).withdrawn).toBe(false);
  });

  it('refuses an npm alert with a package name npm could not have, naming the field', () => {
    const payload = clone(npmCreated) as Payload & { alert: { dependency: { package: { name: string } } } };
    payload.alert.dependency.package.name = '../../etc';
    const error = rejection(() => parseGithubDelivery('dependabot_alert', payload));
    expect(error.status).toBe(400);
    expect(error.field).toBe('alert.dependency.package.name');
  });

  it('refuses a version range that is not over exact versions', () => {
    const payload = clone(npmCreated) as Payload & { alert: { security_vulnerability: { vulnerable_version_range: string } } };
    payload.alert.security_vulnerability.vulnerable_version_range = '< latest';
    expect(rejection(() => parseGithubDelivery('dependabot_alert', payload)).field).toBe('alert.security_vulnerability.vulnerable_version_range');
  });

  it('refuses a body that is not an object', () => {
    expect(rejection(() => parseGithubDelivery('dependabot_alert', 'nope')).field).toBe('body');
  });
});

describe('security_advisory', () => {
  const [djangoPublished, djangoPublishedAgain, harpUpdated, staticEvalWithdrawn] = examples('security_advisory') as [Payload, Payload, Payload, Payload];

  it('ignores advisories that name no npm package', () => {
    for (const payload of [djangoPublished, djangoPublishedAgain]) {
      expect(parseGithubDelivery('security_advisory', payload)).toEqual({ outcome: 'ignored', reason: 'advisory GHSA-rf4j-j272-fj86 names no npm package' });
    }
  });

  it('keys a global advisory by its GHSA id, with the CVE as an alias', () => {
    expect(onlyAlert(parseGithubDelivery('security_advisory', harpUpdated))).toEqual({
      source: 'github',
      sourceId: 'GHSA-6fmm-47qc-p4m4',
      kind: 'vulnerability',
      severity: 'moderate',
      title: 'Unauthorized File Access in harp',
      packages: [{ name: 'harp', versions: [], ranges: ['<=0.29.0'], osvRanges: [] }],
      aliases: ['CVE-2019-5438'],
      evidence: ['https://nvd.nist.gov/vuln/detail/CVE-2019-5438', 'https://github.com/advisories/GHSA-6fmm-47qc-p4m4'],
      withdrawn: false,
    });
  });

  it('records a withdrawn advisory as withdrawn', () => {
    const alert = onlyAlert(parseGithubDelivery('security_advisory', staticEvalWithdrawn));
    expect(alert).toMatchObject({ sourceId: 'GHSA-8v27-2fg9-7h62', severity: 'critical', withdrawn: true });
    expect(alert.packages).toEqual([{ name: 'static-eval', versions: [], ranges: ['<=2.1.0'], osvRanges: [] }]);
  });

  it('calls an advisory classified CWE-506 (embedded malicious code) malware', () => {
    // The real harp example, reclassified the way GitHub classifies its malware advisories.
    const payload = clone(harpUpdated) as Payload & { security_advisory: { cwes: unknown[] } };
    payload.security_advisory.cwes = [{ cwe_id: 'CWE-506', name: 'Embedded Malicious Code' }];
    expect(onlyAlert(parseGithubDelivery('security_advisory', payload)).kind).toBe('malware');
  });

  it('refuses an npm vulnerability with an invalid name, naming the field', () => {
    const payload = clone(harpUpdated) as Payload & { security_advisory: { vulnerabilities: { package: { name: string } }[] } };
    (payload.security_advisory.vulnerabilities[0] as { package: { name: string } }).package.name = 'node_modules';
    const error = rejection(() => parseGithubDelivery('security_advisory', payload));
    expect([error.status, error.field]).toEqual([400, 'security_advisory.vulnerabilities.0.package.name']);
  });

  it('merges the ranges GitHub lists separately for one package, and maps medium to moderate', () => {
    // The django example's two ranges, as if the package were on npm.
    const payload = clone(djangoPublished) as Payload & { security_advisory: { severity: string; vulnerabilities: { package: { ecosystem: string } }[] } };
    for (const vuln of payload.security_advisory.vulnerabilities) vuln.package.ecosystem = 'npm';
    payload.security_advisory.severity = 'medium';
    const alert = onlyAlert(parseGithubDelivery('security_advisory', payload));
    expect(alert.packages).toEqual([{ name: 'django', versions: [], ranges: ['>=2.0.0 <2.0.2', '>=1.11.8 <1.11.10'], osvRanges: [] }]);
    expect(alert.severity).toBe('moderate');
  });
});

describe('repository_vulnerability_alert (legacy)', () => {
  const payloads = examples('repository_vulnerability_alert');

  it('reads the named package and range; the first example has no alert number, so its id is used', () => {
    const alerts = payloads.map((payload) => onlyAlert(parseGithubDelivery('repository_vulnerability_alert', payload)));
    expect(alerts.map((alert) => alert.sourceId)).toEqual([
      'Codertocat/Hello-World#vulnerability-alert/91095730',
      'Codertocat/Hello-World#vulnerability-alert/2',
      'Codertocat/Hello-World#vulnerability-alert/2',
      'Codertocat/Hello-World#vulnerability-alert/2',
    ]);
    expect(alerts[0]).toMatchObject({
      kind: 'vulnerability',
      severity: 'moderate',
      packages: [{ name: 'rack', versions: [], ranges: ['>=2.0.4 <2.0.6'], osvRanges: [] }],
      aliases: ['GHSA-hg78-4f6x-99wq', 'CVE-2018-16470'],
      evidence: ['https://nvd.nist.gov/vuln/detail/CVE-2018-16470'],
      withdrawn: false,
    });
    // "affected_range": "0.2.0" is one version; "dismiss" withdraws.
    expect(alerts[3]).toMatchObject({ packages: [{ name: 'many_versioned_gem', versions: ['0.2.0'], ranges: [] }], withdrawn: true });
  });

  it('ignores one whose range npm could not have (the event names no ecosystem)', () => {
    const payload = clone(payloads[1]) as Payload & { alert: { affected_range: string } };
    payload.alert.affected_range = '>= 2.0.4.1, < 2.0.6';
    expect(parseGithubDelivery('repository_vulnerability_alert', payload).outcome).toBe('ignored');
  });
});

describe('secret_scanning_alert', () => {
  it('turns the real GHES example into a leaked-token alert', () => {
    // Not in the api.github.com examples; the GHES 3.5 flavour of the same package has one.
    const [reopened] = examples('secret_scanning_alert', 'ghes-35') as [Payload];
    expect(onlyAlert(parseGithubDelivery('secret_scanning_alert', reopened))).toEqual({
      source: 'github',
      sourceId: 'Codertocat/Hello-World#secret-scanning/191',
      kind: 'leaked-token',
      severity: 'unknown',
      title: 'adafruit_io_key leaked in Codertocat/Hello-World',
      packages: [],
      aliases: [],
      evidence: [],
      leakedToken: { secretType: 'adafruit_io_key', repository: 'Codertocat/Hello-World', alertNumber: 191 },
      withdrawn: false,
    });
  });

  // Built from the documented alert shape (`SecretScanningAlert` in @octokit/webhooks-types 7.6.1,
  // generated from the community JSON schemas of octokit/webhooks), which includes `secret`.
  const SECRET = 'npm_Zq4ExampleLeakedValueNeverToBeCopied0001';
  const documented = {
    action: 'created',
    alert: {
      number: 42,
      created_at: '2026-11-25T10:00:00Z',
      updated_at: null,
      url: 'https://api.github.com/repos/acme/web/secret-scanning/alerts/42',
      html_url: 'https://github.com/acme/web/security/secret-scanning/42',
      locations_url: 'https://api.github.com/repos/acme/web/secret-scanning/alerts/42/locations',
      state: 'open',
      resolution: null,
      resolved_at: null,
      resolved_by: null,
      resolution_comment: null,
      secret_type: 'npm_access_token',
      secret_type_display_name: 'npm Access Token',
      secret: SECRET,
      push_protection_bypassed: false,
      push_protection_bypassed_by: null,
      push_protection_bypassed_at: null,
    },
    repository: { id: 1, name: 'web', full_name: 'acme/web', private: true },
    sender: { login: 'octocat', id: 1 },
  };

  it('names the secret type, repository, alert and link, and never copies the secret', () => {
    const alert = onlyAlert(parseGithubDelivery('secret_scanning_alert', documented));
    expect(alert.leakedToken).toEqual({
      secretType: 'npm_access_token',
      repository: 'acme/web',
      alertNumber: 42,
      url: 'https://github.com/acme/web/security/secret-scanning/42',
    });
    expect(alert).toMatchObject({ kind: 'leaked-token', title: 'npm Access Token leaked in acme/web', packages: [], withdrawn: false });
    expect(JSON.stringify(alert)).not.toContain(SECRET);
    expect(JSON.stringify(alert)).not.toContain('Zq4Example');
  });

  it.each(['resolved', 'revoked'])('records %s as withdrawn', (action) => {
    const payload = { ...documented, action, alert: { ...documented.alert, state: 'resolved', resolution: 'revoked' } };
    expect(onlyAlert(parseGithubDelivery('secret_scanning_alert', payload)).withdrawn).toBe(true);
  });
});

describe('events that are not alerts', () => {
  it('ignores every real code_scanning_alert example: a rule and a file, no npm release', () => {
    const payloads = examples('code_scanning_alert');
    expect(payloads).toHaveLength(6);
    for (const payload of payloads) {
      expect(parseGithubDelivery('code_scanning_alert', payload)).toEqual({ outcome: 'ignored', reason: 'a code scanning alert names no npm release' });
    }
  });

  it('ignores ping and any other event', () => {
    for (const payload of examples('ping')) expect(parseGithubDelivery('ping', payload).outcome).toBe('ignored');
    const [push] = examples('push') as [Payload];
    expect(parseGithubDelivery('push', push)).toEqual({ outcome: 'ignored', reason: 'event "push" is not an alert event' });
    expect(parseGithubDelivery('evil\u001b[2J', {})).toEqual({ outcome: 'ignored', reason: 'event "evil\\u001b[2J" is not an alert event' });
  });
});

describe('GitHub version ranges in npm syntax', () => {
  it.each([
    ['>= 1.0.0, < 1.2.4', { versions: [], ranges: ['>=1.0.0 <1.2.4'] }],
    ['= 1.2.3', { versions: ['1.2.3'], ranges: [] }],
    ['1.2.3', { versions: ['1.2.3'], ranges: [] }],
    ['< 7.5.2', { versions: [], ranges: ['<7.5.2'] }],
    ['<= 0.29.0', { versions: [], ranges: ['<=0.29.0'] }],
    ['> 2.0.0-rc.1, <= 2.0.0', { versions: [], ranges: ['>2.0.0-rc.1 <=2.0.0'] }],
  ])('%j', (range, expected) => {
    expect(githubRangeToNpm(range)).toEqual(expected);
  });

  it.each(['', '< latest', '>= 1.0, < 2.0', '= 1.0.0, < 2.0.0', '^1.2.3', '>= 1.0.0 || < 0.5.0'])('refuses %j', (range) => {
    expect(githubRangeToNpm(range)).toBeUndefined();
  });
});
