// The GitHub side's planning, pure: where a package comes from, which versions its advisory names (and
// how tightly), which workflow is stopped, which action runs at once and which waits, and the policy
// file's `github` section.
import { githubActionHolds, undoGithubAction, type GithubAction } from '../core/github/action';
import { githubMarker, planGithub, vulnerableRanges, type GithubPlanInput } from '../core/github/plan';
import { DEFAULT_GITHUB_POLICY } from '../core/github/policy';
import { parseRepository, workflowFile } from '../core/github/repository';
import { parsePolicy, PolicyError } from '../core/playbook/policy-file';

describe('the repository a package comes from', () => {
  test.each([
    ['github:acme/core', 'acme/core'],
    ['acme/core', 'acme/core'],
    ['git+https://github.com/acme/core.git', 'acme/core'],
    ['https://github.com/acme/core/tree/main/packages/core', 'acme/core'],
    ['git+ssh://git@github.com/acme/core.git', 'acme/core'],
    ['ssh://git@github.com/acme/core', 'acme/core'],
    ['git@github.com:acme/core.git', 'acme/core'],
    ['git://github.com/acme/core.git', 'acme/core'],
  ])('%s', (text, expected) => {
    const found = parseRepository(text);
    expect(found && `${found.owner}/${found.repo}`).toBe(expected);
  });

  test.each(['gitlab:acme/core', 'https://gitlab.com/acme/core.git', 'git@bitbucket.org:acme/core.git', 'https://github.com/acme', 'https://github.com/-bad-/x', 'not a repository', 'https://github.com/acme/..'])('%s names no GitHub repository', (text) => {
    expect(parseRepository(text)).toBeUndefined();
  });

  test('a GitHub Enterprise Server host is matched as configured, and github.com shorthand is not its', () => {
    expect(parseRepository('https://ghe.acme.test/platform/core.git', 'ghe.acme.test')).toEqual({ owner: 'platform', repo: 'core' });
    expect(parseRepository('https://github.com/platform/core.git', 'ghe.acme.test')).toBeUndefined();
  });

  test('workflow files from provenance paths', () => {
    expect(workflowFile('.github/workflows/release.yml')).toBe('release.yml');
    expect(workflowFile('publish.yaml')).toBe('publish.yaml');
    expect(workflowFile('.github/workflows/../../evil.yml')).toBeUndefined();
  });
});

describe('vulnerable ranges', () => {
  const published = ['1.0.0', '1.2.0', '1.2.1', '1.2.2', '1.2.3', '1.2.4', '1.2.5-beta.0', '1.2.5', '1.3.0'];
  test('one version is exactly that version', () => {
    expect(vulnerableRanges(['1.2.3'], published).map((r) => r.range)).toEqual(['= 1.2.3']);
  });
  test('neighbours with no good release between make one tight range', () => {
    expect(vulnerableRanges(['1.2.4', '1.2.3'], published).map((r) => r.range)).toEqual(['>= 1.2.3, <= 1.2.4']);
  });
  test('a good release between (a prerelease too) splits the range', () => {
    expect(vulnerableRanges(['1.2.3', '1.2.4', '1.2.5'], published).map((r) => r.range)).toEqual(['>= 1.2.3, <= 1.2.4', '= 1.2.5']);
    expect(vulnerableRanges(['1.0.0', '1.3.0'], published).map((r) => r.range)).toEqual(['= 1.0.0', '= 1.3.0']);
  });
  test('a version the registry no longer lists stands alone, and nothing is ever open-ended', () => {
    const ranges = vulnerableRanges(['9.9.9', '1.2.0'], published).map((r) => r.range);
    expect(ranges).toEqual(['= 1.2.0', '= 9.9.9']);
    for (const range of ranges) expect(range).not.toMatch(/>= ?0|\*|^>|^</);
  });
});

function input(overrides: Partial<GithubPlanInput> = {}): GithubPlanInput {
  return {
    incident: 'compromise-MAL-2026-1234-abc',
    trigger: 'compromised-build',
    severity: 'unknown',
    releases: [
      { name: '@acme/core', versions: ['1.2.3'] },
      { name: '@acme/cli', versions: ['2.0.1'] },
      { name: '@acme/utils', versions: ['1.1.0', '1.2.0'] },
    ],
    sources: [
      { name: '@acme/core', repository: 'git+https://github.com/acme/packages.git', published: ['1.2.0', '1.2.1', '1.2.2', '1.2.3'], builds: [{ version: '1.2.3', repository: 'https://github.com/acme/packages', workflowPath: '.github/workflows/release.yml', runId: '9100000666' }] },
      { name: '@acme/cli', repository: 'github:acme/packages', published: ['2.0.0', '2.0.1', '2.1.0-beta.0'], builds: [{ version: '2.0.1', repository: 'https://github.com/acme/packages', workflowPath: '.github/workflows/release.yml' }] },
      { name: '@acme/utils', published: ['1.0.0', '1.1.0', '1.2.0'], builds: [] },
    ],
    safeReleases: { '@acme/core': '1.2.2', '@acme/cli': '2.0.0', '@acme/utils': '1.0.0' },
    advisories: ['MAL-2026-1234', '<script>'],
    policy: { ...DEFAULT_GITHUB_POLICY, repositories: { '@acme/utils': { repository: 'acme/utils', workflow: 'publish.yml' } }, timelineUrl: 'https://quarantine.acme.test/incidents/{incident}' },
    ...overrides,
  };
}

