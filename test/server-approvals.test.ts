// Decisions over `quarantine serve`'s API, on the real stack: the server runs as deployed (its own
// process, configured from the environment), a playbook incident waits for an approver, and the npm CLI
// judges what the registry serves. Logins, the JSON-only rule and the validators' refusals are each
// checked for what they must not let through: no write, nothing on the trail, no password in history or log.
import { startServe, type RunningServe } from './helpers/serve';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { compromiseId } from '../core/incident-id';
import { parsePolicy } from '../core/playbook/policy-file';
import type { PlaybookView } from '../core/playbook/view';
import { hashUiPassword } from '../server/auth';
import { serveConfigFromEnv } from '../server/config';
import { startIntake } from '../server/index';
import { githubPublisher, seedTrustedPublishers } from '../stack/npmjs-standin';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';
import { playbookQuery } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { GITHUB_SECRETS, intakeConfig, STANDARD_SECRETS } from './helpers/intake';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import { npmCli, pollUntil, startInProcessWorker, temporalAddress, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const SECRET_KEY = randomBytes(32).toString('base64');
const ALICE_PASSWORD = 'correct horse battery staple';
const BOB_PASSWORD = 'bob-has-a-long-password';
const POLICY = parsePolicy({ version: 1, approvers: [{ name: 'alice', may: ['all'] }, { name: 'bob', may: ['deprecate', 'dist-tag'] }] });

/** Every payload's bytes in a history, as text: what an operator exporting it would read. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    return value;
  });
}

const basic = (name: string, password: string) => `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { error?: string; field?: string; status?: string; actions?: { id: string; kind: string; status: string; approvedBy?: string }[] };
}

describe('decisions over the server API', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  let serve: RunningServe;
  let handle: WorkflowHandle<typeof playbookWorkflow>;
  let incident: string;
  let trustId: string;
  const taskQueue = uniqueTaskQueue('api');

  const decide = async (decision: string, body: unknown, options: { auth?: string; contentType?: string; id?: string } = {}): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
    if (options.auth !== undefined) headers.authorization = options.auth;
    const response = await fetch(`${serve.url}/api/incidents/${encodeURIComponent(options.id ?? incident)}/${decision}`, {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Answer['body'] };
  };
  const asAlice = basic('alice', ALICE_PASSWORD);
  const trail = async () => (await handle.query(playbookQuery)).events;
  const historyLength = async () => (await handle.fetchHistory()).events?.length ?? 0;
  const trustList = async () => (await npmCli(registry.url, registry.tokens.admin)(['trust', 'list', '@acme/cli', '--json'])).trim();

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
    worker = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue, more: { QUARANTINE_SECRET_KEY: SECRET_KEY } });
    ({ client, close: closeClient } = await testClient());
    await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/cli', [githubPublisher('acme/cli')]);
    // Alice's password is given as a hash, Bob's in clear: both forms log in.
    serve = await startServe({
      TEMPORAL_ADDRESS: temporalAddress(),
      PORT: '0',
      QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-api-')),
      QUARANTINE_TASK_QUEUE: taskQueue,
      QUARANTINE_REGISTRY: proxy.url,
      QUARANTINE_OWNED_PACKAGES: '@acme/*',
      GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','),
      QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','),
      QUARANTINE_SECRET_KEY: SECRET_KEY,
      QUARANTINE_UI_USERS: `alice:${await hashUiPassword(ALICE_PASSWORD)},bob:${BOB_PASSWORD}`,
    });
    const releases = [{ name: '@acme/cli', versions: ['2.0.1'] }];
    incident = compromiseId(proxy.url, releases);
    handle = await client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: incident,
      taskQueue,
      args: [{
        compromise: { incident, registry: proxy.url, trigger: 'malware', severity: 'critical', releases, advisories: [], approvedReleases: [] },
        policy: POLICY,
        first: { report: { reportId: 'test:MAL-api', requestedBy: 'test:MAL-api', reason: 'malware alert', at: new Date().toISOString(), alert: { source: 'generic', sourceId: 'MAL-api', kind: 'malware', severity: 'critical', aliases: [], evidence: [], withdrawn: false } }, releases },
      }],
    });
    const contained: PlaybookView = await pollUntil(() => handle.query(playbookQuery), (v) => ['contained', 'verified', 'failed'].includes(v.status));
    expect(contained.status).toBe('contained');
    trustId = contained.actions.find((a) => a.action.kind === 'revoke-trust' && a.status === 'waiting')!.action.id;
  });
  afterAll(async () => {
    await serve?.stop();
    await worker?.stop();
    await closeClient?.();
    await proxy?.close();
    await registry?.stop();
  });

  it('answers 401 with a Basic challenge without credentials, with a wrong password or an unknown user, and sends nothing to Temporal', async () => {
    const events = (await trail()).length;
    const history = await historyLength();
    for (const auth of [undefined, basic('alice', 'not her password'), basic('alice', BOB_PASSWORD), basic('mallory', ALICE_PASSWORD), 'Bearer abc']) {
      const answer = await decide('approve', { actions: [trustId], otp: REGISTRY_OTP }, auth === undefined ? {} : { auth });
      expect({ auth, status: answer.status, challenge: answer.headers.get('www-authenticate') }).toEqual({ auth, status: 401, challenge: 'Basic realm="quarantine", charset="UTF-8"' });
      expect(answer.text).not.toContain(REGISTRY_OTP);
    }
    expect((await decide('rollback', {}, {})).status).toBe(401);
    expect(await historyLength()).toBe(history);
    expect((await trail()).length).toBe(events);
    expect(proxy.writes().filter((w) => w.path.includes('/trust'))).toEqual([]);
  });

  it('takes only JSON (a cross-site form gets 415) with only the fields a decision has (400), and answers 404 for an unknown incident', async () => {
    const history = await historyLength();
    // What a form on another site can make a browser send, with the credentials it remembers.
    expect((await decide('approve', `actions=${trustId}&otp=${REGISTRY_OTP}`, { auth: asAlice, contentType: 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await decide('approve', { actions: [trustId], otp: REGISTRY_OTP }, { auth: asAlice, contentType: 'text/plain' })).status).toBe(415);
    expect((await decide('approve', { actions: [trustId] }, { auth: asAlice, contentType: 'application/vnd.api+json' })).status).toBe(415);

    const cases: [string, unknown, RegExp][] = [
      ['approve', { actions: [trustId], by: 'alice' }, /unknown field "by"/],
      ['approve', { actions: [trustId], otp: 246810 }, /^otp: /],
      ['approve', { actions: [trustId], otp: '12345' }, /^otp: a one-time password is 6 to 8 digits$/],
      ['approve', { actions: ['not an id'] }, /^actions\.0: an action id/],
      ['approve', [trustId], /send a JSON object/],
      ['approve', '{"actions": [', /not valid JSON/],
      ['approve', '{"__proto__": {"by": "bob"}}', /__proto__/],
      ['reject', { otp: REGISTRY_OTP }, /a rejection needs no one-time password/],
      ['rollback', { actions: [trustId] }, /a rollback undoes the whole incident/],
      ['approve', { note: 'x'.repeat(1001) }, /^note: at most 1000 characters/],
    ];
    for (const [decision, body, error] of cases) {
      const answer = await decide(decision, body, { auth: asAlice });
      expect({ body, status: answer.status, error: answer.body.error }).toEqual({ body, status: 400, error: expect.stringMatching(error) });
      expect(answer.text).not.toContain(REGISTRY_OTP);
    }
    expect((await decide('approve', { note: 'x'.repeat(70_000) }, { auth: asAlice })).status).toBe(413);
    expect((await decide('approve', {}, { auth: asAlice, id: 'incident-@acme/cli@2.0.1-00000000' })).body.error).toMatch(/not the id of a playbook incident/);

    expect(await historyLength()).toBe(history);
    const unknown = await decide('approve', {}, { auth: asAlice, id: 'compromise-MAL-0000-0000-00000000' });
    expect(unknown).toMatchObject({ status: 404, body: { error: 'no open incident compromise-MAL-0000-0000-00000000' } });
  });

  it('refuses a login the policy does not let approve (403), and one without the password npm asks (409), on the trail and with nothing written', async () => {
    const bob = await decide('approve', { actions: [trustId], otp: REGISTRY_OTP }, { auth: basic('bob', BOB_PASSWORD) });
    expect(bob.status).toBe(403);
    expect(bob.body.error).toBe('bob may not approve revoke-trust under the policy');
    const noPassword = await decide('approve', { actions: [trustId] }, { auth: asAlice });
    expect(noPassword.status).toBe(409);
    expect(noPassword.body.error).toMatch(/needs a one-time password/);

    const refused = await pollUntil(trail, (events) => events.filter((e) => e.phase === 'refused').length >= 2, 10_000);
    expect(refused.filter((e) => e.phase === 'refused').map((e) => e.actor)).toEqual(['bob', 'alice']);
    expect(refused.some((e) => e.phase === 'approved')).toBe(false);
    expect(proxy.writes().filter((w) => w.path.includes('/trust'))).toEqual([]);
    expect(await trustList()).toContain('acme/cli');
  });

  it('lets an approver approve a waiting action with a one-time password: it runs, and the password is in neither the history nor the server log', async () => {
    const approved = await decide('approve', { actions: [trustId], otp: REGISTRY_OTP, note: 'the release workflow is compromised' }, { auth: asAlice });
    expect(approved.status).toBe(200);
    expect(approved.body.actions!.find((a) => a.id === trustId)).toEqual({ id: trustId, kind: 'revoke-trust', status: 'done', approvedBy: 'alice' });
    expect(approved.text).not.toContain(REGISTRY_OTP);
    expect(await trustList()).toBe('');

    const event = (await trail()).find((e) => e.phase === 'approved' && e.actionId === trustId);
    expect(event).toMatchObject({ actor: 'alice', detail: expect.stringContaining('the release workflow is compromised') });
    // Decided once: the same approval again finds nothing waiting.
    expect(await decide('approve', { actions: [trustId], otp: REGISTRY_OTP }, { auth: asAlice })).toMatchObject({ status: 409, body: { error: expect.stringMatching(/does not wait for approval \(it is done\)/) } });

    const history = historyText(await handle.fetchHistory());
    expect(history).toContain(trustId);
    expect(history).not.toContain(REGISTRY_OTP);
    expect(serve.log()).toMatch(/approve taken/);
    expect(serve.log()).not.toContain(REGISTRY_OTP);
    expect(serve.log()).not.toContain(ALICE_PASSWORD);
    expect(serve.log()).not.toContain(Buffer.from(`alice:${ALICE_PASSWORD}`).toString('base64'));
  });

  it('without QUARANTINE_UI_USERS the API answers 503 saying how to turn it on, and refuses weak users at start naming the user, never the password', async () => {
    const intake = await startIntake(intakeConfig({ registry: proxy.url, taskQueue }), { client });
    try {
      const response = await fetch(`${intake.url}/api/incidents/${encodeURIComponent(incident)}/reject`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: asAlice }, body: '{}' });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toMatch(/set QUARANTINE_UI_USERS/);
      expect((await handle.query(playbookQuery)).actions.some((a) => a.status === 'rejected')).toBe(false);
      // An on-call report too: the route says how to turn it on, and starts nothing.
      const report = await fetch(`${intake.url}/api/reports`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: asAlice }, body: JSON.stringify({ releases: ['@acme/core@1.2.3'] }) });
      expect(report.status).toBe(503);
      expect(((await report.json()) as { error: string }).error).toMatch(/reports over the API are off: set QUARANTINE_UI_USERS/);
    } finally {
      await intake.close();
    }

    const env = (users: string) => ({ GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','), QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','), QUARANTINE_OWNED_PACKAGES: '@acme/*', QUARANTINE_SECRET_KEY: SECRET_KEY, QUARANTINE_UI_USERS: users });
    const refusals: [string, string, RegExp][] = [
      ['alice:hunter2', 'hunter2', /alice: a password of at least 12 characters, or a scrypt hash/],
      ['just-a-password-no-name', 'just-a-password-no-name', /entry 1 of 1 is not name:password/],
      [`alice:${ALICE_PASSWORD},alice:${BOB_PASSWORD}`, ALICE_PASSWORD, /alice is given twice/],
      [`alice smith:${ALICE_PASSWORD}`, ALICE_PASSWORD, /entry 1 of 1: a user name is letters, digits/],
      [`alice:scrypt$1024$8$1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`, 'scrypt$1024', /alice: scrypt N must be a power of two of at least 16384/],
      [`alice:scrypt$32768$8$1$c2FsdA==$${randomBytes(32).toString('base64')}`, 'c2FsdA==', /alice: the scrypt salt must be at least 16 bytes/],
    ];
    for (const [users, secret, reason] of refusals) {
      let message = '';
      try {
        serveConfigFromEnv(env(users));
      } catch (err) {
        message = (err as Error).message;
      }
      expect({ users, message }).toEqual({ users, message: expect.stringMatching(reason) });
      expect(message).not.toContain(secret);
    }
    expect(serveConfigFromEnv(env('')).ui).toBeUndefined();
  });
});
