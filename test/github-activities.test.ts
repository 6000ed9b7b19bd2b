// The GitHub activities against the stand-in through Prism: each action does what it says once
// (a second run writes nothing), its read-back sees it, a missing right is "needs a person" with the
// permission named and nothing changed, GitHub's 5xx are retried, and a GitHub App finds its
// installation per repository. Every request and answer is checked by Prism against GitHub's contract.
import { ApplicationFailure } from '@temporalio/activity';
import { createGithubActivities } from '../activities/github';
import type { GithubSettings } from '../clients/github';
import { githubActionHolds, type AnyGithubAction, type GithubAction } from '../core/github/action';
import type { GithubActivities } from '../core/github/ports';
import { appKeys, startGithubStack, type GithubStack } from './helpers/github';

let stack: GithubStack;
let github: GithubActivities;
const TOKEN = 'ghp_activities_test_token';
const ALL_RIGHTS = { actions: 'write', repository_advisories: 'write', issues: 'write' } as const;

beforeAll(async () => {
  stack = await startGithubStack();
  stack.standin.state.tokens.set(TOKEN, { permissions: ALL_RIGHTS });
  github = createGithubActivities(settings({ kind: 'token', token: TOKEN }));
});
afterAll(() => stack?.stop());

function settings(auth: GithubSettings['auth'], retries = 1): GithubSettings {
  // No write pacing: GitHub's 1 s between writes would make a 230-cache purge a 4-minute test.
  return { apiUrl: stack.apiUrl, auth, retries, writeIntervalMs: 0 };
}

const base = (repo: string) => ({ repository: { owner: 'acme', repo }, gate: 'auto' as const, rule: 'test', why: 'test' });

function advisory(repo: string, versions: string[]): GithubAction {
  return {
    ...base(repo),
    id: `draft-advisory:acme/${repo}`,
    kind: 'draft-advisory',
    marker: '[quarantine qi:0badc0de]',
    advisory: {
      summary: '@acme/core: compromised releases',
      description: 'Releases published by a poisoned build.\n\n[quarantine qi:0badc0de]',
      severity: 'critical',
      cwe_ids: ['CWE-506'],
      vulnerabilities: versions.map((v) => ({ package: { ecosystem: 'npm', name: '@acme/core' }, vulnerable_version_range: `= ${v}`, patched_versions: '1.2.2' })),
    },
  };
}

async function holds(action: AnyGithubAction): Promise<boolean> {
  return githubActionHolds(action, await github.readGithubFacts(action));
}

