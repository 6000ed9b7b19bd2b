// The pure domain: what the tool decides, without any server.
import { parseReleaseSpec, InvalidSpecError } from '../core/spec';
import { packageStateFromPackument, type PackageState } from '../core/package-state';
import { deprecationMessage, highestSafeVersion, incidentMarker, oneCleanLine, planContainment, verifyContainment } from '../core/plan';
import { incidentId } from '../core/incident-id';
import { normalizeRegistryUrl, sameRegistry } from '../core/registry-url';
import { terminalSafe } from '../cli/render';

describe('release specs', () => {
  it('parses plain and scoped names with exact versions', () => {
    expect(parseReleaseSpec('@acme/core@1.2.3')).toEqual({ name: '@acme/core', version: '1.2.3' });
    expect(parseReleaseSpec('left-pad@1.3.0')).toEqual({ name: 'left-pad', version: '1.3.0' });
    expect(parseReleaseSpec('@acme/cli@2.1.0-beta.0')).toEqual({ name: '@acme/cli', version: '2.1.0-beta.0' });
  });

  it.each([
    ['@acme/core', /names no version/],
    ['foo@not-a-version', /not an exact semver version/],
    ['../../etc@1.0.0', /not a valid npm package name/],
    ['foo@^1.2.3', /not an exact semver version/],
    ['foo@latest', /not an exact semver version/],
    ['foo@v1.2.3', /not an exact semver version/],
    ['@acme@1.0.0', /not a valid npm package name/],
    ['foo bar@1.0.0', /not a valid npm package name/],
    ['', /names no version/],
    ['x'.repeat(1000) + '@1.0.0', /too long/],
  ])('refuses %j with a one-line reason', (input, reason) => {
    let error: unknown;
    try {
      parseReleaseSpec(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('\n');
  });

  it('shows control characters in a refused spec instead of echoing them', () => {
    expect(() => parseReleaseSpec('evil\u001b[2J@1.0.0')).toThrow(/evil\\u001b\[2J/);
  });
});

const core: PackageState = packageStateFromPackument('@acme/core', {
  name: '@acme/core',
  'dist-tags': { latest: '1.2.3', next: '1.3.0-beta.1' },
  versions: {
    '1.1.0': {},
    '1.2.0': {},
    '1.2.1': { deprecated: 'old bug' },
    '1.2.2': { deprecated: '' },
    '1.2.3': {},
    '1.3.0-beta.1': {},
  },
});

describe('packument reduction', () => {
  it('keeps versions, tags and only real deprecation messages', () => {
    expect(core.versions).toHaveLength(6);
    expect(core.distTags).toEqual({ latest: '1.2.3', next: '1.3.0-beta.1' });
    // An empty message is how npm un-deprecates: 1.2.2 is not deprecated.
    expect(core.deprecated).toEqual({ '1.2.1': 'old bug' });
  });
});

describe('containment planning', () => {
  const message = deprecationMessage('incident-x', { reason: 'stolen token' });

  it('deprecates the affected version and moves latest to the highest safe release', () => {
    const plan = planContainment(core, ['1.2.3'], message);
    expect(plan.blockers).toEqual([]);
    expect(plan.unresolved).toEqual([]);
    expect(plan.deprecate).toEqual(['1.2.3']);
    expect(plan.tagMoves).toEqual([{ tag: 'latest', from: '1.2.3', to: '1.2.2' }]);
  });

  it('skips deprecated and prerelease versions when choosing where latest goes', () => {
    expect(highestSafeVersion(core, ['1.2.3', '1.2.2'])).toBe('1.2.0');
    const plan = planContainment(core, ['1.2.3', '1.2.2'], message);
    expect(plan.tagMoves).toEqual([{ tag: 'latest', from: '1.2.3', to: '1.2.0' }]);
  });

  it('removes other dist-tags that point at an affected version', () => {
    const plan = planContainment(core, ['1.3.0-beta.1'], message);
    expect(plan.tagMoves).toEqual([{ tag: 'next', from: '1.3.0-beta.1', to: null }]);
    expect(plan.deprecate).toEqual(['1.3.0-beta.1']);
  });

  it('blocks on a version the registry does not have, naming it', () => {
    const plan = planContainment(core, ['1.2.3', '9.9.9'], message);
    expect(plan.blockers).toEqual(['@acme/core@9.9.9 is not on the registry']);
  });

  it('still deprecates when no safe release exists, and says latest needs a human', () => {
    const solo = packageStateFromPackument('@acme/solo', { 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': {} } });
    const plan = planContainment(solo, ['1.0.0'], message);
    expect(plan.blockers).toEqual([]);
    expect(plan.deprecate).toEqual(['1.0.0']);
    expect(plan.tagMoves).toEqual([]);
    expect(plan.unresolved[0]).toMatch(/latest stays on @acme\/solo@1.0.0/);
  });

  it('leaves a message this incident wrote earlier, whatever reason it gave, and rewrites anyone else\'s', () => {
    const marker = incidentMarker('incident-x');
    const earlier = { ...core, deprecated: { ...core.deprecated, '1.2.3': deprecationMessage('incident-x', { reason: 'first reason' }) }, distTags: { latest: '1.2.2' } };
    const plan = planContainment(earlier, ['1.2.3'], deprecationMessage('incident-x', { reason: 'second reason' }), marker);
    expect(plan.deprecate).toEqual([]);
    expect(verifyContainment(plan, earlier).every((c) => c.ok)).toBe(true);
    const other = { ...earlier, deprecated: { '1.2.3': deprecationMessage('incident-y', { reason: 'another incident' }) } };
    expect(planContainment(other, ['1.2.3'], deprecationMessage('incident-x', { reason: 'second reason' }), marker).deprecate).toEqual(['1.2.3']);
  });

  it('plans no write for a version already carrying the incident message', () => {
    const already = { ...core, deprecated: { ...core.deprecated, '1.2.3': message }, distTags: { latest: '1.2.2' } };
    const plan = planContainment(already, ['1.2.3'], message);
    expect(plan.deprecate).toEqual([]);
    expect(plan.tagMoves).toEqual([]);
  });
});

describe('verification', () => {
  const message = deprecationMessage('incident-x', { reason: 'stolen token' });
  const plan = planContainment(core, ['1.2.3'], message);

  it('passes only when the registry shows the deprecation and the moved tag', () => {
    const contained = { ...core, deprecated: { ...core.deprecated, '1.2.3': message }, distTags: { latest: '1.2.2', next: '1.3.0-beta.1' } };
    expect(verifyContainment(plan, contained).every((c) => c.ok)).toBe(true);
  });

  it('fails when latest still points at the affected version', () => {
    const halfDone = { ...core, deprecated: { ...core.deprecated, '1.2.3': message } };
    const failed = verifyContainment(plan, halfDone).filter((c) => !c.ok);
    expect(failed.map((c) => c.check)).toEqual(['dist-tag latest']);
  });

  it('fails when the deprecation message is someone else\'s', () => {
    const other = { ...core, deprecated: { '1.2.3': 'other' }, distTags: { latest: '1.2.2' } };
    expect(verifyContainment(plan, other).filter((c) => !c.ok).map((c) => c.check)).toEqual(['@acme/core@1.2.3 deprecated']);
  });
});

describe('untrusted text', () => {
  it('keeps deprecation messages to one clean, bounded line', () => {
    const message = deprecationMessage('incident-x', { reason: 'line one\nline two\u001b[31m red \u202e reversed' + 'x'.repeat(1000) });
    for (const unsafe of ['\n', '\u001b', '\u202e']) expect(message).not.toContain(unsafe);
    expect(message.length).toBeLessThanOrEqual(300);
    expect(oneCleanLine('  a \t b  ')).toBe('a b');
  });

  it('makes terminal control characters visible', () => {
    expect(terminalSafe('ok\u001b[2Jgone\rback')).toBe('ok\\u001b[2Jgone\\u000dback');
  });
});

describe('incident ids', () => {
  it('are the same for the same release on the same registry, whatever the order or slash', () => {
    const a = incidentId('http://127.0.0.1:4873/', '@acme/core', ['1.2.3', '1.2.2']);
    const b = incidentId('http://127.0.0.1:4873', '@acme/core', ['1.2.2', '1.2.3', '1.2.3']);
    expect(a).toBe(b);
    expect(a).toMatch(/^incident-@acme\/core@1\.2\.2,1\.2\.3-[0-9a-f]{8}$/);
  });

  it('differ by registry, by release and for dry runs', () => {
    const base = incidentId('https://registry.npmjs.org/', '@acme/core', ['1.2.3']);
    expect(incidentId('http://127.0.0.1:4873/', '@acme/core', ['1.2.3'])).not.toBe(base);
    expect(incidentId('https://registry.npmjs.org/', '@acme/core', ['1.2.2'])).not.toBe(base);
    expect(incidentId('https://registry.npmjs.org/', '@acme/core', ['1.2.3'], true)).toBe(`${base}-dry-run`);
  });
});

describe('registry URLs', () => {
  it('normalise to npm\'s form', () => {
    expect(normalizeRegistryUrl('http://127.0.0.1:4873')).toBe('http://127.0.0.1:4873/');
    expect(sameRegistry('https://registry.npmjs.org', 'https://registry.npmjs.org/')).toBe(true);
    expect(sameRegistry('https://registry.npmjs.org/', 'https://evil.example/')).toBe(false);
  });

  it('refuse credentials in the URL and non-http schemes', () => {
    expect(() => normalizeRegistryUrl('https://user:secret@registry.example/')).toThrow(/NPM_TOKEN/);
    expect(() => normalizeRegistryUrl('file:///etc/passwd')).toThrow(/http/);
    expect(() => normalizeRegistryUrl('not a url')).toThrow(/not a registry URL/);
  });
});