describe('the GitHub plan', () => {
  test('one draft advisory per repository naming exactly the affected versions; workflows from provenance and the policy', () => {
    const plan = planGithub(input());
    expect(plan.actions.map((a) => [a.id, a.gate])).toEqual([
      ['github:draft-advisory:acme/packages', 'auto'],
      ['github:publish-advisory:acme/packages', 'approval'],
      ['github:draft-advisory:acme/utils', 'auto'],
      ['github:publish-advisory:acme/utils', 'approval'],
      ['github:disable-workflow:acme/packages:release.yml', 'auto'],
      ['github:cancel-runs:acme/packages:release.yml', 'auto'],
      ['github:purge-caches:acme/packages', 'auto'],
      ['github:disable-workflow:acme/utils:publish.yml', 'auto'],
      ['github:cancel-runs:acme/utils:publish.yml', 'auto'],
      ['github:purge-caches:acme/utils', 'auto'],
    ]);
    const packages = plan.actions.find((a) => a.id === 'github:draft-advisory:acme/packages') as Extract<GithubAction, { kind: 'draft-advisory' }>;
    expect(packages.advisory.vulnerabilities).toEqual([
      { package: { ecosystem: 'npm', name: '@acme/cli' }, vulnerable_version_range: '= 2.0.1', patched_versions: null },
      { package: { ecosystem: 'npm', name: '@acme/core' }, vulnerable_version_range: '= 1.2.3', patched_versions: null },
    ]);
    expect(packages.advisory).toMatchObject({ severity: 'critical', cwe_ids: ['CWE-506'] });
    expect(packages.advisory.description).toContain('compromise-MAL-2026-1234-abc');
    expect(packages.advisory.description).toContain('Blast radius: 4 releases of 3 packages');
    expect(packages.advisory.description).toContain('Timeline: https://quarantine.acme.test/incidents/compromise-MAL-2026-1234-abc');
    expect(packages.advisory.description).toContain('Related: MAL-2026-1234');
    expect(packages.advisory.description).not.toContain('<script>');
    expect(packages.advisory.description.endsWith(githubMarker('compromise-MAL-2026-1234-abc'))).toBe(true);
    const utils = plan.actions.find((a) => a.id === 'github:draft-advisory:acme/utils') as Extract<GithubAction, { kind: 'draft-advisory' }>;
    expect(utils.advisory.vulnerabilities.map((v) => v.vulnerable_version_range)).toEqual(['>= 1.1.0, <= 1.2.0']);
    expect(plan.notes).toEqual([]);
  });

  test('patched_versions is the safe release only when it is above the bad ones', () => {
    const plan = planGithub(input({ releases: [{ name: '@acme/core', versions: ['1.2.1'] }], safeReleases: { '@acme/core': '1.2.2' } }));
    const draft = plan.actions.find((a) => a.kind === 'draft-advisory') as Extract<GithubAction, { kind: 'draft-advisory' }>;
    expect(draft.advisory.vulnerabilities).toEqual([{ package: { ecosystem: 'npm', name: '@acme/core' }, vulnerable_version_range: '= 1.2.1', patched_versions: '1.2.2' }]);
  });

  test('a package with no known repository or workflow is a note, not a guess', () => {
    const plan = planGithub(input({ policy: DEFAULT_GITHUB_POLICY }));
    expect(plan.actions.some((a) => a.repository.repo === 'utils')).toBe(false);
    expect(plan.notes).toEqual([
      expect.stringMatching(/^@acme\/utils: no GitHub repository known .* github\.repositories$/),
    ]);
  });

  test('a vulnerability or a leaked token plans nothing on GitHub; the policy turns actions off or on', () => {
    expect(planGithub(input({ trigger: 'vulnerability' })).actions).toEqual([]);
    expect(planGithub(input({ trigger: 'leaked-token' })).actions).toEqual([]);
    const quiet = { ...input().policy, triggers: { ...DEFAULT_GITHUB_POLICY.triggers, 'compromised-build': { ...DEFAULT_GITHUB_POLICY.triggers['compromised-build'], 'purge-caches': 'approval' as const, 'tracking-issue': 'auto' as const } } };
    const plan = planGithub(input({ policy: quiet }));
    expect(plan.actions.filter((a) => a.kind === 'purge-caches').map((a) => a.gate)).toEqual(['approval', 'approval']);
    expect(plan.actions.filter((a) => a.kind === 'tracking-issue').map((a) => a.id)).toEqual(['github:tracking-issue:acme/packages', 'github:tracking-issue:acme/utils']);
  });

  test('rollback enables a workflow that was active, closes the draft, and lists the deleted caches as gone', () => {
    const plan = planGithub(input());
    const disable = plan.actions.find((a) => a.kind === 'disable-workflow')!;
    expect(undoGithubAction(disable, { state: 'active' })).toEqual({ undo: expect.objectContaining({ kind: 'enable-workflow', workflow: 'release.yml' }) });
    expect(undoGithubAction(disable, { state: 'disabled_manually' })).toEqual({ nothing: expect.stringContaining('left disabled') });
    expect(undoGithubAction(plan.actions.find((a) => a.kind === 'draft-advisory')!, null)).toEqual({ undo: expect.objectContaining({ kind: 'close-advisory' }) });
    const purge = undoGithubAction(plan.actions.find((a) => a.kind === 'purge-caches')!, { count: 2, caches: [{ key: 'npm-a', ref: 'refs/heads/main' }, { key: 'npm-b', ref: 'refs/heads/main' }] });
    expect(purge).toEqual({ irreversible: 'deleted Actions caches cannot be restored; the next runs rebuild them: 2 deleted: npm-a (refs/heads/main), npm-b (refs/heads/main)' });
  });

  test('a draft is read back only with exactly its versions, and not once closed', () => {
    const draft = planGithub(input()).actions[0] as Extract<GithubAction, { kind: 'draft-advisory' }>;
    const snapshot = { ghsa_id: 'GHSA-xxxx-xxxx-xxxx', state: 'draft', severity: 'critical', cwe_ids: ['CWE-506'], vulnerabilities: draft.advisory.vulnerabilities.map((v) => ({ package: v.package.name, vulnerable_version_range: v.vulnerable_version_range, patched_versions: v.patched_versions })) };
    expect(githubActionHolds(draft, { kind: 'advisory', advisory: snapshot })).toBe(true);
    expect(githubActionHolds(draft, { kind: 'advisory', advisory: { ...snapshot, vulnerabilities: snapshot.vulnerabilities.slice(1) } })).toBe(false);
    expect(githubActionHolds(draft, { kind: 'advisory', advisory: { ...snapshot, state: 'closed' } })).toBe(false);
  });
});

