// The packument as npm reads it before a write (`?write=true`: uncached, with `_rev`), and its owners.
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { escapedName, parseAnswer, registryCall, type NpmClientOptions } from './options';

const packumentSchema = z.looseObject({
  _rev: z.string().optional(),
  'dist-tags': z.record(z.string(), z.string()).default({}),
  versions: z.record(z.string(), z.looseObject({ dist: z.looseObject({ tarball: z.string().optional() }).optional() })).default({}),
  maintainers: z.array(z.looseObject({ name: z.string(), email: z.string().optional() })).optional(),
});
export type WritablePackument = z.infer<typeof packumentSchema>;

export async function readPackument(name: string, opts: NpmClientOptions): Promise<WritablePackument> {
  const path = `/${escapedName(name)}`;
  const action = `read ${name}`;
  const body = await registryCall(opts, action, (options) => npmFetch.json(path, { ...options, query: { write: true } }));
  return parseAnswer(packumentSchema, body, action);
}

export interface Owner {
  name: string;
  email?: string;
}

/** The package's maintainers, as `npm owner ls` reads them (npm's unpublish policy asks for one owner). */
export async function listOwners(name: string, opts: NpmClientOptions): Promise<Owner[]> {
  const packument = await readPackument(name, opts);
  return (packument.maintainers ?? []).map(({ name: owner, email }) => ({ name: owner, ...(email ? { email } : {}) }));
}
