// Public facts npm's unpublish policy turns on: last week's downloads (api.npmjs.org) and, from the
// test stack's stand-in only, the number of dependents (npmjs publishes no API for it).
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { escapedName, parseAnswer, registryCall } from './options';

export const NPM_DOWNLOADS_API = 'https://api.npmjs.org/';

export interface PublicApiOptions {
  /** Where the API lives; no token is ever sent there. */
  baseUrl?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

const downloadsSchema = z.looseObject({ downloads: z.number(), start: z.string(), end: z.string(), package: z.string() });
export type LastWeekDownloads = z.infer<typeof downloadsSchema>;

export async function lastWeekDownloads(name: string, opts: PublicApiOptions = {}): Promise<LastWeekDownloads> {
  escapedName(name);
  const action = `read last week's downloads of ${name}`;
  // api.npmjs.org takes a scoped name with its slash as it is.
  const body = await registryCall({ ...opts, registry: opts.baseUrl ?? NPM_DOWNLOADS_API }, action, (options) =>
    npmFetch.json(`/downloads/point/last-week/${name}`, options),
  );
  return parseAnswer(downloadsSchema, body, action);
}

const dependentsSchema = z.looseObject({ package: z.string(), dependents: z.number() });

/** Stand-in only (`/-/quarantine-standin/dependents/<name>` on the test registry): npmjs has no such API. */
export async function standinDependentsCount(name: string, opts: PublicApiOptions & { baseUrl: string }): Promise<number> {
  const path = `/-/quarantine-standin/dependents/${escapedName(name)}`;
  const action = `read dependents of ${name}`;
  const body = await registryCall({ ...opts, registry: opts.baseUrl }, action, (options) => npmFetch.json(path, options));
  return parseAnswer(dependentsSchema, body, action).dependents;
}
