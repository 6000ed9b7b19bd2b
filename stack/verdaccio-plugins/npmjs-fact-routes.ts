// Facts npm's unpublish policy turns on (api.npmjs.org downloads; dependents and owners, which npmjs
// serves no API for) and the stand-in's seeding and fault routes.
import { createHash, randomBytes } from 'node:crypto';
import {
  isObject,
  jsonBody,
  methodNotAllowed,
  nonEmptyString,
  packageIn,
  Refusal,
  requirePackage,
  requirePublish,
  userOf,
  type Reply,
  type RouteContext,
} from './npmjs-http';
import { readState, updateState } from './npmjs-state';

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
