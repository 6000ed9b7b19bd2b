// GitHub's own example payloads (@octokit/webhooks-examples), turned into the alerts of review
// finding H3: a consumer's Dependabot alert on our package by range, and the global malware advisory
// naming our exact release.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Payload = Record<string, unknown>;
const EXAMPLES = JSON.parse(readFileSync(join(__dirname, '..', '..', 'node_modules', '@octokit', 'webhooks-examples', 'api.github.com', 'index.json'), 'utf8')) as { name: string; examples: Payload[] }[];
const example = (event: string, pick: (p: Payload) => boolean): Payload => structuredClone(EXAMPLES.find((e) => e.name === event)!.examples.find(pick)!);
export const GHSA = 'GHSA-qqqq-4444-wwww';

/** A consumer repository's Dependabot alert on @acme/core, by range, for GHSA (created, or closed as `fixed`). */
export function dependabotOnCore(action: 'created' | 'fixed', repository = 'acme-consumer/app', number = 7): Payload {
  const payload = example('dependabot_alert', (p) => p.action === 'created') as {
    action: string;
    alert: { number: number; state: string; dependency: { package: { name: string } }; security_advisory: { ghsa_id: string; cve_id: string | null; identifiers: unknown[]; cwes?: unknown[] }; security_vulnerability: { vulnerable_version_range: string; package: { name: string } } };
    repository: { full_name: string };
  };
  payload.action = action;
  payload.alert.state = action === 'created' ? 'open' : 'fixed';
  payload.alert.number = number;
  payload.repository.full_name = repository;
  payload.alert.dependency.package.name = '@acme/core';
  payload.alert.security_vulnerability.package.name = '@acme/core';
  payload.alert.security_vulnerability.vulnerable_version_range = '>= 1.2.3, < 1.2.4';
  payload.alert.security_advisory.ghsa_id = GHSA;
  payload.alert.security_advisory.cve_id = null;
  payload.alert.security_advisory.identifiers = [{ type: 'GHSA', value: GHSA }];
  payload.alert.security_advisory.cwes = [{ cwe_id: 'CWE-506', name: 'Embedded Malicious Code' }];
  return payload;
}

/** The global advisory GHSA: malware (CWE-506) in exactly @acme/core 1.2.3. */
export function malwareAdvisoryOnCore(): Payload {
  const payload = example('security_advisory', (p) => (p as { security_advisory?: { summary?: string } }).security_advisory?.summary === 'Unauthorized File Access in harp') as {
    security_advisory: { ghsa_id: string; cve_id: string | null; identifiers: unknown[]; cwes: unknown[]; summary: string; withdrawn_at: string | null; vulnerabilities: { package: { name: string }; vulnerable_version_range: string }[] };
  };
  const adv = payload.security_advisory;
  adv.ghsa_id = GHSA;
  adv.cve_id = null;
  adv.identifiers = [{ type: 'GHSA', value: GHSA }];
  adv.cwes = [{ cwe_id: 'CWE-506', name: 'Embedded Malicious Code' }];
  adv.summary = 'credential stealer in @acme/core 1.2.3';
  adv.withdrawn_at = null;
  adv.vulnerabilities = [{ ...adv.vulnerabilities[0]!, package: { ...adv.vulnerabilities[0]!.package, name: '@acme/core' }, vulnerable_version_range: '= 1.2.3' }];
  return payload;
}
