// Who is asking: the people QUARANTINE_UI_USERS names, over HTTP Basic. The name a person logs in with
// is the name the containment policy lists as an approver (core/playbook/policy.ts mayApprove), so an
// approval from the server carries the login, never a name the request chose.
//
// QUARANTINE_UI_USERS is `name:password` pairs separated by commas (or one pair per line, when a
// password holds a comma). A password is either at least MIN_PLAIN_PASSWORD_LENGTH characters, or a
// scrypt hash `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>` (hashUiPassword makes one), so that the
// environment need not hold the password itself.
import { createHmac, randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** The policy's approver names (core/playbook/policy-file.ts): a login must be one of these to approve. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;
/** Shorter plain passwords fall to an online guesser; give a longer one or a hash. */
export const MIN_PLAIN_PASSWORD_LENGTH = 12;
/** The cost hashUiPassword uses: about 130 ms and 32 MiB per check on the two cores this was measured on. */
export const DEFAULT_SCRYPT = { N: 2 ** 15, r: 8, p: 1 } as const;
/** Below this cost a stolen hash is cheap to crack offline (Node's own default, 2^14, is the floor). */
const MIN_SCRYPT_N = 2 ** 14;
/** Above this, one login could take the server's memory or seconds of its CPU. */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const HASH_PREFIX = 'scrypt$';
/** Logins checked at once: each scrypt check holds a thread of libuv's pool (4 by default) and N*r*128 bytes. */
const CONCURRENT_CHECKS = 2;
/** A login that succeeded is not checked with scrypt again for this long (a page polling each second). */
const VERIFIED_TTL_MS = 5 * 60_000;
const MAX_VERIFIED = 256;
/** Longer Authorization headers are not decoded: no user of ours needs one. */
const MAX_AUTHORIZATION_LENGTH = 1024;

export const WWW_AUTHENTICATE = 'Basic realm="quarantine", charset="UTF-8"';

interface ScryptHash {
  kind: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

interface PlainPassword {
  kind: 'plain';
  /** HMAC of the password under the process's own key: compared in constant time, never kept in clear. */
  mac: Buffer;
}

type Credential = ScryptHash | PlainPassword;

const scrypt = (password: string | Buffer, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCallback(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));

function scryptOptions(hash: Pick<ScryptHash, 'N' | 'r' | 'p'>): ScryptOptions {
  return { N: hash.N, r: hash.r, p: hash.p, maxmem: MAX_SCRYPT_MEMORY + 1024 * 1024 };
}

/** A scrypt hash for QUARANTINE_UI_USERS, in the format parseUiUsers reads. */
export async function hashUiPassword(password: string, cost: { N: number; r: number; p: number } = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password.normalize('NFC'), salt, 32, scryptOptions(cost));
  return `${HASH_PREFIX}${cost.N}$${cost.r}$${cost.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The hash's fields, or why it is refused (the message never holds the hash). */
function parseScryptHash(text: string): ScryptHash | string {
  const parts = text.split('$');
  if (parts.length !== 6) return `a scrypt hash is scrypt$N$r$p$salt$hash (${parts.length} fields, not 6)`;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const int = (value: string) => (/^\d{1,10}$/.test(value) ? Number(value) : NaN);
  const N = int(n);
  if (!Number.isInteger(N) || N < MIN_SCRYPT_N || (N & (N - 1)) !== 0) return `scrypt N must be a power of two of at least ${MIN_SCRYPT_N} (${DEFAULT_SCRYPT.N} recommended)`;
  const blockSize = int(r);
  if (!Number.isInteger(blockSize) || blockSize < 8 || blockSize > 64) return 'scrypt r must be from 8 to 64 (8 recommended)';
  const parallel = int(p);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 16) return 'scrypt p must be from 1 to 16 (1 recommended)';
  if (128 * N * blockSize * parallel > MAX_SCRYPT_MEMORY) return `scrypt N*r*p asks more than ${MAX_SCRYPT_MEMORY / 1024 / 1024} MiB per login`;
  if (!BASE64.test(salt) || Buffer.from(salt, 'base64').length < 16) return 'the scrypt salt must be at least 16 bytes in base64';
  if (!BASE64.test(hash) || Buffer.from(hash, 'base64').length < 32 || Buffer.from(hash, 'base64').length > 64) return 'the scrypt hash must be 32 to 64 bytes in base64';
  return { kind: 'scrypt', N, r: blockSize, p: parallel, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

/** The users QUARANTINE_UI_USERS names, ready to check a login against. */
export class UiUsers {
  private readonly macKey = randomBytes(32);
  private readonly credentials = new Map<string, Credential>();
  /** Checked against for an unknown name, so that a wrong name costs as long as a wrong password. */
  private readonly decoy: Credential;
  private readonly verified = new Map<string, number>();
  private checking = 0;
  private readonly queue: (() => void)[] = [];

  constructor(entries: { name: string; password: string }[]) {
    for (const { name, password } of entries) {
      const parsed = password.startsWith(HASH_PREFIX) ? parseScryptHash(password) : { kind: 'plain' as const, mac: this.mac(password) };
      if (typeof parsed === 'string') throw new Error(`QUARANTINE_UI_USERS: ${name}: ${parsed}`);
      this.credentials.set(name, parsed);
    }
    const hashed = [...this.credentials.values()].find((c): c is ScryptHash => c.kind === 'scrypt');
    this.decoy = hashed ? { ...hashed, salt: randomBytes(16) } : { kind: 'plain', mac: this.mac(randomBytes(32).toString('hex')) };
  }

  get names(): string[] {
    return [...this.credentials.keys()];
  }

  private mac(text: string): Buffer {
    return createHmac('sha256', this.macKey).update(text.normalize('NFC')).digest();
  }

  /** The user's name when the password is theirs; undefined otherwise, after the same work either way. */
  async verify(name: string, password: string): Promise<string | undefined> {
    const known = this.credentials.get(name);
    const credential = known ?? this.decoy;
    if (credential.kind === 'plain') {
      const matches = timingSafeEqual(this.mac(password), credential.mac);
      return matches && known ? name : undefined;
    }
    // Keyed by a MAC of both, so the cache holds nothing a memory dump could replay elsewhere.
    const cacheKey = this.mac(`${name}\u0000${password}`).toString('base64');
    const until = this.verified.get(cacheKey);
    if (known && until !== undefined && until > Date.now()) return name;
    const derived = await this.limited(() => scrypt(password.normalize('NFC'), credential.salt, credential.hash.length, scryptOptions(credential)));
    if (!timingSafeEqual(derived, credential.hash) || !known) return undefined;
    this.verified.delete(cacheKey);
    this.verified.set(cacheKey, Date.now() + VERIFIED_TTL_MS);
    if (this.verified.size > MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    return name;
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    // A finished check hands its slot to the next in line, so no newcomer slips in between.
    if (this.checking >= CONCURRENT_CHECKS) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.checking++;
    try {
      return await work();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.checking--;
    }
  }
}

/**
 * The entries of QUARANTINE_UI_USERS (split like the webhook secrets, server/config.ts secretList),
 * checked whole before the server starts: a name the policy could not list, a name given twice, a
 * short password or a malformed or cheap hash is refused, naming the user (never the password).
 */
export function parseUiUsers(entries: string[]): UiUsers {
  const seen = new Set<string>();
  const users = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    // The entry may be a password without its name: it is not quoted back.
    if (colon <= 0) throw new Error(`QUARANTINE_UI_USERS: entry ${i + 1} of ${entries.length} is not name:password`);
    const name = entry.slice(0, colon).trim();
    const password = entry.slice(colon + 1);
    if (!USER_NAME.test(name)) throw new Error(`QUARANTINE_UI_USERS: entry ${i + 1} of ${entries.length}: a user name is letters, digits, . _ @ - (as the policy's approvers are named)`);
    if (seen.has(name)) throw new Error(`QUARANTINE_UI_USERS: ${name} is given twice`);
    seen.add(name);
    if (!password.startsWith(HASH_PREFIX) && password.length < MIN_PLAIN_PASSWORD_LENGTH) {
      throw new Error(`QUARANTINE_UI_USERS: ${name}: a password of at least ${MIN_PLAIN_PASSWORD_LENGTH} characters, or a scrypt hash (scrypt$N$r$p$salt$hash, see the README)`);
    }
    return { name, password };
  });
  return new UiUsers(users);
}

