// Verdaccio middleware plugin (test and dev stack only): npm's attestations API, which Verdaccio lacks.
//
// - `GET /-/npm/v1/attestations/<name>@<version>` answers `{"attestations":[...]}` as registry.npmjs.org
//   does, 404 when the release has none. The name may be scoped, escaped (`@scope%2fname`) or not.
// - `PUT` on the same path with `{"attestations":[...]}` stores them; it needs a user with publish
//   rights on the package (the stack seeds through it). Records are files under the plugin's `storage`
//   folder, so a copy of the registry folder carries them.
// - Packuments (full and abbreviated) and single-version documents get `dist.attestations =
//   {url, provenance: {predicateType}}` for each version that has a record, the url on the origin the
//   client asked, like the tarball urls Verdaccio rewrites.
//
// Verdaccio loads `<plugins>/verdaccio-<key>` for each key under `middlewares:` and mounts it after its
// JWT middleware (req.remote_user is set) and before its own npm routes, so these routes win.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export const ATTESTATIONS_PATH = '/-/npm/v1/attestations/';
const SLSA_PREFIX = 'https://slsa.dev/provenance/';
const MAX_BODY = 8 * 1024 * 1024;

/** What the plugin stores for one release. */
export interface AttestationRecord {
  attestations: { predicateType: string; bundle: unknown }[];
  /**
   * Test hook: the url the packument names instead of this route's own, standing in for a registry
   * whose packument points elsewhere (tests check that a client does not follow it with its token).
   */
  packumentUrl?: string;
}

/** The record file of a release under the plugin's storage folder. */
export function attestationFile(storage: string, name: string, version: string): string {
  return join(storage, `${encodeURIComponent(name)}@${encodeURIComponent(version)}.json`);
}

