// npmjs's token list and revoke (`npm token list|revoke`), over the caller's own seeded tokens.
import { methodNotAllowed, Refusal, userOf, type Reply, type RouteContext } from './npmjs-http';
import { readState, updateState } from './npmjs-state';

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
