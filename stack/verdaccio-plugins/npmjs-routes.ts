// The npmjs-only routes the stand-in answers, each as npm CLI 11.19 sends and reads it (see
// verdaccio-npmjs.ts for the list). Handlers throw a Refusal for any answer other than success.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  jsonBody,
  mayPublish,
  nameAndRest,
  Refusal,
  requireOtp,
  requirePackage,
  requirePublish,
  userOf,
  type Auth,
  type Req,
  type Storage,
} from './npmjs-http';
import { readState, updateState, type AccessSettings, type StagedPublish, type TrustConfig } from './npmjs-state';

export interface RouteContext {
  req: Req;
  method: string;
  segments: string[];
  query: URLSearchParams;
  body: Promise<string>;
  auth: Auth;
  storage: Storage;
  folder: string;
  otps: readonly string[];
}

/** A route's answer: status and JSON body (none for 204). */
export interface Reply {
  status: number;
  body?: unknown;
}

const TRUST_TYPES = ['github', 'gitlab', 'circleci'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function packageIn(segments: string[]): { name: string; rest: string[] } {
  const parsed = nameAndRest(segments);
  if (!parsed) throw new Refusal(400, 'invalid', 'not a valid package name');
  return parsed;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function methodNotAllowed(): never {
  throw new Refusal(405, 'invalid', 'method not allowed');
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** The claims npm's `trust github|gitlab|circleci` commands send, checked as far as each type needs. */
function validTrustConfig(item: unknown): Omit<TrustConfig, 'id'> | string {
  if (!isObject(item)) return 'each trust configuration must be an object';
  const { type, claims, permissions } = item;
  if (!TRUST_TYPES.includes(type as (typeof TRUST_TYPES)[number])) return `type must be one of ${TRUST_TYPES.join(', ')}`;
  if (!isObject(claims)) return 'claims must be an object';
  const file = (key: string) => (isObject(claims[key]) ? (claims[key] as Record<string, unknown>).file : undefined);
  if (type === 'github' && !(nonEmptyString(claims.repository) && /^[^/]+\/[^/]+$/.test(claims.repository) && nonEmptyString(file('workflow_ref')))) {
    return 'github claims need repository (owner/repo) and workflow_ref.file';
  }
  if (type === 'gitlab' && !(nonEmptyString(claims.project_path) && nonEmptyString(file('ci_config_ref_uri')))) {
    return 'gitlab claims need project_path and ci_config_ref_uri.file';
  }
  if (type === 'circleci' && !nonEmptyString(claims['oidc.circleci.com/project-id'])) return 'circleci claims need oidc.circleci.com/project-id';
  if (permissions !== undefined && !(Array.isArray(permissions) && permissions.every(nonEmptyString))) return 'permissions must be an array of strings';
  return { type: type as TrustConfig['type'], claims, ...(permissions ? { permissions: permissions as string[] } : {}) };
}

/** `/-/package/<name>/trust[/<id>]` and `/-/package/<name>/access`. */
export async function packageRoute(ctx: RouteContext): Promise<Reply | null> {
  const parsed = nameAndRest(ctx.segments);
  if (!parsed || (parsed.rest[0] !== 'trust' && parsed.rest[0] !== 'access')) return null;
  const { name, rest } = parsed;
  const user = userOf(ctx.req);
  await requirePackage(ctx.storage, name, ctx.req);
  await requirePublish(ctx.auth, name, ctx.req, user);
  if (rest[0] === 'access' && rest.length === 1) return accessRoute(ctx, name);
  if (rest.length === 1) return trustCollection(ctx, name);
  if (rest.length === 2) return trustItem(ctx, name, rest[1]!);
  return null;
}

async function trustCollection(ctx: RouteContext, name: string): Promise<Reply> {
  if (ctx.method === 'GET') return { status: 200, body: readState(ctx.folder).trust[name] ?? [] };
  if (ctx.method !== 'POST') methodNotAllowed();
  const body = await jsonBody(ctx.body);
  if (!Array.isArray(body) || body.length === 0) throw new Refusal(400, 'invalid', 'body must be a non-empty array of trust configurations');
  const configs = body.map(validTrustConfig);
  const problem = configs.find((c): c is string => typeof c === 'string');
  if (problem) throw new Refusal(400, 'invalid', problem);
  requireOtp(ctx.req, ctx.otps);
  const created = updateState(ctx.folder, (state) => {
    const existing = state.trust[name] ?? [];
    const same = (c: Omit<TrustConfig, 'id'>) => existing.find((e) => e.type === c.type && JSON.stringify(e.claims) === JSON.stringify(c.claims));
    if ((configs as Omit<TrustConfig, 'id'>[]).some(same)) return null;
    const added = (configs as Omit<TrustConfig, 'id'>[]).map((c) => ({ id: randomUUID(), ...c }));
    state.trust[name] = [...existing, ...added];
    return added;
  });
  if (!created) throw new Refusal(409, 'conflict', 'a trust configuration with these claims already exists');
  return { status: 201, body: created };
}

async function trustItem(ctx: RouteContext, name: string, id: string): Promise<Reply> {
  if (ctx.method !== 'DELETE') methodNotAllowed();
  if (!(readState(ctx.folder).trust[name] ?? []).some((c) => c.id === id)) throw new Refusal(404, 'not-found', `no trust configuration ${id} on ${name}`);
  requireOtp(ctx.req, ctx.otps);
  updateState(ctx.folder, (state) => {
    state.trust[name] = (state.trust[name] ?? []).filter((c) => c.id !== id);
  });
  return { status: 204 };
}

const DEFAULT_ACCESS: AccessSettings = { publish_requires_tfa: false, automation_token_overrides_tfa: false };

async function accessRoute(ctx: RouteContext, name: string): Promise<Reply> {
  // npm 11.19 has no read of these settings (`npm access get status` reads visibility): this GET is the stand-in's own.
  if (ctx.method === 'GET') return { status: 200, body: readState(ctx.folder).access[name] ?? DEFAULT_ACCESS };
  if (ctx.method !== 'POST') methodNotAllowed();
  const body = await jsonBody(ctx.body);
  if (!isObject(body) || typeof body.publish_requires_tfa !== 'boolean') {
    throw new Refusal(400, 'invalid', 'the stand-in stores 2FA settings only: body needs publish_requires_tfa (boolean)');
  }
  const overrides = body.automation_token_overrides_tfa;
  if (overrides !== undefined && typeof overrides !== 'boolean') throw new Refusal(400, 'invalid', 'automation_token_overrides_tfa must be a boolean');
  const unknown = Object.keys(body).filter((key) => key !== 'publish_requires_tfa' && key !== 'automation_token_overrides_tfa');
  if (unknown.length > 0) throw new Refusal(400, 'invalid', `unsupported settings: ${unknown.join(', ')}`);
  requireOtp(ctx.req, ctx.otps);
  updateState(ctx.folder, (state) => {
    state.access[name] = { publish_requires_tfa: body.publish_requires_tfa as boolean, automation_token_overrides_tfa: overrides === true };
  });
  return { status: 200, body: { ok: true } };
}

function pageNumber(raw: string | null, fallback: number, max: number): number {
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new Refusal(400, 'invalid', `page and perPage must be integers from 0 to ${max}`);
  return value;
}

async function visibleStaged(ctx: RouteContext, items: StagedPublish[]): Promise<StagedPublish[]> {
  const allowed = await Promise.all(items.map((item) => mayPublish(ctx.auth, item.packageName, ctx.req)));
  return items.filter((_, i) => allowed[i]);
}

/** The publish document `npm stage publish` POSTs: one version, its tag, its shasum. */
function stagedFrom(body: unknown, name: string, actor: string): StagedPublish | string {
  if (!isObject(body) || !isObject(body.versions)) return 'body must be a publish document with versions';
  const versions = Object.keys(body.versions);
  if (versions.length !== 1) return 'a staged publish carries exactly one version';
  const version = versions[0]!;
  const manifest = body.versions[version];
  const tags = isObject(body['dist-tags']) ? Object.entries(body['dist-tags']).filter(([, v]) => v === version) : [];
  const shasum = isObject(manifest) && isObject(manifest.dist) ? manifest.dist.shasum : undefined;
  if (!/^\d+\.\d+\.\d+/.test(version)) return `not a version: ${version}`;
  if ((body.name ?? name) !== name) return 'the document names another package';
  return {
    id: randomUUID(),
    packageName: name,
    version,
    tag: tags[0]?.[0] ?? 'latest',
    createdAt: new Date().toISOString(),
    actor,
    actorType: 'user',
    shasum: typeof shasum === 'string' ? shasum : createHash('sha1').update(version).digest('hex'),
  };
}

/** `/-/stage`, `/-/stage/<id>[/approve]` and `/-/stage/package/<name>` (what `npm stage publish` POSTs). */
export async function stageRoute(ctx: RouteContext): Promise<Reply> {
  const user = userOf(ctx.req);
  const [first, ...rest] = ctx.segments;
  if (first === undefined) {
    if (ctx.method !== 'GET') methodNotAllowed();
    const page = pageNumber(ctx.query.get('page'), 0, 1_000_000);
    const perPage = pageNumber(ctx.query.get('perPage'), 100, 100) || 100;
    const filter = ctx.query.get('package');
    const all = await visibleStaged(ctx, readState(ctx.folder).stage.filter((item) => filter === null || item.packageName === filter));
    return { status: 200, body: { items: all.slice(page * perPage, (page + 1) * perPage), total: all.length } };
  }
  if (first === 'package') {
    if (ctx.method !== 'POST') methodNotAllowed();
    const { name, rest: extra } = packageIn(rest);
    if (extra.length > 0) throw new Refusal(404, 'not-found', 'no such route');
    await requirePublish(ctx.auth, name, ctx.req, user);
    const staged = stagedFrom(await jsonBody(ctx.body), name, user);
    if (typeof staged === 'string') throw new Refusal(400, 'invalid', staged);
    updateState(ctx.folder, (state) => void state.stage.push(staged));
    return { status: 201, body: { stageId: staged.id } };
  }
  const item = UUID.test(first) ? (await visibleStaged(ctx, readState(ctx.folder).stage)).find((s) => s.id === first) : undefined;
  if (!item) throw new Refusal(404, 'not-found', `no staged publish ${first}`);
  if (rest.length === 0 && ctx.method === 'GET') return { status: 200, body: item };
  if (rest.length === 0 && ctx.method === 'DELETE') {
    requireOtp(ctx.req, ctx.otps);
    updateState(ctx.folder, (state) => {
      state.stage = state.stage.filter((s) => s.id !== item.id);
    });
    return { status: 204 };
  }
  if (rest.length === 1 && rest[0] === 'approve' && ctx.method === 'POST') {
    throw new Refusal(501, 'unsupported', 'the stand-in does not publish staged versions');
  }
  methodNotAllowed();
}

function maskToken(token: string): string {
  return token.slice(0, 8);
}

/** `/-/npm/v1/tokens` and `/-/npm/v1/tokens/token/<key>`: the caller's own tokens. */
export function tokensRoute(ctx: RouteContext): Reply {
  const user = userOf(ctx.req);
  if (ctx.segments.length === 0) {
    if (ctx.method !== 'GET') methodNotAllowed();
    const objects = readState(ctx.folder)
      .tokens.filter((t) => t.user === user)
      .map(({ token, user: _owner, ...rest }) => ({ ...rest, token: maskToken(token) }));
    return { status: 200, body: { objects, total: objects.length, urls: {} } };
  }
  const [kind, key, ...extra] = ctx.segments;
  if (kind !== 'token' || !key || extra.length > 0) throw new Refusal(404, 'not-found', 'no such route');
  if (ctx.method !== 'DELETE') methodNotAllowed();
  const removed = updateState(ctx.folder, (state) => {
    const before = state.tokens.length;
    state.tokens = state.tokens.filter((t) => !(t.user === user && t.key === key));
    return state.tokens.length < before;
  });
  if (!removed) throw new Refusal(404, 'not-found', 'no such token');
  return { status: 204 };
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** api.npmjs.org's `GET /downloads/point/last-week/<name>`: public, no token needed. */
export async function downloadsRoute(ctx: RouteContext): Promise<Reply> {
  if (ctx.method !== 'GET') methodNotAllowed();
  const { name, rest } = packageIn(ctx.segments);
  if (rest.length > 0) throw new Refusal(404, 'not-found', 'no such route');
  await requirePackage(ctx.storage, name, ctx.req).catch(() => {
    throw new Refusal(404, 'not-found', `package ${name} not found`);
  });
  const end = new Date(Date.now() - 86_400_000);
  const start = new Date(end.getTime() - 6 * 86_400_000);
  return { status: 200, body: { downloads: readState(ctx.folder).downloads[name] ?? 0, start: day(start), end: day(end), package: name } };
}

function count(body: unknown, field: string): number {
  const value = isObject(body) ? body[field] : undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new Refusal(400, 'invalid', `${field} must be a non-negative integer`);
  return value;
}

/**
 * `/-/quarantine-standin/...`: facts npmjs has but no API sets (downloads, dependents, owners), seeded tokens,
 * and the fault switch. Seeding needs publish rights on the package; reading dependents is public.
 */
export async function seedingRoute(ctx: RouteContext): Promise<Reply> {
  const [kind, ...rest] = ctx.segments;
  if (kind === 'dependents' && ctx.method === 'GET') {
    const { name } = packageIn(rest);
    await requirePackage(ctx.storage, name, ctx.req);
    return { status: 200, body: { package: name, dependents: readState(ctx.folder).dependents[name] ?? 0 } };
  }
  const user = userOf(ctx.req);
  if ((kind === 'dependents' || kind === 'downloads') && ctx.method === 'PUT') {
    const { name } = packageIn(rest);
    await requirePackage(ctx.storage, name, ctx.req);
    await requirePublish(ctx.auth, name, ctx.req, user);
    const value = count(await jsonBody(ctx.body), kind);
    updateState(ctx.folder, (state) => {
      state[kind][name] = value;
    });
    return { status: 200, body: { package: name, [kind]: value } };
  }
  if (kind === 'owners' && ctx.method === 'PUT') {
    const { name } = packageIn(rest);
    await requirePackage(ctx.storage, name, ctx.req);
    await requirePublish(ctx.auth, name, ctx.req, user);
    const body = await jsonBody(ctx.body);
    const owners = isObject(body) ? body.owners : undefined;
    if (!Array.isArray(owners) || owners.length === 0 || !owners.every((o) => isObject(o) && nonEmptyString(o.name) && (o.email === undefined || typeof o.email === 'string'))) {
      throw new Refusal(400, 'invalid', 'owners must be a non-empty array of {name, email?}');
    }
    const clean = owners.map((o) => ({ name: o.name as string, ...(o.email ? { email: o.email as string } : {}) }));
    updateState(ctx.folder, (state) => {
      state.owners[name] = clean;
    });
    return { status: 200, body: { package: name, owners: clean } };
  }
  if (kind === 'tokens' && rest.length === 0 && ctx.method === 'POST') {
    const body = await jsonBody(ctx.body);
    if (!isObject(body)) throw new Refusal(400, 'invalid', 'body must be an object');
    const { name, readonly, cidr_whitelist: cidr } = body;
    if (name !== undefined && typeof name !== 'string') throw new Refusal(400, 'invalid', 'name must be a string');
    if (readonly !== undefined && typeof readonly !== 'boolean') throw new Refusal(400, 'invalid', 'readonly must be a boolean');
    if (cidr !== undefined && cidr !== null && !(Array.isArray(cidr) && cidr.every(nonEmptyString))) throw new Refusal(400, 'invalid', 'cidr_whitelist must be an array of strings');
    const token = `npm_${randomBytes(18).toString('base64url')}`;
    const record = {
      key: createHash('sha512').update(token).digest('hex'),
      token,
      user,
      ...(name ? { name } : {}),
      created: new Date().toISOString(),
      readonly: readonly === true,
      cidr_whitelist: (cidr as string[] | null | undefined) ?? null,
    };
    updateState(ctx.folder, (state) => void state.tokens.push(record));
    return { status: 201, body: { key: record.key, token } };
  }
  if (kind === 'faults' && rest.length === 0 && ctx.method === 'PUT') {
    const body = await jsonBody(ctx.body);
    const status = isObject(body) ? body.status : undefined;
    if (typeof status !== 'number' || ![429, 500, 502, 503].includes(status)) throw new Refusal(400, 'invalid', 'status must be 429, 500, 502 or 503');
    const remaining = count(body, 'count');
    const retryAfter = (body as Record<string, unknown>).retryAfter;
    if (retryAfter !== undefined && typeof retryAfter !== 'string') throw new Refusal(400, 'invalid', 'retryAfter must be a string (seconds or an HTTP date)');
    const methods = (body as Record<string, unknown>).methods;
    if (methods !== undefined && !(Array.isArray(methods) && methods.length > 0 && methods.every(nonEmptyString))) throw new Refusal(400, 'invalid', 'methods must be a non-empty array of HTTP methods');
    updateState(ctx.folder, (state) => {
      state.fault =
        remaining > 0
          ? { status, remaining, ...(retryAfter ? { retryAfter } : {}), ...(methods ? { methods: (methods as string[]).map((m) => m.toUpperCase()) } : {}) }
          : undefined;
    });
    return { status: 200, body: { status, count: remaining } };
  }
  throw new Refusal(404, 'not-found', 'no such stand-in route');
}
