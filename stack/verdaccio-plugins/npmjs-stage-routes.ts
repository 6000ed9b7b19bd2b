// npmjs's staged publishes (`npm stage publish|list|view|reject|approve`).
import { createHash, randomUUID } from 'node:crypto';
import {
  isObject,
  jsonBody,
  mayPublish,
  methodNotAllowed,
  packageIn,
  packumentOf,
  Refusal,
  requireOtp,
  requirePublish,
  userOf,
  type Reply,
  type RouteContext,
} from './npmjs-http';
import { readState, updateState, type StagedPublish } from './npmjs-state';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    // A name@version is never reused, staged or not.
    const published = (await packumentOf(ctx.storage, name, ctx.req))?.versions;
    if (typeof published === 'object' && published !== null && staged.version in published) {
      throw new Refusal(409, 'conflict', `${name}@${staged.version} is already published`);
    }
    if (readState(ctx.folder).stage.some((s) => s.packageName === name && s.version === staged.version)) {
      throw new Refusal(409, 'conflict', `${name}@${staged.version} is already staged`);
    }
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
