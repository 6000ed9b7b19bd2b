// A package's dist-tags, as `npm dist-tag ls|add|rm` call them, and a compare-and-set move.
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { escapedName, parseAnswer, registryCall, type NpmClientOptions } from './options';
import { readPackument, type WritablePackument } from './packument';

export async function readDistTags(name: string, opts: NpmClientOptions): Promise<Record<string, string>> {
  const action = `read dist-tags of ${name}`;
  const body = await registryCall(opts, action, (options) => npmFetch.json(`/-/package/${escapedName(name)}/dist-tags`, options));
  return parseAnswer(z.record(z.string(), z.string()), body, action);
}

export type TagMoveResult = { changed: boolean; before: string | null } | { conflict: true; before: string | null; deprecatedTarget?: string };

/**
 * Points `tag` at `to` (null removes it), only if it is still where the plan read it (`from`, null for
 * absent): someone's move since then is left alone and reported as a conflict. npm has no atomic
 * compare-and-set; the read and the write are one round trip apart.
 */
export async function moveDistTag(
  name: string,
  tag: string,
  from: string | null,
  to: string | null,
  opts: NpmClientOptions,
  guard: { refuseDeprecatedTarget?: boolean; justRead?: WritablePackument } = {},
): Promise<TagMoveResult> {
  // With the guard, the whole packument is read (one request still): it says whether `to` is deprecated.
  // `justRead`: the packument a write to this package read a moment ago (its deprecation), checked instead.
  const packument = guard.justRead ?? (guard.refuseDeprecatedTarget && to !== null ? await readPackument(name, opts) : undefined);
  const current = (packument ? packument['dist-tags'] : await readDistTags(name, opts))[tag] ?? null;
  const deprecated = to !== null ? packument?.versions[to]?.deprecated : undefined;
  if (typeof deprecated === 'string' && deprecated !== '') return { conflict: true, before: current, deprecatedTarget: deprecated };
  if (current === to) return { changed: false, before: current };
  if (current !== from) return { conflict: true, before: current };
  const path = `/-/package/${escapedName(name)}/dist-tags/${encodeURIComponent(tag)}`;
  await registryCall(opts, `${to === null ? 'remove' : 'move'} dist-tag ${tag} of ${name}`, (options) =>
    to === null
      ? npmFetch(path, { ...options, method: 'DELETE', ignoreBody: true })
      : npmFetch(path, { ...options, method: 'PUT', body: JSON.stringify(to), headers: { 'content-type': 'application/json' }, ignoreBody: true }),
  );
  return { changed: true, before: current };
}