async function failureOf(work: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

test('the draft advisory is created once, updated as the incident learns more, closed and reopened', async () => {
  const repository = stack.standin.state.seed({ owner: 'acme', repo: 'advisory' });
  const first = advisory('advisory', ['1.2.3']);
  const created = await github.runGithubAction(first);
  expect(created.changed).toBe(true);
  expect(created.before).toBeNull();
  expect(await holds(first)).toBe(true);
  expect(repository.advisories).toHaveLength(1);
  expect(repository.advisories[0]).toMatchObject({ state: 'draft', severity: 'critical', cwe_ids: ['CWE-506'] });

  const again = await github.runGithubAction(first);
  expect(again.changed).toBe(false);
  const writes = stack.standin.state.requests.filter((r) => r.path.startsWith('/repos/acme/advisory/') && r.method !== 'GET');
  expect(writes).toHaveLength(1);

  const more = advisory('advisory', ['1.2.3', '1.2.4']);
  expect(await holds(more)).toBe(false);
  const updated = await github.runGithubAction(more);
  expect(updated.changed).toBe(true);
  expect(repository.advisories).toHaveLength(1);
  expect(repository.advisories[0]!.vulnerabilities!.map((v) => v.vulnerable_version_range)).toEqual(['= 1.2.3', '= 1.2.4']);

  const close: AnyGithubAction = { ...base('advisory'), id: 'undo', kind: 'close-advisory', marker: first.kind === 'draft-advisory' ? first.marker : '' };
  expect((await github.runGithubAction(close)).changed).toBe(true);
  expect(repository.advisories[0]!.state).toBe('closed');
  expect(await holds(close)).toBe(true);
  expect(await holds(more)).toBe(false);
  expect((await github.runGithubAction(close)).changed).toBe(false);

  // The incident drafting again (a new report) reopens its own advisory instead of opening a second.
  expect((await github.runGithubAction(more)).changed).toBe(true);
  expect(repository.advisories.map((a) => a.state)).toEqual(['draft']);
});

test('the publish workflow is disabled once, its runs cancelled (force-cancelled after the grace period), and enabled again', async () => {
  const repository = stack.standin.state.seed({
    owner: 'acme',
    repo: 'workflow',
    workflows: [{ path: '.github/workflows/release.yml' }, { path: '.github/workflows/ci.yml' }],
    runs: [
      { workflowPath: '.github/workflows/release.yml', status: 'in_progress' },
      { workflowPath: '.github/workflows/release.yml', status: 'queued', ignoresCancel: true },
      { workflowPath: '.github/workflows/ci.yml', status: 'in_progress' },
    ],
  });
  const disable: AnyGithubAction = { ...base('workflow'), id: 'd', kind: 'disable-workflow', workflow: 'release.yml' };
  expect(await github.runGithubAction(disable)).toEqual({ changed: true, before: { state: 'active' }, after: { state: 'disabled_manually' } });
  expect((await github.runGithubAction(disable)).changed).toBe(false);
  expect(await holds(disable)).toBe(true);
  expect(repository.workflows.map((w) => w.state)).toEqual(['disabled_manually', 'active']);

  const cancel: AnyGithubAction = { ...base('workflow'), id: 'c', kind: 'cancel-runs', workflow: 'release.yml', graceSeconds: 1 };
  expect(await holds(cancel)).toBe(false);
  const started = Date.now();
  const outcome = await github.runGithubAction(cancel);
  const [plain, stubborn, ci] = repository.runs;
  expect(outcome).toEqual({ changed: true, before: { inFlight: expect.arrayContaining([plain!.id, stubborn!.id]) }, after: { cancelled: expect.arrayContaining([plain!.id, stubborn!.id]), forceCancelled: [stubborn!.id] } });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  expect(repository.runs.map((r) => r.conclusion)).toEqual(['cancelled', 'cancelled', null]);
  expect(ci!.status).toBe('in_progress');
  expect(await holds(cancel)).toBe(true);
  expect((await github.runGithubAction(cancel)).changed).toBe(false);

  const enable: AnyGithubAction = { ...base('workflow'), id: 'e', kind: 'enable-workflow', workflow: 'release.yml' };
  expect((await github.runGithubAction(enable)).changed).toBe(true);
  expect(repository.workflows[0]!.state).toBe('active');
});

test('a purge pages through every cache in scope until none is left, and only those', async () => {
  const caches = [
    ...Array.from({ length: 230 }, (_, i) => ({ key: `npm-linux-${i}`, ref: 'refs/heads/main' })),
    ...Array.from({ length: 5 }, (_, i) => ({ key: `npm-linux-pr-${i}`, ref: 'refs/pull/12/merge' })),
    { key: 'pip-linux-0', ref: 'refs/heads/main' },
  ];
  const repository = stack.standin.state.seed({ owner: 'acme', repo: 'caches', caches });
  const scoped: AnyGithubAction = { ...base('caches'), id: 'p', kind: 'purge-caches', scope: { keyPrefix: 'npm-', refPrefix: 'refs/heads/' } };
  const outcome = await github.runGithubAction(scoped);
  expect(outcome.after).toEqual({ deleted: 230, remaining: 0 });
  expect((outcome.before as { count: number; caches: unknown[] }).count).toBe(230);
  expect((outcome.before as { caches: unknown[] }).caches).toHaveLength(50);
  expect(repository.caches.map((c) => c.key).sort()).toEqual(['npm-linux-pr-0', 'npm-linux-pr-1', 'npm-linux-pr-2', 'npm-linux-pr-3', 'npm-linux-pr-4', 'pip-linux-0']);
  expect(await holds(scoped)).toBe(true);

  const all: AnyGithubAction = { ...base('caches'), id: 'a', kind: 'purge-caches', scope: {} };
  expect(await holds(all)).toBe(false);
  expect((await github.runGithubAction(all)).after).toEqual({ deleted: 6, remaining: 0 });
  expect(repository.caches).toEqual([]);
});

test('the tracking issue is opened once per incident', async () => {
  const repository = stack.standin.state.seed({ owner: 'acme', repo: 'issues' });
  const issue: AnyGithubAction = { ...base('issues'), id: 'i', kind: 'tracking-issue', marker: '[quarantine qi:0badc0de]', title: 'Compromised releases', body: 'Timeline: …\n\n[quarantine qi:0badc0de]', labels: ['quarantine'] };
  expect(await holds(issue)).toBe(false);
  expect((await github.runGithubAction(issue)).changed).toBe(true);
  expect((await github.runGithubAction(issue)).changed).toBe(false);
  expect(repository.issues.map((i) => [i.number, i.labels])).toEqual([[1, ['quarantine']]]);
  expect(await holds(issue)).toBe(true);
});

test('a missing right is "needs a person" naming the permission, final, and changes nothing', async () => {
  const repository = stack.standin.state.seed({ owner: 'acme', repo: 'readonly', workflows: [{ path: '.github/workflows/release.yml' }] });
  const secret = 'ghp_read_only_secret_value';
  stack.standin.state.tokens.set(secret, { permissions: { actions: 'read', repository_advisories: 'read' } });
  const limited = createGithubActivities(settings({ kind: 'token', token: secret }));
  const disable = await failureOf(limited.runGithubAction({ ...base('readonly'), id: 'd', kind: 'disable-workflow', workflow: 'release.yml' }));
  expect(disable.type).toBe('GithubNeedsPerson');
  expect(disable.nonRetryable).toBe(true);
  expect(disable.message).toMatch(/^needs a person: .*actions: write on acme\/readonly/);
  const draft = await failureOf(limited.runGithubAction(advisory('readonly', ['1.2.3'])));
  expect(draft.message).toMatch(/repository_advisories: write on acme\/readonly/);
  const issue = await failureOf(limited.runGithubAction({ ...base('readonly'), id: 'i', kind: 'tracking-issue', marker: 'm', title: 't', body: 'm', labels: [] }));
  expect(issue.message).toMatch(/issues: write/);
  for (const failure of [disable, draft, issue]) expect(failure.message).not.toContain(secret);
  expect(repository.workflows[0]!.state).toBe('active');
  expect(repository.advisories).toEqual([]);
});

test('GitHub\'s 5xx are retried by octokit, and a lasting outage is a retryable failure for Temporal', async () => {
  const repository = stack.standin.state.seed({ owner: 'acme', repo: 'flaky', workflows: [{ path: '.github/workflows/release.yml' }] });
  const disable: AnyGithubAction = { ...base('flaky'), id: 'd', kind: 'disable-workflow', workflow: 'release.yml' };
  stack.standin.state.fault = { status: 503, remaining: 1 };
  expect((await github.runGithubAction(disable)).changed).toBe(true);
  expect(repository.workflows[0]!.state).toBe('disabled_manually');

  stack.standin.state.fault = { status: 502, remaining: Infinity };
  try {
    const outage = await failureOf(github.runGithubAction({ ...disable, kind: 'enable-workflow' }));
    expect(outage.type).toBe('GithubUnavailable');
    expect(outage.nonRetryable).toBe(false);
  } finally {
    stack.standin.state.fault = undefined;
  }
  expect(repository.workflows[0]!.state).toBe('disabled_manually');
});

test('a GitHub App finds its installation per repository and acts with its installation\'s rights', async () => {
  const keys = appKeys();
  stack.standin.state.app = { id: 31337, publicKeyPem: keys.publicKeyPem };
  const granted = stack.standin.state.seed({ owner: 'acme', repo: 'app-granted', workflows: [{ path: '.github/workflows/release.yml' }], installation: { permissions: { ...ALL_RIGHTS, metadata: 'read' } } });
  const narrow = stack.standin.state.seed({ owner: 'acme', repo: 'app-narrow', installation: { permissions: { actions: 'write', metadata: 'read' } } });
  const app = createGithubActivities(settings({ kind: 'app', appId: '31337', privateKey: keys.privateKeyPem }));
  expect((await app.runGithubAction(advisory('app-granted', ['1.2.3']))).changed).toBe(true);
  expect((await app.runGithubAction({ ...base('app-granted'), id: 'd', kind: 'disable-workflow', workflow: 'release.yml' })).changed).toBe(true);
  expect(granted.advisories).toHaveLength(1);
  expect(granted.workflows[0]!.state).toBe('disabled_manually');
  const refused = await failureOf(app.runGithubAction(advisory('app-narrow', ['1.2.3'])));
  expect(refused.type).toBe('GithubNeedsPerson');
  expect(refused.message).toMatch(/repository_advisories: write on acme\/app-narrow/);
  expect(refused.message).not.toContain('PRIVATE KEY');
  expect(narrow.advisories).toEqual([]);
  // One installation look-up per repository, one token per installation.
  const lookups = stack.standin.state.requests.filter((r) => r.path === '/repos/acme/app-granted/installation');
  expect(lookups).toHaveLength(1);
});
