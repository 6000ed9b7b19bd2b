// Verdaccio middleware plugin (test and dev stack only): the npmjs.org routes Verdaccio 6 lacks, as npm
// CLI 11.19 calls them, so the project's npm clients and the real npm CLI can be run against them.
//
// - Trusted publishers: GET|POST /-/package/<name>/trust, DELETE /-/package/<name>/trust/<id>.
// - Staged publishes: GET /-/stage?page&perPage&package, GET|DELETE /-/stage/<id>,
//   POST /-/stage/<id>/approve (501: not needed), POST /-/stage/package/<name> (`npm stage publish`).
// - Tokens of the caller: GET /-/npm/v1/tokens, DELETE /-/npm/v1/tokens/token/<key>.
// - 2FA settings: POST /-/package/<name>/access (`npm access set mfa=...`); GET on it is the stand-in's own read.
// - api.npmjs.org's GET /downloads/point/last-week/<name> (public).
// - Stand-in facts and seeding under /-/quarantine-standin/ (npmjs has no such routes): GET|PUT
//   dependents/<name>, PUT downloads/<name>, PUT owners/<name> (served as the packument's `maintainers`),
//   POST tokens, PUT faults (answer the next N requests 429/5xx).
//
// Every route needs a logged-in user (401), writes need publish rights on the package (403), unknown
// packages and ids are 404, bad bodies 400 with nothing changed. Writes on trust, stage and access need
// a one-time password: a missing or wrong `npm-otp` header gets 401 `WWW-Authenticate: OTP` (EOTP in
// npm-registry-fetch). The valid codes are the plugin's `otp` setting (a code or a list).
// State and a JSON-lines log of every write request (the stand-in's and Verdaccio's own) live in the
// plugin's `storage` folder (npmjs-state.ts), so a copied registry folder carries both.
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { answer, nameAndRest, readBody, Refusal, refuse, type App, type Auth, type Next, type Reply, type Req, type Res, type RouteContext, type Storage } from './npmjs-http';
import { downloadsRoute, seedingRoute } from './npmjs-fact-routes';
import { packageRoute } from './npmjs-package-routes';
import { stageRoute } from './npmjs-stage-routes';
import { tokensRoute } from './npmjs-token-routes';
import { appendWriteLog, readState, updateState, type Fault } from './npmjs-state';

export const STANDIN_PREFIX = '/-/quarantine-standin/';

type Route = (ctx: RouteContext) => Promise<Reply | null> | Reply | null;
const ROUTES: [prefix: string, route: Route][] = [
  ['/-/package/', packageRoute],
  ['/-/stage', stageRoute],
  ['/-/npm/v1/tokens', tokensRoute],
  ['/downloads/point/last-week/', downloadsRoute],
  [STANDIN_PREFIX, seedingRoute],
];

function routeFor(path: string): { route: Route; segments: string[] } | null {
  for (const [prefix, route] of ROUTES) {
    const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
    if (path !== base && !path.startsWith(`${base}/`)) continue;
    const segments = path.slice(base.length).split('/').filter(Boolean);
    // Other /-/package/ routes (dist-tags...) are Verdaccio's: their bodies must stay unread for it.
    if (route === packageRoute && !['trust', 'access'].includes(nameAndRest(segments)?.rest[0] ?? '')) return null;
    return { route, segments };
  }
  return null;
}

export default class NpmjsStandinPlugin {
  private readonly folder: string;
  private readonly otps: readonly string[];

  constructor(config: { storage?: string; otp?: string | string[]; configPath?: string; config_path?: string; self_path?: string }) {
    const configFile = config.configPath ?? config.config_path ?? config.self_path ?? join(process.cwd(), 'config.yaml');
    const storage = config.storage ?? './npmjs';
    this.folder = isAbsolute(storage) ? storage : resolve(dirname(configFile), storage);
    this.otps = (Array.isArray(config.otp) ? config.otp : config.otp ? [config.otp] : []).map(String);
  }

