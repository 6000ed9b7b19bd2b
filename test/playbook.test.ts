// The containment playbook end to end on the real stack: a compromise of several packages planned,
// contained at once where the policy allows, the rest approved (with a one-time password that never
// reaches Temporal's history in clear), rejected or left waiting, and rolled back; a vulnerability and
// an over-broad alert that write nothing. The npm CLI judges what the registry serves.
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Compromise } from '../core/playbook/plan';
import type { Policy } from '../core/playbook/policy';
import type { PlaybookView } from '../core/playbook/view';
import { parsePolicy } from '../core/playbook/policy-file';
import type { Report } from '../core/incident';
import { packageWriterId } from '../core/incident-id';
import { githubPublisher, seedTrustedPublishers } from '../stack/npmjs-standin';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';
import { SealedSecretCodec } from '../worker/secret-codec';
import { approveUpdate, playbookQuery, rejectUpdate, rollbackUpdate } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { startRegistryProxy, type RegistryProxy } from './helpers/registry-proxy';
import { npmCli, npmView, pollUntil, startInProcessWorker, temporalAddress, temporalNamespace, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const SECRET_KEY = randomBytes(32);
const POLICY: Policy = parsePolicy({
  version: 1,
  approvers: [
    { name: 'alice', may: ['all'] },
    { name: 'bob', may: ['deprecate', 'dist-tag'] },
  ],
});

const alertReport = (kind: 'malware' | 'vulnerability', id: string): Report => ({
  reportId: `test:${id}`,
  requestedBy: `test:${id}`,
  reason: `${kind} alert ${id}`,
  at: new Date().toISOString(),
  alert: { source: 'generic', sourceId: id, kind, severity: 'critical', aliases: [], evidence: [], withdrawn: false },
});

/** Every payload's bytes in a history, as text: what an operator exporting it would read. */
function historyText(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    // Payload bytes come base64-encoded in a fetched history.
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    return value;
  });
}

