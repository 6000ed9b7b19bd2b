// `quarantine <spec>` through `quarantine serve` (QUARANTINE_SERVER): the command reaches no Temporal of
// its own (its TEMPORAL_ADDRESS points nowhere), the server starts the incident with its registry and
// policy, and the npm CLI judges the registry. A wrong login, a user who is not an approver, a bad spec
// and another registry are each refused with a clear line, and none of them writes anything.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlaybookView } from '../core/playbook/view';
import { serveConfigFromEnv } from '../server/config';
import { startIntake, type RunningIntake } from '../server/index';
import type { LocalRegistry } from '../stack/registry';
import { GITHUB_SECRETS, STANDARD_SECRETS } from './helpers/intake';
import { jsonOf, npmCli, npmView, runCli, startInProcessWorker, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const ALICE_PASSWORD = 'alice-has-a-long-password';
const BOB_PASSWORD = 'bob-has-a-long-password';

describe('on-call reports through quarantine serve', () => {
  let registry: LocalRegistry;
  let worker: RunningWorker;
  let intake: RunningIntake;
  let closeClient: () => Promise<void>;
  const taskQueue = uniqueTaskQueue('remote');

  beforeAll(async () => {
    registry = await testRegistry();
    worker = await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue });
    const { client, close } = await testClient();
    closeClient = close;
    const config = serveConfigFromEnv(
      {
        PORT: '0',
        QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-remote-')),
        QUARANTINE_TASK_QUEUE: taskQueue,
        QUARANTINE_REGISTRY: registry.url,
        QUARANTINE_OWNED_PACKAGES: '@acme/*',
        GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','),
        QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','),
        QUARANTINE_UI_USERS: `alice:${ALICE_PASSWORD},bob:${BOB_PASSWORD}`,
        QUARANTINE_UI_APPROVERS: 'alice',
      },
      0,
    );
    intake = await startIntake(config, { logger: false, client });
  });
  afterAll(async () => {
    await intake?.close();
    await worker?.stop();
    await closeClient?.();
    await registry?.stop();
  });

  // No Temporal for the command itself: were it to connect, it would fail.
  const asUser = (user: string, password: string) => ({ QUARANTINE_SERVER: intake.url, QUARANTINE_SERVER_USER: user, QUARANTINE_SERVER_PASSWORD: password, TEMPORAL_ADDRESS: '127.0.0.1:1', QUARANTINE_REGISTRY: undefined });

  it('contains a release through the server, in JSON and as text, with no Temporal connection of its own', async () => {
    const json = await runCli(['@acme/utils@1.2.0', '--reason', 'stolen token published a stealer', '--json'], asUser('alice', ALICE_PASSWORD));
    expect(json.code).toBe(0);
    const view = jsonOf<PlaybookView & { contained: boolean; new: boolean }>(json);
    expect(view).toMatchObject({ status: 'contained', contained: true, new: true });
    expect(view.reports[0]!.requestedBy).toBe('api:alice');
    const utils = await npmView(npmCli(registry.url), '@acme/utils', ['1.2.0']);
    expect(utils.deprecated['1.2.0']).toMatch(/^SECURITY: this release is compromised.*stolen token published a stealer/);
    expect(utils.distTags.latest).toBe('1.0.0');

    const text = await runCli(['@acme/cli@2.0.1'], asUser('alice', ALICE_PASSWORD));
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/incident compromise-@acme\/cli@2\.0\.1-[0-9a-f]+ \(run [0-9a-f-]+, through http:\/\/127\.0\.0\.1:\d+\)/);
    expect(text.stdout).toMatch(/status {4}contained: contained, read back/);
    expect((await npmView(npmCli(registry.url), '@acme/cli', ['2.0.1'])).distTags.latest).toBe('2.0.0');
  });

  it('refuses a wrong login, a user who may not decide, a bad spec and another registry, and writes nothing', async () => {
    const attempts: [Record<string, string | undefined>, string[], RegExp][] = [
      [asUser('alice', 'not-alice-password'), ['@acme/core@1.2.3'], /refused the login of alice/],
      [asUser('bob', BOB_PASSWORD), ['@acme/core@1.2.3'], /refused the report \(403\): bob is not an approver here/],
      [asUser('alice', ALICE_PASSWORD), ['@acme/core@latest'], /"latest" is not an exact semver version/],
      [asUser('alice', ALICE_PASSWORD), ['@acme/core@1.2.3', '--registry', 'https://registry.example.org/'], /refused the report \(400\): this server contains releases on http:\/\/127\.0\.0\.1:\d+\/ only/],
      [{ ...asUser('alice', ALICE_PASSWORD), QUARANTINE_SERVER_PASSWORD: undefined }, ['@acme/core@1.2.3'], /QUARANTINE_SERVER_USER and QUARANTINE_SERVER_PASSWORD/],
    ];
    for (const [env, args, said] of attempts) {
      const result = await runCli(args, env);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toMatch(said);
    }
    const core = await npmView(npmCli(registry.url), '@acme/core', ['1.2.3']);
    expect(core.deprecated['1.2.3']).toBeUndefined();
    expect(core.distTags.latest).toBe('1.2.3');
  });
});
