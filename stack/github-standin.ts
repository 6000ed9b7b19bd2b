// Test stack only: a small stateful GitHub for the routes the product uses (repository security
// advisories, workflows and their runs, Actions caches, issues, GitHub App installations), run behind
// Prism (stack/prism.ts), which checks every request and answer against GitHub's OpenAPI description.
// Bodies are the schema's minimal valid sample (openapi-sample.ts) with the stand-in's state laid over.
//
// Rights are GitHub's fine-grained permissions: each token (or App installation token) holds a set, a
// route needs one (`actions: write`), and a missing one is GitHub's 403 "Resource not accessible by
// integration". The test-control surface is under `/_standin/`, a path GitHub's description does not
// have: Prism refuses it, so only a test that talks to the stand-in directly can seed or read state.
import { createPublicKey, createVerify, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { minimalResponse } from './openapi-sample';

export type Access = 'read' | 'write';
/** GitHub's fine-grained permission names, as an App's installation and a fine-grained token carry them. */
export type Permissions = Partial<Record<'actions' | 'repository_advisories' | 'issues' | 'metadata', Access>>;

export interface StandinWorkflow {
  id: number;
  path: string;
  name: string;
  state: 'active' | 'disabled_manually';
}

export interface StandinRun {
  id: number;
  workflowId: number;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: 'cancelled' | 'success' | null;
  /** A run that ignores a plain cancel (a hung step): only a force-cancel stops it. */
  ignoresCancel: boolean;
  head_branch: string;
  head_sha: string;
}

export interface StandinCache {
  id: number;
  key: string;
  ref: string;
  size_in_bytes: number;
  created_at: string;
}

export interface StandinVulnerability {
  package: { ecosystem: string; name: string | null } | null;
  vulnerable_version_range: string | null;
  patched_versions: string | null;
  vulnerable_functions: string[] | null;
}

export interface StandinAdvisory {
  ghsa_id: string;
  summary: string;
  description: string | null;
  severity: 'critical' | 'high' | 'medium' | 'low' | null;
  state: 'draft' | 'published' | 'closed' | 'triage' | 'withdrawn';
  cwe_ids: string[] | null;
  vulnerabilities: StandinVulnerability[] | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  published_at: string | null;
}

export interface StandinIssue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  created_at: string;
}

export interface StandinRepository {
  owner: string;
  repo: string;
  workflows: StandinWorkflow[];
  runs: StandinRun[];
  caches: StandinCache[];
  advisories: StandinAdvisory[];
  issues: StandinIssue[];
  /** The GitHub App installation on this repository, with the permissions the owner granted it. */
  installation?: { id: number; permissions: Permissions };
}

/** What a test seeds for one repository; ids are given by the stand-in. */
export interface RepositorySeed {
  owner: string;
  repo: string;
  workflows?: { path: string; name?: string; state?: StandinWorkflow['state'] }[];
  runs?: { workflowPath: string; status: 'queued' | 'in_progress'; ignoresCancel?: boolean; branch?: string }[];
  caches?: { key: string; ref: string; size?: number }[];
  installation?: { permissions: Permissions };
}

export interface StandinRequest {
  method: string;
  path: string;
  status: number;
  at: string;
}

export interface Fault {
  status: number;
  /** Requests left to answer with `status` (Infinity: until cleared). */
  remaining: number;
  /** The body to answer with (default GitHub's error shape): a test gives a malformed one to see Prism refuse it. */
  body?: unknown;
}

interface Caller {
  permissions: Permissions;
  /** Installation tokens work on their installation's repositories only. */
  installationId?: number;
}