describe('the containment playbook on the real stack', () => {
  let registry: LocalRegistry;
  let proxy: RegistryProxy;
  let worker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const taskQueue = uniqueTaskQueue('playbook');

  beforeAll(async () => {
    registry = await testRegistry();
    proxy = await startRegistryProxy(registry.url);
    worker = await startInProcessWorker({ registry: proxy.url, token: registry.tokens.admin, taskQueue, more: { QUARANTINE_SECRET_KEY: SECRET_KEY.toString('base64') } });
    connection = await Connection.connect({ address: temporalAddress() });
    // The CLI's side of the codec: the same key seals the password before it leaves.
    client = new Client({ connection, namespace: temporalNamespace(), dataConverter: { payloadCodecs: [new SealedSecretCodec(SECRET_KEY)] } });
    await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/cli', [githubPublisher('acme/cli')]);
  });
  afterAll(async () => {
    await worker?.stop();
    await connection?.close();
    await proxy?.close();
    await registry?.stop();
  });

  const start = (incident: string, trigger: Compromise['trigger'], releases: Compromise['releases'], report: Report, more: { recheckIntervalMs?: number } = {}): Promise<WorkflowHandle<typeof playbookWorkflow>> =>
    client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: incident,
      taskQueue,
      args: [{ compromise: { incident, registry: proxy.url, trigger, severity: 'critical', releases, advisories: [], approvedReleases: [] }, policy: POLICY, first: { report, releases }, ...more }],
    });
  const settled = (handle: WorkflowHandle, statuses: string[]) =>
    pollUntil(() => handle.query(playbookQuery), (v) => statuses.includes(v.status), 60_000);

  it('contains three packages at once, then runs what waits for a person only once an approver with a password says so', async () => {
    const writesBefore = proxy.writes().length;
    const handle = await start(
      'compromise-MAL-2026-0001',
      'malware',
      [
        { name: '@acme/core', versions: ['1.2.3'] },
        { name: '@acme/cli', versions: ['2.0.1'] },
        { name: '@acme/utils', versions: ['1.2.0'] },
      ],
      alertReport('malware', 'MAL-2026-0001'),
    );
    const contained = await settled(handle, ['contained', 'verified', 'failed']);
    expect(contained.status).toBe('contained');
    expect(contained.containedAt).toBeDefined();

    const npm = npmCli(registry.url);
    const core = await npmView(npm, '@acme/core', ['1.2.3', '1.2.2']);
    expect(core.deprecated['1.2.3']).toMatch(/^SECURITY: this release is compromised, do not install it \(qi:[0-9a-f]{8}; MAL-2026-0001/);
    expect(core.deprecated['1.2.2']).toBeUndefined();
    expect(core.distTags.latest).toBe('1.2.2');
    expect((await npmView(npm, '@acme/cli', ['2.0.1'])).distTags).toEqual({ latest: '2.0.0', next: '2.1.0-beta.0' });
    // 1.1.0 is deprecated by its maintainers: latest goes past it, to 1.0.0.
    expect((await npmView(npm, '@acme/utils', ['1.2.0'])).distTags.latest).toBe('1.0.0');

    // What waits: the trusted publisher of @acme/cli and 2FA for publishing, each needing a password.
    const waiting = contained.actions.filter((a) => a.status === 'waiting');
    expect(waiting.map((a) => a.action.kind)).toEqual(expect.arrayContaining(['revoke-trust', 'require-2fa']));
    expect(waiting.every((a) => a.action.otp)).toBe(true);
    // One deprecation write per package, one tag write each; nothing else was written yet.
    const writes = proxy.writes().slice(writesBefore);
    expect(writes.filter((w) => w.method === 'PUT' && /^\/@acme%2f(core|cli|utils)$/.test(w.path))).toHaveLength(3);
    expect(writes.filter((w) => w.path.includes('/trust') || w.path.includes('/access'))).toEqual([]);

    // Refused before anything is recorded: no password, an approver without the right, an unknown action.
    const trustId = contained.actions.find((a) => a.action.kind === 'revoke-trust')!.action.id;
    await expect(handle.executeUpdate(approveUpdate, { args: [{ actionIds: [trustId], by: 'alice' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ actionIds: [trustId], by: 'bob' }, { sealed: 'quarantine-secret/v1', value: REGISTRY_OTP }] })).rejects.toThrow(WorkflowUpdateFailedError);
    await expect(handle.executeUpdate(approveUpdate, { args: [{ actionIds: ['deprecate:@acme/nope'], by: 'alice' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    expect(proxy.writes().slice(writesBefore).filter((w) => w.path.includes('/trust'))).toEqual([]);

    const approved = await handle.executeUpdate(approveUpdate, { args: [{ actionIds: [trustId], by: 'alice', note: 'release workflow is compromised' }, { sealed: 'quarantine-secret/v1', value: REGISTRY_OTP }] });
    expect(approved.actions.find((a) => a.action.id === trustId)).toMatchObject({ status: 'done', approvedBy: 'alice', changed: true });
    expect((await npmCli(registry.url, registry.tokens.admin)(['trust', 'list', '@acme/cli', '--json'])).trim()).toBe('');
    const event = approved.events.find((e) => e.phase === 'approved' && e.actionId === trustId);
    expect(event).toMatchObject({ actor: 'alice', target: 'npm:@acme/cli' });

    // The password never reaches Temporal's history in clear, while the approval itself is readable.
    const history = historyText(await handle.fetchHistory());
    expect(history).toContain(trustId);
    expect(history).not.toContain(REGISTRY_OTP);
    // Nor in the history of the package's writer, which ran the revocation with it.
    const writerHistory = historyText(await client.workflow.getHandle(packageWriterId(proxy.url, '@acme/cli', taskQueue)).fetchHistory());
    expect(writerHistory).toContain(trustId);
    expect(writerHistory).not.toContain(REGISTRY_OTP);
  });

  it('records a rejection, and a rollback restores the registry to what it was before, listing what it cannot undo', async () => {
    const handle = client.workflow.getHandle('compromise-MAL-2026-0001');
    const view = await handle.query(playbookQuery);
    const rest = view.actions.filter((a) => a.status === 'waiting').map((a) => a.action.id);
    const rejected = await handle.executeUpdate(rejectUpdate, { args: [{ actionIds: rest, by: 'alice', note: 'done by hand' }] });
    expect(rejected.actions.filter((a) => rest.includes(a.action.id)).every((a) => a.status === 'rejected')).toBe(true);
    expect(rejected.status).toBe('verified');

    await expect(handle.executeUpdate(rollbackUpdate, { args: [{ by: 'bob', reason: 'false positive' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    const rolledBack = await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'alice', reason: 'false positive' }, { sealed: 'quarantine-secret/v1', value: REGISTRY_OTP }] });
    expect(rolledBack.status).toBe('rolled-back');
    const npm = npmCli(registry.url);
    const core = await npmView(npm, '@acme/core', ['1.2.3']);
    expect(core.deprecated['1.2.3']).toBeUndefined();
    expect(core.distTags.latest).toBe('1.2.3');
    expect((await npmView(npm, '@acme/utils', ['1.1.0'])).deprecated['1.1.0']).toBe('broken build, use 1.0.0');
    // The trusted publisher comes back (same claims); the audit says so.
    expect((await npmCli(registry.url, registry.tokens.admin)(['trust', 'list', '@acme/cli', '--json'])).trim()).toContain('acme/cli');
    expect(rolledBack.events.filter((e) => e.phase === 'rolled-back').length).toBeGreaterThanOrEqual(7);
  });

  it('writes nothing for a vulnerability, and holds an alert that would deprecate every version of a package', async () => {
    const writesBefore = proxy.writes().length;
    const vulnerability = await start('compromise-GHSA-vuln', 'vulnerability', [{ name: '@acme/core', versions: ['1.2.3'] }], alertReport('vulnerability', 'GHSA-vuln'));
    expect((await settled(vulnerability, ['recorded', 'verified', 'contained', 'failed'])).status).toBe('recorded');

    const everything = await start('compromise-MAL-solo', 'malware', [{ name: '@acme/solo', versions: ['1.0.0'] }], alertReport('malware', 'MAL-solo'));
    const held = await settled(everything, ['held', 'contained', 'verified', 'failed']);
    expect(held.status).toBe('held');
    expect(held.holds.map((h) => h.reason).join('\n')).toMatch(/the only published version is affected/);
    expect(proxy.writes().slice(writesBefore)).toEqual([]);
    expect((await npmView(npmCli(registry.url), '@acme/solo', ['1.0.0'])).deprecated['1.0.0']).toBeUndefined();
  });

  it('reads the registry back on its own and contains again what a stolen token undid', async () => {
    const handle = await start('compromise-MAL-drift', 'malware', [{ name: '@acme/utils', versions: ['1.2.0'] }], alertReport('malware', 'MAL-drift'), { recheckIntervalMs: 1_500 });
    expect((await settled(handle, ['contained', 'verified', 'failed'])).status).toBe('contained');
    // The attacker, still holding the token, puts latest back on the bad release.
    await npmCli(registry.url, registry.tokens.admin)(['dist-tag', 'add', '@acme/utils@1.2.0', 'latest']);
    const drift = (v: PlaybookView) => v.events.filter((e) => e.phase === 'drift').map((e) => e.detail).join('\n');
    const view = await pollUntil(() => handle.query(playbookQuery), (v) => /move dist-tag latest of @acme\/utils from 1\.2\.0 to 1\.0\.0/.test(drift(v)) && v.status === 'contained', 30_000);
    expect(drift(view)).toMatch(/the registry no longer serves the containment: move dist-tag latest of @acme\/utils from 1\.2\.0 to 1\.0\.0; contained again/);
    expect(view.status).toBe('contained');
    const after = await npmView(npmCli(registry.url), '@acme/utils', ['1.2.0']);
    expect(after.deprecated['1.2.0']).toMatch(/^SECURITY/);
    expect(after.distTags.latest).toBe('1.0.0');
  });
});
