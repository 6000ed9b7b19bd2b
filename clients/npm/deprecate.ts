// Deprecation messages of many versions of one package in one write, as `npm deprecate` sends them: the
// packument read with its _rev, the messages set, the whole document PUT back. '' takes a deprecation
// away (`npm undeprecate`).
import npmFetch from 'npm-registry-fetch';
import { RegistryError } from './errors';
import { escapedName, registryCall, type NpmClientOptions } from './options';
import { readPackument, type WritablePackument } from './packument';

export interface DeprecationResult {
  changed: boolean;
  /** version -> the message before ('' when it was not deprecated), for every version asked about. */
  before: Record<string, string>;
  /** The packument as this call left it (its messages set): a tag move right after may check against it instead of reading again. */
  packument: WritablePackument;
}

/**
 * Sets `messages` (version -> message). A version whose message already `keeps(current)` is left as it
 * is (ours already, or the same text); nothing is written when no version differs.
 */
export async function setDeprecations(
  name: string,
  messages: Record<string, string>,
  opts: NpmClientOptions,
  keeps: (current: string, wanted: string) => boolean = (current, wanted) => current === wanted,
): Promise<DeprecationResult> {
  const packument = await readPackument(name, opts);
  const versions = packument.versions as Record<string, Record<string, unknown>>;
  const missing = Object.keys(messages).filter((v) => !versions[v]);
  if (missing.length > 0) throw new RegistryError('NOT_FOUND', `${name}@${missing.join(', ')} not on ${opts.registry}`, 404);
  const before: Record<string, string> = {};
  let changed = false;
  for (const [version, wanted] of Object.entries(messages)) {
    const current = typeof versions[version]!.deprecated === 'string' ? (versions[version]!.deprecated as string) : '';
    before[version] = current;
    if (keeps(current, wanted)) continue;
    versions[version]!.deprecated = wanted;
    changed = true;
  }
  if (!changed) return { changed, before, packument };
  await registryCall(opts, `deprecate ${name}`, (options) =>
    npmFetch(`/${escapedName(name)}`, { ...options, method: 'PUT', body: packument, ignoreBody: true }),
  );
  return { changed, before, packument };
}
