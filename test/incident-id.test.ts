// Incident ids: the ones people and in-flight incidents already use stay as they are; every id,
// however many versions or however long the name, fits Temporal's limit with room to spare.
import { createHash } from 'node:crypto';
import { incidentId, LISTED_ID_LENGTH, MAX_INCIDENT_ID_LENGTH, PACKAGE_WRITERS_PER_REGISTRY, packageWriterId } from '../core/incident-id';

const REGISTRY = 'http://127.0.0.1:4873/';
const registryDigest = createHash('sha256').update('http://127.0.0.1:4873').digest('hex').slice(0, 8);
const versions = (count: number) => Array.from({ length: count }, (_, i) => `1.${Math.floor(i / 100)}.${i % 100}`);

describe('incidentId', () => {
  it('keeps the listed form for short version lists: the CLI and incidents in flight meet in the same id', () => {
    expect(incidentId(REGISTRY, '@acme/core', ['1.2.3'])).toBe(`incident-@acme/core@1.2.3-${registryDigest}`);
    expect(incidentId(REGISTRY, '@acme/core', ['1.2.3', '1.2.2', '1.2.3'])).toBe(`incident-@acme/core@1.2.2,1.2.3-${registryDigest}`);
    expect(incidentId(REGISTRY, '@acme/core', ['1.2.3'], true)).toBe(`incident-@acme/core@1.2.3-${registryDigest}-dry-run`);
    const longestListed = incidentId(REGISTRY, '@acme/core', versions(30));
    expect(longestListed).toBe(`incident-@acme/core@${versions(30).join(',')}-${registryDigest}`);
    expect(longestListed.length).toBeLessThanOrEqual(LISTED_ID_LENGTH);
  });

  it('gives 200 versions (1,328 characters before) a compact id under the limit, the same for any order', () => {
    const many = versions(200);
    const id = incidentId(REGISTRY, '@acme/core', many);
    expect(id.length).toBeLessThanOrEqual(MAX_INCIDENT_ID_LENGTH);
    expect(id).toMatch(new RegExp(`^incident-@acme/core@200-versions-[0-9a-f]{16}-${registryDigest}$`));
    expect(incidentId(REGISTRY, '@acme/core', [...many].reverse())).toBe(id);
    expect(incidentId(`${REGISTRY.slice(0, -1)}`, '@acme/core', many)).toBe(id);
  });

  it('tells compact ids apart by every version, the package, the registry and dry runs', () => {
    const many = versions(200);
    const id = incidentId(REGISTRY, '@acme/core', many);
    const others = [
      incidentId(REGISTRY, '@acme/core', [...many.slice(1), '9.9.9']),
      incidentId(REGISTRY, '@acme/core', many.slice(1)),
      incidentId(REGISTRY, '@acme/cli', many),
      incidentId('https://registry.npmjs.org/', '@acme/core', many),
      incidentId(REGISTRY, '@acme/core', many, true),
    ];
    expect(new Set([id, ...others]).size).toBe(others.length + 1);
  });

  it('stays under the limit for the longest name and version the parsers accept, and for 1,000 versions', () => {
    const name = `@${'a'.repeat(100)}/${'b'.repeat(154)}`;
    const version = `1.0.0-${'x'.repeat(250)}`;
    for (const id of [incidentId(REGISTRY, name, [version], true), incidentId(REGISTRY, name, versions(1_000), true), incidentId(REGISTRY, 'a'.repeat(256), versions(1_000))]) {
      expect(id.length).toBeLessThanOrEqual(MAX_INCIDENT_ID_LENGTH);
    }
    // Two names that differ only past the part an id shows are still two incidents.
    expect(incidentId(REGISTRY, `${'a'.repeat(256)}x`, versions(300))).not.toBe(incidentId(REGISTRY, `${'a'.repeat(256)}y`, versions(300)));
  });
});

describe('packageWriterId', () => {
  const names = Array.from({ length: 200 }, (_, i) => `@acme/pkg-${i}`);

  it('gives every package of a registry one of a few writers, whichever way the registry is spelled', () => {
    const writers = new Set(names.map((name) => packageWriterId(REGISTRY, name, 'quarantine')));
    expect(writers.size).toBe(PACKAGE_WRITERS_PER_REGISTRY);
    for (const name of names) expect(packageWriterId('http://127.0.0.1:4873', name, 'quarantine')).toBe(packageWriterId(REGISTRY, name, 'quarantine'));
  });

  it('gives another task queue other writers: a writer left on a queue no worker polls never takes its requests', () => {
    for (const name of names.slice(0, 20)) expect(packageWriterId(REGISTRY, name, 'quarantine-v2')).not.toBe(packageWriterId(REGISTRY, name, 'quarantine'));
    expect(packageWriterId('https://registry.npmjs.org/', '@acme/core', 'quarantine')).not.toBe(packageWriterId(REGISTRY, '@acme/core', 'quarantine'));
  });
});
