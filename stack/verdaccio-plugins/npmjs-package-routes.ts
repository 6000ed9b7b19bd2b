// npmjs's per-package settings routes: trusted publishers (`npm trust`) and publishing 2FA (`npm access set mfa=`).
import { randomUUID } from 'node:crypto';
import {
  isObject,
  jsonBody,
  methodNotAllowed,
  nameAndRest,
  nonEmptyString,
  Refusal,
  requireOtp,
  requirePackage,
  requirePublish,
  userOf,
  type Reply,
  type RouteContext,
} from './npmjs-http';
import { readState, updateState, type AccessSettings, type TrustConfig } from './npmjs-state';

const TRUST_TYPES = ['github', 'gitlab', 'circleci'] as const;

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
