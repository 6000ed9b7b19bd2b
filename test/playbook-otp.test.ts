// npm's two-factor windows: one one-time password covers a few minutes of prompts. The plan says how
// many passwords it will ask for; an approval with one password runs as many password-gated actions as
// the policy's window holds, and the rest wait again for a fresh password instead of failing.
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { Report } from '../core/incident';
import type { Compromise } from '../core/playbook/plan';
import { parsePolicy } from '../core/playbook/policy-file';
import type { PlaybookView } from '../core/playbook/view';
import { githubPublisher, seedTrustedPublishers } from '../stack/npmjs-standin';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';
import { SealedSecretCodec } from '../worker/secret-codec';
import { approveUpdate, playbookQuery } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { npmCli, pollUntil, startInProcessWorker, temporalAddress, temporalNamespace, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const SECRET_KEY = randomBytes(32);
// Two password-gated actions per password, and 2FA settings left alone: the window is what is tested.
const POLICY = parsePolicy({
  version: 1,
  approvers: [{ name: 'alice', may: ['all'] }],
  otp: { actionsPerWindow: 2 },
  triggers: { malware: { actions: { 'require-2fa': 'off' } } },
});
const PACKAGES = ['@acme/core', '@acme/cli', '@acme/utils'];

const malware: Report = {
  reportId: 'test:MAL-otp-window',
  requestedBy: 'test:MAL-otp-window',
  reason: 'malware alert MAL-otp-window',
  at: new Date().toISOString(),
  alert: { source: 'generic', sourceId: 'MAL-otp-window', kind: 'malware', severity: 'critical', aliases: [], evidence: [], withdrawn: false },
};

describe('one-time password windows', () => {
  let registry: LocalRegistry;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const taskQueue = uniqueTaskQueue('playbook-otp');

  beforeAll(async () => {
    registry = await testRegistry();
    worker = await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue, more: { QUARANTINE_SECRET_KEY: SECRET_KEY.toString('base64') } });
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection, namespace: temporalNamespace(), dataConverter: { payloadCodecs: [new SealedSecretCodec(SECRET_KEY)] } });
    for (const name of PACKAGES) await seedTrustedPublishers(registry.url, registry.tokens.admin, name, [githubPublisher(`acme/${name.slice('@acme/'.length)}`)]);
  });
  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await registry?.stop();
  });

  const trustedPublishers = async (name: string) => (await npmCli(registry.url, registry.tokens.admin)(['trust', 'list', name, '--json'])).trim();

  it('runs as many password-gated actions as one window holds, asks a fresh password for the rest, and says so in the plan', async () => {
    const releases: Compromise['releases'] = [
      { name: '@acme/core', versions: ['1.2.3'] },
      { name: '@acme/cli', versions: ['2.0.1'] },
      { name: '@acme/utils', versions: ['1.2.0'] },
    ];
    const incident = 'compromise-MAL-otp-window';
    const handle: WorkflowHandle<typeof playbookWorkflow> = await client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: incident,
      taskQueue,
      args: [{ compromise: { incident, registry: registry.url, trigger: 'malware', severity: 'critical', releases, advisories: [], approvedReleases: [] }, policy: POLICY, first: { report: malware, releases } }],
    });
    const contained = await pollUntil(() => handle.query(playbookQuery), (v) => ['contained', 'verified', 'failed'].includes(v.status), 60_000);
    expect(contained.status).toBe('contained');
    const revocations = contained.actions.filter((a) => a.action.kind === 'revoke-trust');
    expect(revocations.map((a) => a.status)).toEqual(['waiting', 'waiting', 'waiting']);
    // Three password-gated actions, two per window: the plan asks for two passwords.
    expect(contained.otp).toMatchObject({ actions: 3, passwords: 2, perWindow: 2 });

    const afterFirst = await handle.executeUpdate(approveUpdate, { args: [{ actionIds: [], by: 'alice' }, { sealed: 'quarantine-secret/v1', value: REGISTRY_OTP }] });
    const states = (view: PlaybookView) => view.actions.filter((a) => a.action.kind === 'revoke-trust').map((a) => a.status).sort();
    expect(states(afterFirst)).toEqual(['done', 'done', 'waiting']);
    const left = afterFirst.actions.find((a) => a.action.kind === 'revoke-trust' && a.status === 'waiting')!;
    expect(afterFirst.events.filter((e) => e.actionId === left.action.id).at(-1)?.detail).toMatch(/npm asks a one-time password; approve it with one/);
    const remaining = await Promise.all(PACKAGES.map(trustedPublishers));
    expect(remaining.filter((text) => text === '')).toHaveLength(2);
    expect(afterFirst.status).toBe('contained');

    // A fresh password for the next window finishes the job.
    const afterSecond = await handle.executeUpdate(approveUpdate, { args: [{ actionIds: [left.action.id], by: 'alice' }, { sealed: 'quarantine-secret/v1', value: REGISTRY_OTP }] });
    expect(states(afterSecond)).toEqual(['done', 'done', 'done']);
    expect(afterSecond.status).toBe('verified');
    expect(await Promise.all(PACKAGES.map(trustedPublishers))).toEqual(['', '', '']);
  });
});
