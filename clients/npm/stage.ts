// Staged publishes (npm's `stage` commands): versions waiting for a maintainer's 2FA approval. Rejecting
// the ones of a compromised package keeps them from ever going live.
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { RegistryError } from './errors';
import { parseAnswer, registryCall, type NpmClientOptions } from './options';

const stagedPublishSchema = z.looseObject({
  id: z.string(),
  packageName: z.string(),
  version: z.string(),
  tag: z.string().optional(),
  createdAt: z.string().optional(),
  actor: z.string().optional(),
  actorType: z.string().optional(),
  shasum: z.string().optional(),
});
export type StagedPublish = z.infer<typeof stagedPublishSchema>;
const pageSchema = z.looseObject({ items: z.array(stagedPublishSchema), total: z.number() });

const PER_PAGE = 100;
// A registry that keeps answering full pages must not keep us here forever.
const MAX_PAGES = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every staged publish of one package, page by page as `npm stage list <pkg>` reads them. */
export async function listStagedPublishes(name: string, opts: NpmClientOptions): Promise<StagedPublish[]> {
  const action = `list staged publishes of ${name}`;
  const items: StagedPublish[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await registryCall(opts, action, (options) => npmFetch.json('/-/stage', { ...options, query: { page, perPage: PER_PAGE, package: name } }));
    const answer = parseAnswer(pageSchema, body, action);
    items.push(...answer.items);
    if (items.length >= answer.total || answer.items.length < PER_PAGE) break;
  }
  // The filter is the registry's; a staged publish of another package is never ours to reject.
  return items.filter((item) => item.packageName === name);
}

/** Rejects one staged publish; one already gone (rejected, approved, expired) is `changed: false`. */
export async function rejectStagedPublish(id: string, opts: NpmClientOptions): Promise<{ changed: boolean; before?: StagedPublish }> {
  if (!UUID.test(id)) throw new RegistryError('REJECTED', `not a staged publish id: ${JSON.stringify(id)}`);
  const action = `reject staged publish ${id}`;
  let before: StagedPublish;
  try {
    before = parseAnswer(stagedPublishSchema, await registryCall(opts, action, (options) => npmFetch.json(`/-/stage/${id}`, options)), action);
  } catch (err) {
    if (err instanceof RegistryError && err.code === 'NOT_FOUND') return { changed: false };
    throw err;
  }
  await registryCall(opts, action, (options) => npmFetch(`/-/stage/${id}`, { ...options, method: 'DELETE', ignoreBody: true }));
  return { changed: true, before };
}