/** The name and password of a Basic Authorization header, if it is one. */
export function basicCredentials(header: string | undefined): { name: string; password: string } | undefined {
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const authenticated = new WeakMap<FastifyRequest, string>();

/** The login of a request that passed requireUser. */
export function userOf(request: FastifyRequest): string {
  const user = authenticated.get(request);
  if (user === undefined) throw new Error('userOf: the route is not behind requireUser');
  return user;
}

/**
 * An onRequest hook: the request goes on only with the credentials of a known user, before a byte of
 * its body is read. Otherwise 401 with the challenge, and nothing else happens.
 */
export function requireUser(users: UiUsers) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const given = basicCredentials(request.headers.authorization);
    const user = given && (await users.verify(given.name, given.password));
    if (user === undefined) {
      // Said without the name tried: it may be a password typed into the wrong field.
      request.log.info({ url: request.routeOptions.url }, given ? 'login refused: wrong name or password' : 'login required');
      return reply.code(401).header('www-authenticate', WWW_AUTHENTICATE).header('connection', 'close').send({ error: 'log in: HTTP Basic with a user of QUARANTINE_UI_USERS' });
    }
    authenticated.set(request, user);
  };
}

/**
 * What a login may do on the timeline view and the API beyond reading: decide (QUARANTINE_UI_APPROVERS
 * names the approvers; unset, every user may try, and the policy's validators decide as before), and
 * the CSRF token its pages carry. A token is an HMAC of the login under this process's own key: no
 * state to keep, and a token from before a restart is refused (reloading the page gives a new one).
 */
export class UiAccess {
  private readonly key = randomBytes(32);

  constructor(private readonly approvers?: ReadonlySet<string>) {}

  isApprover(user: string): boolean {
    return this.approvers === undefined || this.approvers.has(user);
  }

  csrfToken(user: string): string {
    return createHmac('sha256', this.key).update(`csrf\u0000${user}`).digest('base64url');
  }

  csrfValid(user: string, token: string | undefined): boolean {
    if (typeof token !== 'string' || token.length > 100) return false;
    const expected = Buffer.from(this.csrfToken(user));
    const given = Buffer.from(token);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/**
 * A request a browser sent (every browser sends Origin on a POST, scripts and the CLI do not) is taken
 * only from a page of this server, with the CSRF token of the login it carries. The JSON-only rule
 * already keeps a form on another site out; this keeps out anything else a browser could be made to send.
 */
export function browserRequestProblem(request: FastifyRequest, access: UiAccess, user: string): string | undefined {
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== request.headers.host) return 'a decision from a browser is taken only from this server\'s own pages';
  const token = request.headers['x-csrf-token'];
  if (!access.csrfValid(user, Array.isArray(token) ? token[0] : token)) return 'a decision from a browser needs the CSRF token of its page: reload the page and decide again';
  return undefined;
}
