// Our own alert format (docs/alert-formats.md): the documented example, and a 400 naming the field
// for each kind of bad input. Also: bodies carrying __proto__ / constructor pollute nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sjson from 'secure-json-parse';
import { type NormalizedAlert } from '../core/alert';
import { parseGenericAlert } from '../core/alerts/generic';
import { parseGithubDelivery } from '../core/alerts/github';
import { parseOsvAlerts } from '../core/alerts/osv';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { rejection } from './helpers/alerts';

function alerts(result: ParsedDelivery): NormalizedAlert[] {
  if (result.outcome !== 'alerts') throw new Error(`expected alerts, got ignored: ${result.reason}`);
  return result.alerts;
}


/** The example in the docs is the one tested, so the two cannot disagree. */
function documentedExample(): Record<string, unknown> {
  const doc = readFileSync(join(__dirname, '..', 'docs', 'alert-formats.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## `POST /v1/alerts`: our format'));
  const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  if (!json) throw new Error('no JSON example in docs/alert-formats.md');
  return JSON.parse(json) as Record<string, unknown>;
}

const minimal = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'scan-1',
  kind: 'malware',
  title: 'Credential stealer',
  package: { name: 'left-pad', versions: ['1.3.1'] },
  ...extra,
});

describe('the generic format', () => {
  it('accepts the documented example', () => {
    expect(alerts(parseGenericAlert(documentedExample()))).toEqual([
      {
        source: 'generic',
        sourceId: 'scanner-7f3a-2026-11-25-001',
        kind: 'malware',
        severity: 'critical',
        title: 'Credential stealer in the postinstall script of @acme/core 1.2.3',
        packages: [
          { name: '@acme/core', versions: ['1.2.3'], ranges: [], osvRanges: [] },
          { name: '@acme/cli', versions: [], ranges: ['>=2.1.0 <2.1.3'], osvRanges: [] },
        ],
        aliases: ['GHSA-2mhj-xmf4-pr8m'],
        evidence: ['https://scanner.example.com/findings/7f3a'],
        withdrawn: false,
      },
    ]);
  });

  it('accepts a batch, a leaked token without packages, and defaults severity to unknown', () => {
    const batch = { alerts: [minimal(), { id: 'scan-2', kind: 'leaked-token', title: 'npm token in a CI log' }] };
    const list = alerts(parseGenericAlert(batch));
    expect(list.map((alert) => [alert.sourceId, alert.kind, alert.severity, alert.packages.length])).toEqual([
      ['scan-1', 'malware', 'unknown', 1],
      ['scan-2', 'leaked-token', 'unknown', 0],
    ]);
  });

  it('cleans control characters out of the title', () => {
    const [alert] = alerts(parseGenericAlert(minimal({ title: 'evil\u001b[2J\r\ntitle\u202e' })));
    expect(alert?.title).toBe('evil [2J title');
  });

  const many = (n: number, make: (i: number) => unknown): unknown[] => Array.from({ length: n }, (_, i) => make(i));

  it.each<[string, Record<string, unknown> | unknown, string]>([
    ['a package name that escapes a path', minimal({ package: { name: '../../etc', versions: ['1.0.0'] } }), 'package.name'],
    ['a version that is not exact semver', minimal({ package: { name: 'foo', versions: ['not-a-version'] } }), 'package.versions.0'],
    ['a range as a version', minimal({ package: { name: 'foo', versions: ['^1.2.3'] } }), 'package.versions.0'],
    ['an invalid range', minimal({ package: { name: 'foo', ranges: ['>=1.0.0 <<2'] } }), 'package.ranges.0'],
    ['an empty range (it would mean every version)', minimal({ package: { name: 'foo', ranges: [''] } }), 'package.ranges.0'],
    ['a package with neither versions nor ranges', minimal({ package: { name: 'foo' } }), 'package'],
    ['a javascript: evidence URL', minimal({ evidence: ['javascript:alert(document.cookie)'] }), 'evidence.0'],
    ['a file: evidence URL', minimal({ evidence: ['https://ok.example/', 'file:///etc/passwd'] }), 'evidence.1'],
    ['an evidence URL with user info', minimal({ evidence: ['https://github.com@evil.example/x'] }), 'evidence.0'],
    ['an unknown top-level key', minimal({ titel: 'typo' }), 'titel'],
    ['an unknown package key', minimal({ package: { name: 'foo', version: '1.0.0' } }), 'package.version'],
    ['an unknown kind', minimal({ kind: 'spam' }), 'kind'],
    ['an unknown severity', minimal({ severity: 'medium' }), 'severity'],
    ['a title over 500 characters', minimal({ title: 'x'.repeat(501) }), 'title'],
    ['an empty title', minimal({ title: '\u0000\u0007' }), 'title'],
    ['an id over 200 characters', minimal({ id: 'i'.repeat(201) }), 'id'],
    ['an id with control characters', minimal({ id: 'scan\n1' }), 'id'],
    ['an alias that is free text', minimal({ aliases: ['see our blog'] }), 'aliases.0'],
    ['more than 50 aliases', minimal({ aliases: many(51, (i) => `CVE-2026-${1000 + i}`) }), 'aliases'],
    ['more than 1,000 versions', minimal({ package: { name: 'foo', versions: many(1001, (i) => `1.0.${i}`) } }), 'package.versions'],
    ['more than 100 packages', minimal({ package: undefined, packages: many(101, (i) => ({ name: `p${i}`, ranges: ['*'] })) }), 'packages'],
    ['100 packages plus one', minimal({ packages: many(100, (i) => ({ name: `p${i}`, ranges: ['*'] })) }), 'packages'],
    ['a malware alert naming no package', minimal({ package: undefined }), 'packages'],
    ['a package listed twice', minimal({ packages: [{ name: 'left-pad', ranges: ['*'] }] }), 'packages.0.name'],
    ['a body that is not an object', 'left-pad@1.3.1', 'body'],
    ['an empty batch', { alerts: [] }, 'alerts'],
    ['a batch with something else', { alerts: [minimal()], extra: 1 }, 'extra'],
    ['a bad alert in a batch', { alerts: [minimal(), minimal({ package: { name: 'foo', versions: ['01.0.0'] } })] }, 'alerts.1.package.versions.0'],
    ['more than 1,000 alerts', { alerts: many(1001, (i) => minimal({ id: `scan-${i}` })) }, 'alerts'],
  ])('refuses %s with a 400 naming the field', (_what, body, field) => {
    const error = rejection(() => parseGenericAlert(body));
    expect([error.status, error.field]).toEqual([400, field]);
    expect(error.message.startsWith(`${field}: `)).toBe(true);
    expect(error.message).not.toContain('\n');
  });

  it('shows untrusted text in a refusal escaped', () => {
    const error = rejection(() => parseGenericAlert(minimal({ package: { name: 'evil\u001b[2J', versions: ['1.0.0'] } })));
    expect(error.message).toContain('evil\\u001b[2J');
  });
});

