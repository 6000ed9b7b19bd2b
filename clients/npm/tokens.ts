// The account's access tokens, as `npm token list|revoke` reach them. Revoking is irreversible, and
// some 2025-26 payloads wipe the home directory when their stolen token dies: callers gate it.
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { parseAnswer, registryCall, type NpmClientOptions } from './options';

const tokenSchema = z.looseObject({
  key: z.string(),
  /** Masked by the registry: a prefix of the secret, never the whole of it. */
  token: z.string(),
  created: z.string().optional(),
  readonly: z.boolean().optional(),
  cidr_whitelist: z.array(z.string()).nullable().optional(),
  name: z.string().optional(),
});
export type TokenSummary = z.infer<typeof tokenSchema>;
const pageSchema = z.looseObject({ objects: z.array(tokenSchema), urls: z.looseObject({ next: z.string().optional() }).default({}) });

const MAX_PAGES = 100;

/** Every token of the account the client's token belongs to, following `urls.next`. */
export async function listTokens(opts: NpmClientOptions): Promise<TokenSummary[]> {
  const action = 'list tokens';
  const tokens: TokenSummary[] = [];
  let next: string | undefined = '/-/npm/v1/tokens';
  for (let page = 0; next && page < MAX_PAGES; page++) {
    const href: string = next;
    const answer = parseAnswer(pageSchema, await registryCall(opts, action, (options) => npmFetch.json(href, options)), action);
    tokens.push(...answer.objects);
    next = answer.urls.next;
  }
  return tokens;
}

/** Revokes the token with this key; a key no longer listed is `changed: false`. */
export async function revokeToken(key: string, opts: NpmClientOptions): Promise<{ changed: boolean; before?: TokenSummary }> {
  const before = (await listTokens(opts)).find((token) => token.key === key);
  if (!before) return { changed: false };
  await registryCall(opts, `revoke token ${key.slice(0, 6)}`, (options) =>
    npmFetch(`/-/npm/v1/tokens/token/${encodeURIComponent(key)}`, { ...options, method: 'DELETE', ignoreBody: true }),
  );
  return { changed: true, before };
}