interface Request {
  method: string;
  url: URL;
  params: string[];
  body: unknown;
  caller?: Caller;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

const FORBIDDEN = { message: 'Resource not accessible by integration', documentation_url: 'https://docs.github.com/rest' };
const NOT_FOUND = { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' };

export class GithubStandinState {
  readonly repositories = new Map<string, StandinRepository>();
  readonly tokens = new Map<string, Caller>();
  readonly requests: StandinRequest[] = [];
  app?: { id: number; publicKeyPem: string };
  fault?: Fault;
  private nextId = 1000;

  id(): number {
    return (this.nextId += 1);
  }

  seed(seed: RepositorySeed): StandinRepository {
    const repository: StandinRepository = {
      owner: seed.owner,
      repo: seed.repo,
      workflows: [],
      runs: [],
      caches: [],
      advisories: [],
      issues: [],
      ...(seed.installation ? { installation: { id: this.id(), permissions: seed.installation.permissions } } : {}),
    };
    for (const workflow of seed.workflows ?? []) {
      repository.workflows.push({ id: this.id(), path: workflow.path, name: workflow.name ?? workflow.path.split('/').pop()!, state: workflow.state ?? 'active' });
    }
    for (const run of seed.runs ?? []) {
      const workflow = repository.workflows.find((w) => w.path === run.workflowPath);
      if (!workflow) throw new Error(`seed ${seed.owner}/${seed.repo}: no workflow ${run.workflowPath} for a run`);
      repository.runs.push({ id: this.id(), workflowId: workflow.id, status: run.status, conclusion: null, ignoresCancel: run.ignoresCancel ?? false, head_branch: run.branch ?? 'main', head_sha: randomBytes(20).toString('hex') });
    }
    for (const cache of seed.caches ?? []) {
      repository.caches.push({ id: this.id(), key: cache.key, ref: cache.ref, size_in_bytes: cache.size ?? 1024, created_at: new Date().toISOString() });
    }
    this.repositories.set(`${seed.owner}/${seed.repo}`.toLowerCase(), repository);
    return repository;
  }
}

function iso(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeSegment(segment: string): string {
  return decodeURIComponent(segment);
}

/** Verifies an App's JWT (RS256, `iss` the App id, not expired) as GitHub does. */
function verifyAppJwt(token: string, app: { id: number; publicKeyPem: string }): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const [header, payload, signature] = parts as [string, string, string];
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${header}.${payload}`);
  if (!verifier.verify(createPublicKey(app.publicKeyPem), Buffer.from(signature, 'base64url'))) return false;
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown; exp?: unknown };
  return String(claims.iss) === String(app.id) && typeof claims.exp === 'number' && claims.exp * 1000 > Date.now();
}

export interface GithubStandin {
  /** Where GitHub's routes are answered (put Prism in front of it). */
  url: string;
  state: GithubStandinState;
  close(): Promise<void>;
}

/**
 * Starts the stand-in on a free loopback port. The `/_standin/` routes seed and read its state over
 * HTTP for processes other than the one that started it (a test seeds through `state` directly too).
 */
export async function startGithubStandin(): Promise<GithubStandin> {
  const state = new GithubStandinState();
  const server: Server = createServer((req, res) => {
    void handle(state, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { message: err instanceof Error ? err.message : String(err) } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, answer: Answer): void {
  const text = answer.body === undefined ? '' : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': '4999',
    ...answer.headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

async function handle(state: GithubStandinState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://standin.invalid');
  const method = req.method ?? 'GET';
  const body = await readBody(req);
  if (url.pathname.startsWith('/_standin/')) {
    send(res, control(state, method, url.pathname, body));
    return;
  }
  let answer: Answer;
  if (state.fault && state.fault.remaining > 0) {
    state.fault.remaining -= 1;
    answer = { status: state.fault.status, body: state.fault.body ?? { message: 'stand-in fault', documentation_url: 'https://docs.github.com/rest' } };
  } else {
    answer = route(state, { method, url, params: [], body, caller: undefined }, req.headers.authorization);
  }
  state.requests.push({ method, path: url.pathname + url.search, status: answer.status, at: new Date().toISOString() });
  send(res, answer);
}

function control(state: GithubStandinState, method: string, path: string, body: unknown): Answer {
  const parts = path.split('/').slice(2).map(decodeSegment);
  if (method === 'POST' && parts[0] === 'repos') return { status: 201, body: state.seed(body as RepositorySeed) };
  if (method === 'GET' && parts[0] === 'repos' && parts.length === 3) {
    const repository = state.repositories.get(`${parts[1]}/${parts[2]}`.toLowerCase());
    return repository ? { status: 200, body: repository } : { status: 404, body: NOT_FOUND };
  }
  if (method === 'PUT' && parts[0] === 'tokens') {
    const { token, permissions } = body as { token: string; permissions: Permissions };
    state.tokens.set(token, { permissions });
    return { status: 204 };
  }
  if (method === 'PUT' && parts[0] === 'app') {
    state.app = body as { id: number; publicKeyPem: string };
    return { status: 204 };
  }
  if (method === 'PUT' && parts[0] === 'fault') {
    const { status, count, body: answer } = body as { status: number; count: number | null; body?: unknown };
    state.fault = count === 0 ? undefined : { status, remaining: count ?? Infinity, ...(answer === undefined ? {} : { body: answer }) };
    return { status: 204 };
  }
  if (method === 'GET' && parts[0] === 'requests') return { status: 200, body: state.requests };
  return { status: 404, body: NOT_FOUND };
}

interface Route {
  method: string;
  /** The path as GitHub's OpenAPI description writes it: the sample body comes from its schema. */
  template: string;
  pattern: RegExp;
  /** The permission the route needs; `app` for the App's own JWT. */
  needs: { permission: keyof Permissions; access: Access } | 'app';
  handler: (state: GithubStandinState, request: Request, repository: StandinRepository | undefined) => Answer;
}

function routeOf(method: string, template: string, needs: Route['needs'], handler: Route['handler']): Route {
  const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
  return { method, template, pattern, needs, handler };
}

function body(template: string, method: string, status: number, state: object): Answer {
  return { status, body: { ...(minimalResponse(method, template, status) as object), ...state } };
}

function list(template: string, paged: { items: object[]; headers: Record<string, string> }): Answer {
  const sample = minimalResponse('GET', template, 200) as object;
  return { status: 200, body: paged.items.map((item) => ({ ...sample, ...item })), headers: paged.headers };
}

/**
 * One page of a list, and GitHub's `Link` header to the next. The link is relative (GitHub's is
 * absolute): octokit puts its base URL, Prism, in front, so that the next page is checked too.
 */
function page<T>(items: T[], url: URL): { items: T[]; headers: Record<string, string> } {
  const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30) || 30);
  const pageNumber = Math.max(1, Number(url.searchParams.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number) => {
    const next = new URL(url);
    next.searchParams.set('page', String(n));
    return `<${next.pathname}${next.search}>`;
  };
  const headers: Record<string, string> = pageNumber < last ? { link: `${link(pageNumber + 1)}; rel="next", ${link(last)}; rel="last"` } : {};
  return { items: items.slice((pageNumber - 1) * perPage, pageNumber * perPage), headers };
}

function advisoryBody(repository: StandinRepository, advisory: StandinAdvisory): object {
  const html = `https://github.com/${repository.owner}/${repository.repo}/security/advisories/${advisory.ghsa_id}`;
  return {
    ...advisory,
    url: `https://api.github.com/repos/${repository.owner}/${repository.repo}/security-advisories/${advisory.ghsa_id}`,
    html_url: html,
    identifiers: [{ type: 'GHSA', value: advisory.ghsa_id }],
    cwes: advisory.cwe_ids?.map((cwe_id) => ({ cwe_id, name: cwe_id === 'CWE-506' ? 'Embedded Malicious Code' : cwe_id })) ?? null,
    cve_id: null,
    withdrawn_at: null,
  };
}

function workflowBody(repository: StandinRepository, workflow: StandinWorkflow): object {
  return {
    id: workflow.id,
    node_id: `W_${workflow.id}`,
    name: workflow.name,
    path: workflow.path,
    state: workflow.state,
    url: `https://api.github.com/repos/${repository.owner}/${repository.repo}/actions/workflows/${workflow.id}`,
    html_url: `https://github.com/${repository.owner}/${repository.repo}/blob/main/${workflow.path}`,
    badge_url: `https://github.com/${repository.owner}/${repository.repo}/workflows/${encodeURIComponent(workflow.name)}/badge.svg`,
  };
}

function runBody(repository: StandinRepository, run: StandinRun): object {
  const workflow = repository.workflows.find((w) => w.id === run.workflowId)!;
  return {
    id: run.id,
    workflow_id: run.workflowId,
    path: workflow.path,
    status: run.status,
    conclusion: run.conclusion,
    head_branch: run.head_branch,
    head_sha: run.head_sha,
    event: 'push',
    html_url: `https://github.com/${repository.owner}/${repository.repo}/actions/runs/${run.id}`,
  };
}

function findWorkflow(repository: StandinRepository, idOrFile: string): StandinWorkflow | undefined {
  return repository.workflows.find((w) => String(w.id) === idOrFile || w.path === idOrFile || w.path.split('/').pop() === idOrFile);
}

function newGhsaId(): string {
  const chars = '23456789cfghjmpqrvwx';
  const group = () => Array.from(randomBytes(4), (b) => chars[b % chars.length]).join('');
  return `GHSA-${group()}-${group()}-${group()}`;
}

const ADVISORY_WRITE = { permission: 'repository_advisories', access: 'write' } as const;
const ADVISORY_READ = { permission: 'repository_advisories', access: 'read' } as const;
const ACTIONS_WRITE = { permission: 'actions', access: 'write' } as const;
const ACTIONS_READ = { permission: 'actions', access: 'read' } as const;
const ISSUES_WRITE = { permission: 'issues', access: 'write' } as const;
const ISSUES_READ = { permission: 'issues', access: 'read' } as const;

const ROUTES: Route[] = [
  routeOf('GET', '/repos/{owner}/{repo}/installation', 'app', (_state, _request, repository) => {
    if (!repository?.installation) return { status: 404, body: NOT_FOUND };
    return body('/repos/{owner}/{repo}/installation', 'GET', 200, {
      id: repository.installation.id,
      permissions: repository.installation.permissions,
      repository_selection: 'selected',
      events: [],
      access_tokens_url: `https://api.github.com/app/installations/${repository.installation.id}/access_tokens`,
    });
  }),
  routeOf('POST', '/app/installations/{installation_id}/access_tokens', 'app', (state, request) => {
    const id = Number(request.params[0]);
    const installed = [...state.repositories.values()].find((r) => r.installation?.id === id)?.installation;
    if (!installed) return { status: 404, body: NOT_FOUND };
    const token = `ghs_${randomBytes(18).toString('hex')}`;
    state.tokens.set(token, { permissions: installed.permissions, installationId: id });
    return body('/app/installations/{installation_id}/access_tokens', 'POST', 201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), permissions: installed.permissions });
  }),
  routeOf('GET', '/repos/{owner}/{repo}/security-advisories', ADVISORY_READ, (_state, request, repository) => {
    const wanted = request.url.searchParams.get('state');
    const items = repository!.advisories.filter((a) => !wanted || a.state === wanted);
    const paged = page(items, request.url);
    return list('/repos/{owner}/{repo}/security-advisories', { ...paged, items: paged.items.map((a) => advisoryBody(repository!, a)) });
  }),
  routeOf('POST', '/repos/{owner}/{repo}/security-advisories', ADVISORY_WRITE, (_state, request, repository) => {
    const given = request.body as Partial<StandinAdvisory>;
    const advisory: StandinAdvisory = {
      ghsa_id: newGhsaId(),
      summary: given.summary ?? '',
      description: given.description ?? null,
      severity: given.severity ?? null,
      state: 'draft',
      cwe_ids: given.cwe_ids ?? null,
      vulnerabilities: (given.vulnerabilities ?? []).map(vulnerabilityOf),
      created_at: iso(),
      updated_at: iso(),
      closed_at: null,
      published_at: null,
    };
    repository!.advisories.push(advisory);
    return body('/repos/{owner}/{repo}/security-advisories', 'POST', 201, advisoryBody(repository!, advisory));
  }),
  routeOf('GET', '/repos/{owner}/{repo}/security-advisories/{ghsa_id}', ADVISORY_READ, (_state, request, repository) => {
    const advisory = repository!.advisories.find((a) => a.ghsa_id === request.params[2]);
    if (!advisory) return { status: 404, body: NOT_FOUND };
    return body('/repos/{owner}/{repo}/security-advisories/{ghsa_id}', 'GET', 200, advisoryBody(repository!, advisory));
  }),
  routeOf('PATCH', '/repos/{owner}/{repo}/security-advisories/{ghsa_id}', ADVISORY_WRITE, (_state, request, repository) => {
    const advisory = repository!.advisories.find((a) => a.ghsa_id === request.params[2]);
    if (!advisory) return { status: 404, body: NOT_FOUND };
    const given = request.body as Partial<StandinAdvisory>;
    if (given.state && given.state !== advisory.state) {
      // GitHub lets a closed draft be reopened as a draft, but never un-publishes one.
      if (advisory.state === 'published') return { status: 422, body: { message: 'A published advisory cannot change state', documentation_url: 'https://docs.github.com/rest' } };
      advisory.state = given.state;
      advisory.closed_at = given.state === 'closed' ? iso() : null;
      advisory.published_at = given.state === 'published' ? iso() : advisory.published_at;
    }
    if (given.summary !== undefined) advisory.summary = given.summary;
    if (given.description !== undefined) advisory.description = given.description;
    if (given.severity !== undefined) advisory.severity = given.severity;
    if (given.cwe_ids !== undefined) advisory.cwe_ids = given.cwe_ids;
    if (given.vulnerabilities !== undefined) advisory.vulnerabilities = (given.vulnerabilities ?? []).map(vulnerabilityOf);
    advisory.updated_at = iso();
    return body('/repos/{owner}/{repo}/security-advisories/{ghsa_id}', 'PATCH', 200, advisoryBody(repository!, advisory));
  }),
  routeOf('GET', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}', ACTIONS_READ, (_state, request, repository) => {
    const workflow = findWorkflow(repository!, request.params[2]!);
    if (!workflow) return { status: 404, body: NOT_FOUND };
    return body('/repos/{owner}/{repo}/actions/workflows/{workflow_id}', 'GET', 200, workflowBody(repository!, workflow));
  }),
  ...(['disable', 'enable'] as const).map((verb) =>
    routeOf('PUT', `/repos/{owner}/{repo}/actions/workflows/{workflow_id}/${verb}`, ACTIONS_WRITE, (_state, request, repository) => {
      const workflow = findWorkflow(repository!, request.params[2]!);
      if (!workflow) return { status: 404, body: NOT_FOUND };
      workflow.state = verb === 'disable' ? 'disabled_manually' : 'active';
      return { status: 204 };
    }),
  ),
  routeOf('GET', '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs', ACTIONS_READ, (_state, request, repository) => {
    const workflow = findWorkflow(repository!, request.params[2]!);
    if (!workflow) return { status: 404, body: NOT_FOUND };
    const wanted = request.url.searchParams.get('status');
    const runs = repository!.runs.filter((r) => r.workflowId === workflow.id && (!wanted || r.status === wanted || r.conclusion === wanted));
    const sample = minimalResponse('GET', '/repos/{owner}/{repo}/actions/runs/{run_id}', 200) as object;
    const paged = page(runs, request.url);
    return { ...body('/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs', 'GET', 200, { total_count: runs.length, workflow_runs: paged.items.map((r) => ({ ...sample, ...runBody(repository!, r) })) }), headers: paged.headers };
  }),
  ...(['cancel', 'force-cancel'] as const).map((verb) =>
    routeOf('POST', `/repos/{owner}/{repo}/actions/runs/{run_id}/${verb}`, ACTIONS_WRITE, (_state, request, repository) => {
      const run = repository!.runs.find((r) => String(r.id) === request.params[2]);
      if (!run) return { status: 404, body: NOT_FOUND };
      if (run.status === 'completed') return { status: 409, body: { message: 'Cannot cancel a workflow run that is completed.', documentation_url: 'https://docs.github.com/rest' } };
      if (verb === 'force-cancel' || !run.ignoresCancel) Object.assign(run, { status: 'completed', conclusion: 'cancelled' });
      return { status: 202, body: {} };
    }),
  ),
  routeOf('GET', '/repos/{owner}/{repo}/actions/caches', ACTIONS_READ, (_state, request, repository) => {
    const key = request.url.searchParams.get('key');
    const ref = request.url.searchParams.get('ref');
    // GitHub matches `key` as a prefix and `ref` exactly.
    const caches = repository!.caches.filter((c) => (!key || c.key.startsWith(key)) && (!ref || c.ref === ref));
    const paged = page(caches, request.url);
    return { ...body('/repos/{owner}/{repo}/actions/caches', 'GET', 200, { total_count: caches.length, actions_caches: paged.items.map((c) => ({ ...c, version: 'v1', last_accessed_at: c.created_at })) }), headers: paged.headers };
  }),
  routeOf('DELETE', '/repos/{owner}/{repo}/actions/caches/{cache_id}', ACTIONS_WRITE, (_state, request, repository) => {
    const index = repository!.caches.findIndex((c) => String(c.id) === request.params[2]);
    if (index < 0) return { status: 404, body: NOT_FOUND };
    repository!.caches.splice(index, 1);
    return { status: 204 };
  }),
  routeOf('GET', '/repos/{owner}/{repo}/issues', ISSUES_READ, (_state, request, repository) => {
    const wanted = request.url.searchParams.get('state') ?? 'open';
    const labels = (request.url.searchParams.get('labels') ?? '').split(',').filter(Boolean);
    const issues = repository!.issues.filter((i) => (wanted === 'all' || i.state === wanted) && labels.every((l) => i.labels.includes(l)));
    const paged = page(issues, request.url);
    return list('/repos/{owner}/{repo}/issues', { ...paged, items: paged.items.map((i) => issueBody(repository!, i)) });
  }),
  routeOf('POST', '/repos/{owner}/{repo}/issues', ISSUES_WRITE, (state, request, repository) => {
    const given = request.body as { title: string; body?: string; labels?: (string | { name?: string })[] };
    const issue: StandinIssue = {
      id: state.id(),
      number: repository!.issues.length + 1,
      title: given.title,
      body: given.body ?? null,
      state: 'open',
      labels: (given.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
      created_at: iso(),
    };
    repository!.issues.push(issue);
    return body('/repos/{owner}/{repo}/issues', 'POST', 201, issueBody(repository!, issue));
  }),
];