describe('the policy file\'s github section', () => {
  test('absent: the safe defaults', () => {
    expect(parsePolicy({ version: 1 }).github).toEqual(DEFAULT_GITHUB_POLICY);
  });

  test('given: merged over the defaults per trigger', () => {
    const policy = parsePolicy({
      version: 1,
      github: {
        triggers: { malware: { 'tracking-issue': 'auto', 'purge-caches': 'approval' } },
        repositories: { '@acme/core': { repository: 'acme/core', workflow: '.github/workflows/release.yml' } },
        caches: { keyPrefix: 'npm-' },
        cancelGraceSeconds: 30,
        timelineUrl: 'https://quarantine.acme.test/incidents/{incident}',
      },
      approvers: [{ name: 'sec-lead', may: ['publish-advisory'] }],
    });
    expect(policy.github!.triggers.malware).toMatchObject({ 'tracking-issue': 'auto', 'purge-caches': 'approval', 'draft-advisory': 'auto', 'publish-advisory': 'approval' });
    expect(policy.github!.triggers['compromised-build']).toEqual(DEFAULT_GITHUB_POLICY.triggers['compromised-build']);
    expect(policy.github).toMatchObject({ caches: { keyPrefix: 'npm-' }, cancelGraceSeconds: 30 });
  });

  test.each([
    [{ triggers: { malware: { 'publish-advisory': 'auto' } } }, /publish-advisory: a published advisory is public/],
    [{ triggers: { vulnerability: { 'draft-advisory': 'auto' } } }, /vulnerability is recorded/],
    [{ repositories: { '@acme/core': { repository: 'https://evil/x' } } }, /repositories.*owner\/repo/],
    [{ repositories: { '@acme/core': { repository: 'acme/core', workflow: '../x.yml' } } }, /workflow file name/],
    [{ purge: true }, /unknown field purge/],
  ])('%j is refused', (github, message) => {
    expect(() => parsePolicy({ version: 1, github })).toThrow(PolicyError);
    expect(() => parsePolicy({ version: 1, github })).toThrow(message);
  });
});
