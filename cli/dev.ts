// `quarantine dev` (what `npm start` runs): the whole product on embedded defaults, no account and no
// network. A Temporal dev server with its Web UI, a seeded local registry, a worker, one demo incident.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { normalizeRegistryUrl } from '../core/registry-url';
import { defaultDataDir } from '../store/paths';
import { FIXTURE_BUILDS } from '../stack/provenance-mint';
import { startSeededRegistry, type LocalRegistry } from '../stack/registry';
import { startTemporalDevServer, type TemporalDevServer } from '../stack/temporal-server';
import { workerConfigFromEnv } from '../worker/config';
import { createWorker } from '../worker/index';
import { TASK_QUEUE } from '../workflows/definitions';
import { userInfo } from 'node:os';
import { policyFromEnv } from '../app/policy';
import type { Policy } from '../core/playbook/policy';
import { REGISTRY_OTP } from '../stack/registry';
import type { Output } from './contain';
import { serveConfigFromEnv } from '../server/config';
import { startIntake } from '../server/index';
import { provenanceCommand } from './provenance';
import { onCallRequestFor, reportOnCall } from './report';

export const DEMO_RELEASE = '@acme/core@1.2.3';
const DEMO_PACKAGES = ['@acme/core', '@acme/cli', '@acme/utils', '@acme/solo'];

export async function runDev(output: Output, { once = false } = {}): Promise<number> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    output.err('\nstopping everything quarantine dev started ...');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    output.err('starting the Temporal dev server (with its Web UI) ...');
    const temporal: TemporalDevServer = await startTemporalDevServer({ ui: true, log: output.err });
    stops.push(temporal.stop);
    output.err('starting a local npm registry (Verdaccio) and publishing the demo packages with the npm CLI ...');
    const registry: LocalRegistry = await startSeededRegistry();
    stops.push(registry.stop);

    const connection = await NativeConnection.connect({ address: temporal.address });
    stops.push(() => connection.close());
    // The dev registry is thrown away on exit: its releases get an index of their own, not the user's.
    const dataDir = join(defaultDataDir(process.env), 'dev');
    const devEnv = {
      QUARANTINE_DATA_DIR: dataDir,
      QUARANTINE_SIGSTORE_TRUSTED_ROOT: registry.sigstore.trustedRoot,
      QUARANTINE_NPM_KEYS: registry.sigstore.npmKeys,
    };
    // One policy for everything this run starts: the demo report, the worker's watches and the intake's
    // alerts. QUARANTINE_POLICY if set; else the safe default with you as its approver, so that what waits
    // for a person can be tried out.
    const you = userInfo().username;
    const base = policyFromEnv(process.env);
    const policy: Policy = process.env.QUARANTINE_POLICY ? base : { ...base, approvers: [{ name: you, may: ['all'] }] };
    const config = { ...workerConfigFromEnv({ QUARANTINE_REGISTRY: registry.url, NPM_TOKEN: registry.tokens.admin, QUARANTINE_TASK_QUEUE: TASK_QUEUE, ...devEnv }), policy };
    output.err(`indexing the demo packages' provenance into ${dataDir} ...`);
    const quiet: Output = { out: () => undefined, err: output.err };
    await provenanceCommand(['sync', ...DEMO_PACKAGES, '--registry', registry.url], quiet, { ...process.env, ...devEnv });
    const worker = await createWorker({ connection, namespace: temporal.namespace, config });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    });

    const clientConnection = await Connection.connect({ address: temporal.address });
    stops.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: temporal.namespace });

    output.err(`\ndemo incident: ${DEMO_RELEASE} was reported compromised\n`);
    const built = onCallRequestFor({
      specs: [DEMO_RELEASE],
      reason: 'demo: a stolen token published a credential stealer',
      registry: normalizeRegistryUrl(registry.url),
      planOnly: false,
      policy,
    });
    // The timeline view (and the alert intake beside it), with a login made up for this run only.
    const password = randomBytes(12).toString('base64url');
    const serveConfig = {
      ...serveConfigFromEnv(
        {
          ...devEnv,
          QUARANTINE_REGISTRY: registry.url,
          QUARANTINE_TASK_QUEUE: TASK_QUEUE,
          QUARANTINE_OWNED_PACKAGES: '@acme/*',
          QUARANTINE_UI_USERS: `${you}:${password}`,
          QUARANTINE_UI_APPROVERS: you,
          GITHUB_WEBHOOK_SECRETS: randomBytes(32).toString('hex'),
          QUARANTINE_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString('base64')}`,
        },
        0,
      ),
      policy,
    };
    const intake = await startIntake(serveConfig, { logger: false, client });
    stops.push(() => intake.close());
    const code = await reportOnCall(client, built, { json: false, taskQueue: TASK_QUEUE, waitMs: 120_000 }, output);
    const cli = `TEMPORAL_ADDRESS=${temporal.address} QUARANTINE_DATA_DIR=${dataDir} npx quarantine`;
    output.out(`
where to look:
  Temporal Web UI   ${temporal.uiUrl ?? '(headless)'}/namespaces/default/workflows
  incident timeline ${new URL(`incidents/${encodeURIComponent(built.incident)}`, intake.url.endsWith('/') ? intake.url : `${intake.url}/`).href}   (log in as ${you}, password ${password}: made up for this run)
  registry          ${registry.url}
  the deprecation   npm view @acme/core@1.2.3 deprecated --registry ${registry.url}
  the dist-tags     npm dist-tag ls @acme/core --registry ${registry.url}
  approve the rest  ${cli} approve ${built.incident} --otp ${REGISTRY_OTP}   (the demo registry's one-time password)
  or roll it back   ${cli} rollback ${built.incident} --otp ${REGISTRY_OTP}
  try several       ${cli} @acme/cli@2.0.1 @acme/utils@1.2.0 --registry ${registry.url}
  via the server    QUARANTINE_SERVER=${intake.url} QUARANTINE_SERVER_USER=${you} QUARANTINE_SERVER_PASSWORD=${password} npx quarantine @acme/utils@1.2.0   (on call: no Temporal client to load, no Temporal credentials)
  their timeline    ${cli} timeline @acme/cli@2.0.1 --registry ${registry.url}
  blast radius      QUARANTINE_DATA_DIR=${dataDir} npx quarantine affected --run ${FIXTURE_BUILDS.poisoned.runId}   (what the poisoned build made)
  suspect publishers QUARANTINE_DATA_DIR=${dataDir} npx quarantine affected --publisher
`);
    if (once) return code;
    output.err('everything keeps running; press Ctrl-C to stop it all');
    while (!interrupted) await new Promise((r) => setTimeout(r, 200));
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }
}