function vulnerabilityOf(given: Partial<StandinVulnerability>): StandinVulnerability {
  return {
    package: given.package ? { ecosystem: given.package.ecosystem, name: given.package.name ?? null } : null,
    vulnerable_version_range: given.vulnerable_version_range ?? null,
    patched_versions: given.patched_versions ?? null,
    vulnerable_functions: given.vulnerable_functions ?? null,
  };
}

function issueBody(repository: StandinRepository, issue: StandinIssue): object {
  const base = `https://api.github.com/repos/${repository.owner}/${repository.repo}/issues/${issue.number}`;
  return {
    id: issue.id,
    node_id: `I_${issue.id}`,
    number: issue.number,
    title: issue.title,
    body: issue.body,
    state: issue.state,
    labels: issue.labels.map((name, i) => ({ id: issue.id * 100 + i, node_id: `L_${issue.id}_${i}`, url: `${base}/labels/${encodeURIComponent(name)}`, name, description: null, color: 'b60205', default: false })),
    url: base,
    html_url: `https://github.com/${repository.owner}/${repository.repo}/issues/${issue.number}`,
    repository_url: `https://api.github.com/repos/${repository.owner}/${repository.repo}`,
    created_at: issue.created_at,
    updated_at: issue.created_at,
  };
}

function route(state: GithubStandinState, request: Request, authorization: string | undefined): Answer {
  for (const candidate of ROUTES) {
    if (candidate.method !== request.method) continue;
    const match = candidate.pattern.exec(request.url.pathname);
    if (!match) continue;
    request.params = match.slice(1).map(decodeSegment);
    const credential = /^(?:token|bearer) (.+)$/i.exec(authorization ?? '')?.[1];
    if (!credential) return { status: 401, body: { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' } };
    const repository = candidate.template.startsWith('/repos/') ? state.repositories.get(`${request.params[0]}/${request.params[1]}`.toLowerCase()) : undefined;
    if (candidate.needs === 'app') {
      if (!state.app || !verifyAppJwt(credential, state.app)) return { status: 401, body: { message: 'A JSON web token could not be decoded', documentation_url: 'https://docs.github.com/rest' } };
      return candidate.handler(state, request, repository);
    }
    const caller = state.tokens.get(credential);
    if (!caller) return { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' } };
    // An installation token sees only its installation's repositories; GitHub answers 404 for the rest.
    if (!repository || (caller.installationId !== undefined && repository.installation?.id !== caller.installationId)) return { status: 404, body: NOT_FOUND };
    const held = caller.permissions[candidate.needs.permission];
    if (!held || (candidate.needs.access === 'write' && held !== 'write')) return { status: 403, body: FORBIDDEN };
    return candidate.handler(state, request, repository);
  }
  return { status: 404, body: NOT_FOUND };
}
