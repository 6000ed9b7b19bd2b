// Unpublishes one version on the wire `npm unpublish <name>@<version>` uses (libnpmpublish): the
// packument without the version and its tags goes back with its _rev, then the tarball is deleted.
import npmFetch from 'npm-registry-fetch';
import semver from 'semver';
import { normalizeRegistryUrl } from '../../core/registry-url';
import { RegistryError } from './errors';
import { escapedName, registryCall, type NpmClientOptions } from './options';
import { readPackument } from './packument';

export interface UnpublishResult {
  changed: boolean;
  /** Tags that pointed at the version and are gone with it (`latest` moves rather than goes). */
  tagsRemoved: string[];
  /** Where `latest` went when it was on the version: npm's choice, the highest remaining version. */
  latestMovedTo?: string;
}

/** The tarball's path under the registry, as npm computes it: a tarball url on another host still names a path here. */
function tarballPath(tarball: string, registry: string): string {
  const registryPath = new URL(normalizeRegistryUrl(registry)).pathname;
  const path = new URL(tarball).pathname;
  return path.startsWith(registryPath) ? `/${path.slice(registryPath.length)}` : path;
}

/**
 * Idempotent: a version the packument no longer lists is success with `changed: false`. The only
 * version is refused: npm would delete the whole package (name blocked for 24 hours), a different act.
 */
export async function unpublishVersion(name: string, version: string, opts: NpmClientOptions): Promise<UnpublishResult> {
  const pkgPath = `/${escapedName(name)}`;
  const action = `unpublish ${name}@${version}`;
  const packument = await readPackument(name, opts);
  const manifest = packument.versions[version];
  if (!manifest) return { changed: false, tagsRemoved: [] };
  const remaining = Object.keys(packument.versions).filter((v) => v !== version);
  if (remaining.length === 0) {
    throw new RegistryError('REJECTED', `${action}: it is the only version, and unpublishing it deletes the whole package; not done`);
  }
  if (!packument._rev) throw new RegistryError('UNAVAILABLE', `${action}: the registry sent no _rev`);
  const tarball = manifest.dist?.tarball;

  const tags = packument['dist-tags'];
  const latestWasHere = tags.latest === version;
  const tagsRemoved = Object.keys(tags).filter((tag) => tags[tag] === version && tag !== 'latest');
  for (const tag of Object.keys(tags)) if (tags[tag] === version) delete tags[tag];
  const latestMovedTo = latestWasHere ? remaining.sort(semver.compareLoose).pop() : undefined;
  if (latestMovedTo) tags.latest = latestMovedTo;
  delete packument.versions[version];
  delete packument._revisions;
  delete packument._attachments;

  await registryCall(opts, action, (options) =>
    npmFetch(`${pkgPath}/-rev/${encodeURIComponent(packument._rev!)}`, { ...options, method: 'PUT', body: packument, ignoreBody: true }),
  );
  if (tarball) {
    const { _rev } = await readPackument(name, opts);
    try {
      await registryCall(opts, `${action} (tarball)`, (options) =>
        npmFetch(`${tarballPath(tarball, opts.registry)}/-rev/${encodeURIComponent(_rev ?? '')}`, { ...options, method: 'DELETE', ignoreBody: true }),
      );
    } catch (err) {
      // npm counts a tarball already gone as done.
      if (!(err instanceof RegistryError && err.code === 'NOT_FOUND')) throw err;
    }
  }
  return { changed: true, tagsRemoved, ...(latestMovedTo ? { latestMovedTo } : {}) };
}
