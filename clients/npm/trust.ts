// Trusted publishers (OIDC) of a package, as `npm trust list|revoke` call them. Every write needs a
// one-time password on npmjs, so revoke is a step a person unlocks (OTP_REQUIRED without one).
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { canonicalJson } from '../../core/canonical-json';
import { escapedName, malformed, parseAnswer, registryCall, type NpmClientOptions } from './options';

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

/** The claims that make two configurations the same publisher, whatever their ids. */
function sameClaims(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/**
 * Adds a trusted publisher (`npm trust github|gitlab|circleci` does the same POST): what a rollback puts
 * back. One with the same type and claims already there is success with `changed: false`.
 */
export async function createTrustedPublisher(
  name: string,
  publisher: { type: string; claims: Record<string, unknown>; permissions?: string[] },
  opts: NpmClientOptions,
): Promise<{ changed: boolean; after: TrustedPublisher }> {
  const existing = (await listTrustedPublishers(name, opts)).find((p) => p.type === publisher.type && sameClaims(p.claims, publisher.claims));
  if (existing) return { changed: false, after: existing };
  const path = `/-/package/${escapedName(name)}/trust`;
  const action = `add a trusted publisher to ${name}`;
  const body = { type: publisher.type, claims: publisher.claims, ...(publisher.permissions ? { permissions: publisher.permissions } : {}) };
  const created = await registryCall(opts, action, (options) => npmFetch.json(path, { ...options, method: 'POST', body: [body] }));
  const [after] = parseAnswer(z.array(trustedPublisherSchema), Array.isArray(created) ? created : [created], action);
  if (!after) throw malformed(action, 'the registry answered no publisher');
  return { changed: true, after };
}
