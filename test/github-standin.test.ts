// The GitHub stand-in's contract: every route the product uses, called through Prism, passes GitHub's
// OpenAPI description both ways (no violation header, the documented status) and changes the stand-in's
// state as GitHub would; Prism refuses a malformed request before the stand-in sees it and turns a
// malformed answer into a 500, so a stand-in (or client) that drifts from GitHub's contract fails here.
import { GITHUB_ROUTES } from '../stack/prism';
import { appJwt, appKeys, startGithubStack, type GithubStack } from './helpers/github';

let stack: GithubStack;
const TOKEN = 'ghp_contract_test_token';

beforeAll(async () => {
  stack = await startGithubStack();
  stack.standin.state.tokens.set(TOKEN, { permissions: { actions: 'write', repository_advisories: 'write', issues: 'write' } });
});
afterAll(() => stack?.stop());

async function call(method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; violations: string | null; json: unknown }> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `token ${token}`, accept: 'application/vnd.github+json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, violations: response.headers.get('sl-violations'), json: text ? JSON.parse(text) : undefined };
}

/** Which of GITHUB_ROUTES the stand-in answered: a route it never answered was never checked. */
function routesCalled(): Set<string> {
  const called = new Set<string>();
  for (const request of stack.standin.state.requests) {
    for (const [template, methods] of Object.entries(GITHUB_ROUTES)) {
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}(\\?.*)?$`);
      if (methods.includes(request.method.toLowerCase()) && pattern.test(request.path)) called.add(`${request.method} ${template}`);
    }
  }
  return called;
}

test('every route the product uses passes GitHub\'s contract both ways and acts on the stand-in', async () => {
  const { state } = stack.standin;
  const keys = appKeys();
  state.app = { id: 4242, publicKeyPem: keys.publicKeyPem };
  const repository = state.seed({
    owner: 'acme',
    repo: 'packages',
    workflows: [{ path: '.github/workflows/release.yml', name: 'release' }],
    runs: [{ workflowPath: '.github/workflows/release.yml', status: 'in_progress' }, { workflowPath: '.github/workflows/release.yml', status: 'queued', ignoresCancel: true }],
    caches: [{ key: 'node-modules-linux-abc', ref: 'refs/heads/main' }, { key: 'node-modules-linux-def', ref: 'refs/pull/7/merge' }],
    installation: { permissions: { actions: 'write', repository_advisories: 'write', issues: 'write', metadata: 'read' } },
  });
  const ok = (result: { status: number; violations: string | null }, status: number) => {
    expect({ status: result.status, violations: result.violations }).toEqual({ status, violations: null });
  };

  const jwt = appJwt(4242, keys.privateKeyPem);
  const installation = await call('GET', '/repos/acme/packages/installation', undefined, jwt);
  ok(installation, 200);
  const minted = await call('POST', `/app/installations/${(installation.json as { id: number }).id}/access_tokens`, {}, jwt);
  ok(minted, 201);
  const installationToken = (minted.json as { token: string }).token;

  const created = await call('POST', '/repos/acme/packages/security-advisories', {
    summary: '@acme/core 1.2.3 is compromised',
    description: 'incident compromise-x',
    severity: 'critical',
    cwe_ids: ['CWE-506'],
    vulnerabilities: [{ package: { ecosystem: 'npm', name: '@acme/core' }, vulnerable_version_range: '= 1.2.3', patched_versions: '1.2.2' }],
  }, installationToken);
  ok(created, 201);
  const ghsa = (created.json as { ghsa_id: string; state: string }).ghsa_id;
  expect((created.json as { state: string }).state).toBe('draft');
  ok(await call('GET', '/repos/acme/packages/security-advisories?state=draft&per_page=100'), 200);
  ok(await call('GET', `/repos/acme/packages/security-advisories/${ghsa}`), 200);
  ok(await call('PATCH', `/repos/acme/packages/security-advisories/${ghsa}`, { state: 'closed' }), 200);
  expect(repository.advisories.map((a) => a.state)).toEqual(['closed']);

  const workflow = await call('GET', '/repos/acme/packages/actions/workflows/release.yml');
  ok(workflow, 200);
  ok(await call('PUT', '/repos/acme/packages/actions/workflows/release.yml/disable'), 204);
  expect(repository.workflows[0]!.state).toBe('disabled_manually');
  const runs = await call('GET', '/repos/acme/packages/actions/workflows/release.yml/runs?status=in_progress&per_page=100');
  ok(runs, 200);
  expect((runs.json as { total_count: number }).total_count).toBe(1);
  const [plain, stubborn] = repository.runs;
  ok(await call('POST', `/repos/acme/packages/actions/runs/${plain!.id}/cancel`), 202);
  ok(await call('POST', `/repos/acme/packages/actions/runs/${stubborn!.id}/cancel`), 202);
  expect(stubborn!.status).toBe('queued');
  ok(await call('POST', `/repos/acme/packages/actions/runs/${stubborn!.id}/force-cancel`), 202);
  expect(repository.runs.map((r) => [r.status, r.conclusion])).toEqual([['completed', 'cancelled'], ['completed', 'cancelled']]);
  ok(await call('PUT', '/repos/acme/packages/actions/workflows/release.yml/enable'), 204);
  expect(repository.workflows[0]!.state).toBe('active');

  const caches = await call('GET', '/repos/acme/packages/actions/caches?key=node-modules&per_page=100&page=1');
  ok(caches, 200);
  for (const cache of (caches.json as { actions_caches: { id: number }[] }).actions_caches) ok(await call('DELETE', `/repos/acme/packages/actions/caches/${cache.id}`), 204);
  expect(repository.caches).toEqual([]);

  ok(await call('POST', '/repos/acme/packages/issues', { title: 'Compromised release', body: 'quarantine incident', labels: ['quarantine'] }), 201);
  ok(await call('GET', '/repos/acme/packages/issues?state=all&labels=quarantine&per_page=100'), 200);
  expect(repository.issues.map((i) => i.title)).toEqual(['Compromised release']);

  const every = Object.entries(GITHUB_ROUTES).flatMap(([template, methods]) => methods.map((m) => `${m.toUpperCase()} ${template}`));
  expect([...routesCalled()].sort()).toEqual(every.sort());
});

test('Prism refuses a malformed request before the stand-in sees it', async () => {
  const { state } = stack.standin;
  state.seed({ owner: 'acme', repo: 'refused' });
  const before = state.requests.length;
  // `>= 0` is a fine string to the schema; an unknown field and a missing `vulnerabilities` are not.
  const refused = await call('POST', '/repos/acme/refused/security-advisories', { summary: 'x', description: 'y', affects_everything: true });
  expect(refused.status).toBe(422);
  expect(JSON.stringify(refused.json)).toMatch(/vulnerabilities|affects_everything/);
  expect(state.requests.length).toBe(before);
  expect(state.repositories.get('acme/refused')!.advisories).toEqual([]);
});

test('Prism turns an answer that breaks GitHub\'s schema into a 500 naming the violation', async () => {
  const { state } = stack.standin;
  state.seed({ owner: 'acme', repo: 'broken', workflows: [{ path: '.github/workflows/release.yml' }] });
  state.fault = { status: 200, remaining: 1, body: { id: 'not-a-number', state: 'sleeping' } };
  const broken = await call('GET', '/repos/acme/broken/actions/workflows/release.yml');
  expect(broken.status).toBe(500);
  expect(broken.violations).toMatch(/id|state|required/);
  // The stand-in answers correctly again once the fault is spent: the same call passes.
  const fine = await call('GET', '/repos/acme/broken/actions/workflows/release.yml');
  expect({ status: fine.status, violations: fine.violations }).toEqual({ status: 200, violations: null });
});

test('a token without the right gets GitHub\'s 403, and an unknown token 401', async () => {
  const { state } = stack.standin;
  state.seed({ owner: 'acme', repo: 'locked', workflows: [{ path: '.github/workflows/release.yml' }] });
  state.tokens.set('ghp_read_only', { permissions: { actions: 'read' } });
  const refused = await call('PUT', '/repos/acme/locked/actions/workflows/release.yml/disable', undefined, 'ghp_read_only');
  expect(refused.status).toBe(403);
  expect((refused.json as { message: string }).message).toBe('Resource not accessible by integration');
  expect(state.repositories.get('acme/locked')!.workflows[0]!.state).toBe('active');
  expect((await call('GET', '/repos/acme/locked/actions/caches', undefined, 'ghp_unknown')).status).toBe(401);
});