  register_middlewares(app: App, auth: Auth, storage: Storage): void {
    app.use((req, res, next) => this.handle(req, res, next, auth, storage));
  }

  private handle(req: Req, res: Res, next: Next, auth: Auth, storage: Storage): void {
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?');
    const method = (req.method ?? 'GET').toUpperCase();
    const isWrite = method !== 'GET' && method !== 'HEAD';
    if (isWrite) this.logBeforeAnswering(req, res, method, rawPath);

    if (!rawPath.startsWith(STANDIN_PREFIX) && this.injectedFault(method, res)) return;
    const match = routeFor(rawPath);
    // Only the stand-in's own routes read the body: Verdaccio's parser needs it whole for the rest.
    const body = isWrite && match ? readBody(req) : Promise.resolve('');
    if (!match) {
      if ((method === 'GET' || method === 'HEAD') && !rawPath.startsWith('/-/')) this.addOwners(rawPath, res);
      return next();
    }
    const ctx: RouteContext = { req, method, segments: match.segments, query: new URLSearchParams(rawQuery), body, auth, storage, folder: this.folder, otps: this.otps };
    Promise.resolve()
      .then(() => match.route(ctx))
      .then((reply) => (reply ? answer(res, reply.status, reply.body) : next()))
      .catch((err: unknown) => (err instanceof Refusal ? refuse(res, err) : next(err)));
  }

  /** Seeded owners go into the packument as npmjs's `maintainers`, which `npm owner ls` reads. */
  private addOwners(rawPath: string, res: Res): void {
    const parsed = nameAndRest(rawPath.split('/').filter(Boolean));
    if (!parsed || parsed.rest.length > 0) return;
    const owners = readState(this.folder).owners[parsed.name];
    if (!owners) return;
    const send = res.send.bind(res);
    res.send = (body: unknown): Res => {
      if (typeof body !== 'string' || res.statusCode !== 200) return send(body);
      let doc: unknown;
      try {
        doc = JSON.parse(body);
      } catch {
        return send(body);
      }
      if (typeof doc !== 'object' || doc === null || !('versions' in doc)) return send(body);
      const text = `${JSON.stringify({ ...doc, maintainers: owners }, undefined, '  ')}\n`;
      // Verdaccio tags its JSON by its content: keep the tag true to the body the client gets.
      res.setHeader('etag', `"${createHash('md5').update(text).digest('hex')}"`);
      return send(text);
    };
  }

  /** The test switch: answers with the stored fault while it lasts. */
  private injectedFault(method: string, res: Res): boolean {
    const applies = (fault: Fault | undefined): fault is Fault => !!fault && (!fault.methods || fault.methods.includes(method));
    if (!applies(readState(this.folder).fault)) return false;
    const fault = updateState(this.folder, (state) => {
      const current = state.fault;
      if (!applies(current)) return undefined;
      state.fault = current.remaining > 1 ? { ...current, remaining: current.remaining - 1 } : undefined;
      return current;
    });
    if (!fault) return false;
    res.standinOutcome = 'fault-injected';
    answer(res, fault.status, { error: `stand-in fault: ${fault.status}` }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    return true;
  }

  /** Logged as the answer starts to go out, so a client that got its answer finds the entry already there. */
  private logBeforeAnswering(req: Req, res: Res, method: string, path: string): void {
    const end = res.end.bind(res) as (...args: unknown[]) => Res;
    let logged = false;
    res.end = ((...args: unknown[]) => {
      if (!logged) {
        logged = true;
        this.logWrite(req, res, method, path);
      }
      return end(...args);
    }) as Res['end'];
  }

  private logWrite(req: Req, res: Res, method: string, path: string): void {
    const status = res.statusCode;
    appendWriteLog(this.folder, {
      time: new Date().toISOString(),
      method,
      path,
      user: req.remote_user?.name ?? null,
      status,
      outcome: status < 400 ? 'applied' : (res.standinOutcome ?? 'refused'),
    });
  }
}