export function writeAttestationRecord(storage: string, name: string, version: string, record: AttestationRecord): void {
  mkdirSync(storage, { recursive: true });
  const file = attestationFile(storage, name, version);
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

function readRecord(storage: string, name: string, version: string): AttestationRecord | undefined {
  const file = attestationFile(storage, name, version);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as AttestationRecord;
}

/** `@scope/name@1.2.3` (or `@scope%2fname@1.2.3`) → name and version, or null. */
export function parseReleaseSpec(raw: string): { name: string; version: string } | null {
  let spec: string;
  try {
    spec = decodeURIComponent(raw);
  } catch {
    return null;
  }
  const at = spec.lastIndexOf('@');
  if (at <= 0 || at === spec.length - 1) return null;
  const name = spec.slice(0, at);
  const version = spec.slice(at + 1);
  if (name.includes('..') || name.lastIndexOf('@') > 0 || version.includes('/')) return null;
  return { name, version };
}

/** The url npmjs writes into `dist.attestations.url`: the name escaped as `@scope%2fname`. */
export function attestationsUrl(origin: string, name: string, version: string): string {
  const escaped = name.startsWith('@') ? name.replace('/', '%2f') : encodeURIComponent(name);
  return `${origin}${ATTESTATIONS_PATH}${escaped}@${version}`;
}

interface RemoteUser {
  name?: string | null;
}
type Callback = (err: unknown, ok?: boolean) => void;
interface Auth {
  allow_access(pkg: { packageName: string; packageVersion?: string }, user: RemoteUser, cb: Callback): void;
  allow_publish(pkg: { packageName: string; packageVersion?: string }, user: RemoteUser, cb: Callback): void;
}
interface Storage {
  getPackage(options: { name: string; uplinksLook: boolean; req: unknown; callback: (err: unknown, metadata?: { versions?: Record<string, unknown> }) => void }): void;
}
type Req = IncomingMessage & { remote_user?: RemoteUser; protocol?: string };
type Res = ServerResponse & { send(body: unknown): Res };
type Next = (err?: unknown) => void;
interface App {
  use(handler: (req: Req, res: Res, next: Next) => void): void;
}

function answer(res: Res, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

function readBody(req: Req): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function requestOrigin(req: Req): string {
  const host = req.headers.host ?? 'localhost';
  return `${req.protocol ?? 'http'}://${host}`;
}

function validRecord(body: unknown): AttestationRecord | string {
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object';
  const { attestations, packumentUrl } = body as Record<string, unknown>;
  if (!Array.isArray(attestations) || attestations.length === 0) return 'attestations must be a non-empty array';
  for (const a of attestations) {
    if (typeof a !== 'object' || a === null || typeof (a as Record<string, unknown>).predicateType !== 'string' || !('bundle' in a)) {
      return 'each attestation needs a predicateType and a bundle';
    }
  }
  if (packumentUrl !== undefined && typeof packumentUrl !== 'string') return 'packumentUrl must be a string';
  return { attestations: attestations as AttestationRecord['attestations'], ...(packumentUrl ? { packumentUrl } : {}) };
}

export default class AttestationsPlugin {
  private readonly storage: string;

  constructor(config: { storage?: string; configPath?: string; config_path?: string; self_path?: string }) {
    const configFile = config.configPath ?? config.config_path ?? config.self_path ?? join(process.cwd(), 'config.yaml');
    const storage = config.storage ?? './attestations';
    this.storage = isAbsolute(storage) ? storage : resolve(dirname(configFile), storage);
  }

  register_middlewares(app: App, auth: Auth, storage: Storage): void {
    const allowed = (check: 'allow_access' | 'allow_publish', name: string, version: string, user: RemoteUser) =>
      new Promise<boolean>((resolvePromise) => auth[check]({ packageName: name, packageVersion: version }, user, (err, ok) => resolvePromise(!err && ok === true)));
    const versionsOf = (name: string, req: Req) =>
      new Promise<Record<string, unknown> | undefined>((resolvePromise) =>
        storage.getPackage({ name, uplinksLook: false, req, callback: (err, metadata) => resolvePromise(err ? undefined : metadata?.versions) }),
      );

    app.use((req, res, next) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path.startsWith(ATTESTATIONS_PATH)) {
        this.route(req, res, path.slice(ATTESTATIONS_PATH.length), allowed, versionsOf).catch(next);
        return;
      }
      if ((req.method === 'GET' || req.method === 'HEAD') && !path.startsWith('/-/')) this.decoratePackuments(req, res);
      next();
    });
  }

  private async route(
    req: Req,
    res: Res,
    rawSpec: string,
    allowed: (check: 'allow_access' | 'allow_publish', name: string, version: string, user: RemoteUser) => Promise<boolean>,
    versionsOf: (name: string, req: Req) => Promise<Record<string, unknown> | undefined>,
  ): Promise<void> {
    const release = parseReleaseSpec(rawSpec);
    if (!release) return answer(res, 400, { error: 'expected /-/npm/v1/attestations/<name>@<version>' });
    const user: RemoteUser = req.remote_user ?? {};

    if (req.method === 'GET' || req.method === 'HEAD') {
      if (!(await allowed('allow_access', release.name, release.version, user))) {
        return answer(res, user.name ? 403 : 401, { error: 'not allowed to access package' });
      }
      const record = readRecord(this.storage, release.name, release.version);
      if (!record) return answer(res, 404, { error: 'Not Found' });
      return answer(res, 200, { attestations: record.attestations });
    }

    if (req.method === 'PUT') {
      // Read at once: Verdaccio's request logger already listens to 'data', so the body flows now.
      const text = readBody(req);
      text.catch(() => undefined);
      if (!user.name) return answer(res, 401, { error: 'authentication required' });
      if (!(await allowed('allow_publish', release.name, release.version, user))) {
        return answer(res, 403, { error: `user ${user.name} may not publish ${release.name}` });
      }
      const versions = await versionsOf(release.name, req);
      if (!versions || !(release.version in versions)) return answer(res, 404, { error: `no such release: ${release.name}@${release.version}` });
      let body: unknown;
      try {
        body = JSON.parse(await text);
      } catch {
        return answer(res, 400, { error: 'body is not JSON' });
      }
      const record = validRecord(body);
      if (typeof record === 'string') return answer(res, 400, { error: record });
      writeAttestationRecord(this.storage, release.name, release.version, record);
      return answer(res, 201, { ok: true });
    }

    res.setHeader('allow', 'GET, HEAD, PUT');
    return answer(res, 405, { error: 'method not allowed' });
  }

  /** Adds dist.attestations to the versions that have a record, in whatever document Verdaccio sends. */
  private decoratePackuments(req: Req, res: Res): void {
    const send = res.send.bind(res);
    const origin = requestOrigin(req);
    res.send = (body: unknown): Res => {
      if (typeof body !== 'string' || res.statusCode !== 200) return send(body);
      let doc: unknown;
      try {
        doc = JSON.parse(body);
      } catch {
        return send(body);
      }
      if (!this.decorate(doc, origin)) return send(body);
      // Verdaccio formats and tags its JSON this way (its `final` middleware): keep both true to the body.
      const text = `${JSON.stringify(doc, undefined, '  ')}\n`;
      res.setHeader('etag', `"${createHash('md5').update(text).digest('hex')}"`);
      return send(text);
    };
  }

  private decorate(doc: unknown, origin: string): boolean {
    if (typeof doc !== 'object' || doc === null) return false;
    const d = doc as { name?: unknown; version?: unknown; versions?: unknown; dist?: unknown };
    const manifests: Record<string, unknown>[] =
      typeof d.versions === 'object' && d.versions !== null
        ? Object.values(d.versions as Record<string, Record<string, unknown>>)
        : typeof d.version === 'string' && typeof d.dist === 'object'
          ? [d as Record<string, unknown>]
          : [];
    let changed = false;
    for (const manifest of manifests) {
      const name = typeof manifest.name === 'string' ? manifest.name : typeof d.name === 'string' ? d.name : undefined;
      const version = manifest.version;
      const dist = manifest.dist;
      if (!name || typeof version !== 'string' || typeof dist !== 'object' || dist === null) continue;
      const record = readRecord(this.storage, name, version);
      if (!record) continue;
      const provenance = record.attestations.find((a) => a.predicateType.startsWith(SLSA_PREFIX));
      (dist as Record<string, unknown>).attestations = {
        url: record.packumentUrl ?? attestationsUrl(origin, name, version),
        ...(provenance ? { provenance: { predicateType: provenance.predicateType } } : {}),
      };
      changed = true;
    }
    return changed;
  }
}