describe('prototype pollution', () => {
  const parseLikeTheServer = (text: string): unknown => sjson.parse(text, undefined, { protoAction: 'remove', constructorAction: 'remove' });
  const hostile = JSON.stringify(minimal()).replace(
    '"package":{',
    '"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"package":{"__proto__":{"isAdmin":true},',
  );

  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('the server parse removes the keys, and the alert is clean', () => {
    expect(hostile).toContain('__proto__');
    const [alert] = alerts(parseGenericAlert(parseLikeTheServer(hostile)));
    expect(Object.getPrototypeOf(alert)).toBe(Object.prototype);
    expect((alert as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect((alert?.packages[0] as unknown as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it('parsed naively instead, the keys are unknown fields: refused, still nothing polluted', () => {
    const error = rejection(() => parseGenericAlert(JSON.parse(hostile)));
    expect(error.status).toBe(400);
    expect(error.field).toMatch(/__proto__|constructor/);
  });

  it('the vendor parsers, which strip unknown keys, carry none of it either', () => {
    const osv = '{"__proto__":{"polluted":"yes"},"id":"MAL-2026-1","modified":"2026-01-01T00:00:00Z","affected":[{"__proto__":{"polluted":"yes"},"package":{"ecosystem":"npm","name":"x","constructor":{"prototype":{"polluted":"yes"}}},"versions":["1.0.0"]}]}';
    for (const parse of [parseLikeTheServer, JSON.parse]) {
      const [alert] = alerts(parseOsvAlerts(parse(osv)));
      expect(JSON.stringify(alert)).not.toContain('polluted');
    }
    const github = '{"__proto__":{"polluted":"yes"},"action":"created","alert":{"number":1,"secret_type":"npm_access_token","constructor":{"prototype":{"polluted":"yes"}}},"repository":{"full_name":"acme/web"}}';
    const [alert] = alerts(parseGithubDelivery('secret_scanning_alert', JSON.parse(github)));
    expect(JSON.stringify(alert)).not.toContain('polluted');
  });
});
