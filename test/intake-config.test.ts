// `quarantine serve` settings, as pure decisions: which secrets a value holds, which owned-package
// patterns are accepted, and that nothing starts half-configured.
import { MIN_GITHUB_SECRET_LENGTH, ownedPatternsFromEnv, secretList, serveConfigFromEnv } from '../server/config';
import { GITHUB_SECRETS, STANDARD_SECRETS } from './helpers/intake';

const env = (more: Record<string, string>) => ({
  GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','),
  QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','),
  QUARANTINE_OWNED_PACKAGES: '@acme/*',
  ...more,
});

describe('webhook secrets', () => {
  it('keeps spaces and commas inside a secret when secrets are given one per line', () => {
    expect(secretList('first secret, with a comma\nsecond: spaces  inside\r\n\n')).toEqual(['first secret, with a comma', 'second: spaces  inside']);
  });

  it('splits a single-line value on commas only, so spaces stay inside a secret', () => {
    expect(secretList('old secret value,new-secret-value ')).toEqual(['old secret value', 'new-secret-value']);
  });

  it(`refuses a GitHub secret shorter than ${MIN_GITHUB_SECRET_LENGTH} characters`, () => {
    expect(() => serveConfigFromEnv(env({ GITHUB_WEBHOOK_SECRETS: `${GITHUB_SECRETS[1]},hunter2` }))).toThrow(/1 secret\(s\) shorter than 16/);
    expect(serveConfigFromEnv(env({ GITHUB_WEBHOOK_SECRETS: 'a long passphrase, with a comma\nanother long passphrase' })).secrets.github).toEqual([
      'a long passphrase, with a comma',
      'another long passphrase',
    ]);
  });
});

describe('owned packages', () => {
  it('accepts names and whole scopes', () => {
    expect(ownedPatternsFromEnv(' @acme/* , left-pad,@other/core ')).toEqual(['@acme/*', 'left-pad', '@other/core']);
  });

  it('takes "none" as the explicit choice of containing nothing from alerts', () => {
    expect(ownedPatternsFromEnv('none')).toEqual([]);
    expect(serveConfigFromEnv(env({ QUARANTINE_OWNED_PACKAGES: 'none' })).owned).toEqual([]);
  });

  it.each([
    [undefined, /is not set/],
    ['  ', /is not set/],
    ['@acme', /"@acme" names a scope without packages: write "@acme\/\*"/],
    ['@acme/*,', /"" is empty/],
    ['acme/*', /not a package name or "@scope\/\*"/],
    ['@acme/core*', /not a package name or "@scope\/\*"/],
    ['*', /not a package name or "@scope\/\*"/],
    ['../../etc', /not a valid npm package name/],
    ['@ac me/*', /not a valid npm package name/],
    ['left pad', /not a valid npm package name/],
    ['none,@acme/*', /cannot be combined/],
  ])('refuses %j', (value, reason) => {
    expect(() => ownedPatternsFromEnv(value)).toThrow(reason);
    expect(() => serveConfigFromEnv(env({ QUARANTINE_OWNED_PACKAGES: value ?? '' }))).toThrow(/QUARANTINE_OWNED_PACKAGES/);
  });
});
