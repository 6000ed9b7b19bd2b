// Trusted publishers (OIDC) of a package, as `npm trust list|revoke` call them. Every write needs a
// one-time password on npmjs, so revoke is a step a person unlocks (OTP_REQUIRED without one).
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { escapedName, parseAnswer, registryCall, type NpmClientOptions } from './options';

const trustedPublisherSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  claims: z.record(z.string(), z.unknown()),
  permissions: z.array(z.string()).optional(),
});
export type TrustedPublisher = z.infer<typeof trustedPublisherSchema>;

export async function listTrustedPublishers(name: string, opts: NpmClientOptions): Promise<TrustedPublisher[]> {
  const path = `/-/package/${escapedName(name)}/trust`;
  const action = `list trusted publishers of ${name}`;
  const body = await registryCall(opts, action, (options) => npmFetch.json(path, options));
  // npm's own list prints a single object the same way as an array of one.
  return parseAnswer(z.array(trustedPublisherSchema), Array.isArray(body) ? body : [body], action);
}

/** Revokes one trusted publisher; one that is already gone is success with `changed: false`. */
export async function revokeTrustedPublisher(name: string, id: string, opts: NpmClientOptions): Promise<{ changed: boolean; before?: TrustedPublisher }> {
  const before = (await listTrustedPublishers(name, opts)).find((publisher) => publisher.id === id);
  if (!before) return { changed: false };
  const path = `/-/package/${escapedName(name)}/trust/${encodeURIComponent(id)}`;
  await registryCall(opts, `revoke trusted publisher ${id} of ${name}`, (options) => npmFetch(path, { ...options, method: 'DELETE', ignoreBody: true }));
  return { changed: true, before };
}
