// A worker pointed at a Temporal server the project did not set up: a second dev server started here
// WITHOUT the incidents' search attributes (the global set-up's server has them). The worker, run as
// deployed (`node bin/quarantine.js worker`), creates them and incidents are contained; what it cannot
// fix it refuses in one line; and the CLI says every Temporal refusal in one line, never a gRPC dump.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { LocalRegistry } from '../stack/registry';
import { freePort } from '../stack/ports';
import { ensureTemporalCli } from '../stack/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer } from '../stack/temporal-server';
import { workerConfigFromEnv } from '../worker/config';
import { createWorker } from '../worker/index';
import { createCommand, ensureSearchAttributes, searchAttributeGap, type SearchAttributeOperator } from '../worker/search-attributes';
import { REFUSED_EXIT_CODE } from '../worker/temporal-refusal';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { startUntilReadyOrExit } from './helpers/cli-process';
import { CLI, jsonOf, npmCli, runCli, testRegistry, uniqueTaskQueue, type CliResult } from './helpers/stack';

const run = promisify(execFile);
const KEYWORD = 2;
const TEXT = 1;
const READY = /quarantine worker: task queue /;

/** `temporal server start-dev` as an operator would run it: no --search-attribute, two extra namespaces. */
function startBareTemporal(namespaces: string[]): Promise<TemporalDevServer> {
  return startTemporalDevServer({ searchAttributes: false, namespaces, startTimeoutMs: 60_000 });
}

function lines(text: string): string[] {
  return text.trim().split('\n').filter(Boolean);
}

/** The CLI's answer to a refusal: exit 5 and exactly one line, no stack, no gRPC metadata. */
function expectOneLineRefusal(result: { code: number | null | undefined; stderr: string }, pattern: RegExp): void {
  expect({ code: result.code, lines: lines(result.stderr) }).toEqual({ code: REFUSED_EXIT_CODE, lines: [expect.stringMatching(pattern)] });
  expect(result.stderr).not.toMatch(/\n\s+at |metadata|Metadata|grpc-status|internalRepr/);
}

let bare: TemporalDevServer;
/** The bare server's own `default` namespace, whatever namespace the rest of the run uses. */
const onBare = () => ({ TEMPORAL_ADDRESS: bare.address, TEMPORAL_NAMESPACE: 'default' });
let operator: Connection;
let dataDir: string;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  bare = await startBareTemporal(['wrong-type', 'bare']);
  operator = await Connection.connect({ address: bare.address });
  dataDir = mkdtempSync(join(tmpdir(), 'quarantine-temporal-setup-'));
}, 120_000);

afterAll(async () => {
  await operator?.close();
  await bare?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const customAttributes = async (namespace: string) =>
  (await operator.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};

describe('quarantine worker on a server without the search attributes', () => {
  let registry: LocalRegistry;
  const taskQueue = uniqueTaskQueue('bare-server');
  const workerEnv = () => ({
    ...onBare(),
    QUARANTINE_REGISTRY: registry.url,
    NPM_TOKEN: registry.tokens.admin,
    QUARANTINE_TASK_QUEUE: taskQueue,
    QUARANTINE_DATA_DIR: dataDir,
  });

  beforeAll(async () => {
    registry = await testRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('creates them at start, and an incident is contained through it', async () => {
    expect(Object.keys(await customAttributes('default'))).toEqual([]);
    const worker = await startUntilReadyOrExit(CLI, ['worker'], workerEnv(), READY);
    try {
      expect(worker.exitCode).toBeUndefined();
      expect(worker.stderr()).toContain('created the search attributes QuarantinePackage, QuarantineStatus on namespace default');
      expect(await customAttributes('default')).toEqual({ QuarantinePackage: KEYWORD, QuarantineStatus: KEYWORD });

      const result = await runCli(['@acme/core@1.2.3', '--registry', registry.url, '--json'], { ...onBare(), QUARANTINE_TASK_QUEUE: taskQueue });
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
      expect(jsonOf(result)).toMatchObject({ status: 'contained', contained: true });
      expect((await npmCli(registry.url)(['view', '@acme/core@1.2.3', 'deprecated'])).trim()).toMatch(/^SECURITY: this release is compromised/);
    } finally {
      await worker.stop();
    }

    // Started again, it finds them and creates nothing.
    const again = await startUntilReadyOrExit(CLI, ['worker'], workerEnv(), READY);
    try {
      expect(again.exitCode).toBeUndefined();
      expect(again.stderr()).not.toContain('created the search attributes');
    } finally {
      await again.stop();
    }
  }, 180_000);

  it('refuses to start, in one line, when one has the wrong type', async () => {
    await operator.operatorService.addSearchAttributes({ namespace: 'wrong-type', searchAttributes: { QuarantineStatus: TEXT } });
    const worker = await startUntilReadyOrExit(CLI, ['worker'], { ...workerEnv(), TEMPORAL_NAMESPACE: 'wrong-type' }, READY);
    await worker.stop();
    expectOneLineRefusal({ code: worker.exitCode, stderr: worker.stderr() }, /^quarantine worker: namespace "wrong-type" on 127\.0\.0\.1:\d+ has search attributes of the wrong type \(QuarantineStatus is Text, quarantine needs Keyword\)/);
    // Nothing was added beside the wrong one.
    expect(await customAttributes('wrong-type')).toEqual({ QuarantineStatus: TEXT });
  }, 120_000);

  it('refuses to start, in one line, on a namespace that does not exist', async () => {
    const worker = await startUntilReadyOrExit(CLI, ['worker'], { ...workerEnv(), TEMPORAL_NAMESPACE: 'no-such-namespace' }, READY);
    await worker.stop();
    expectOneLineRefusal(
      { code: worker.exitCode, stderr: worker.stderr() },
      /^quarantine worker: Temporal at 127\.0\.0\.1:\d+ has no namespace "no-such-namespace": create it \(temporal operator namespace create --address 127\.0\.0\.1:\d+ --namespace no-such-namespace\) or set TEMPORAL_NAMESPACE$/,
    );
  }, 120_000);

  it('refuses to start, in one line, when nothing listens at the address', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const worker = await startUntilReadyOrExit(CLI, ['worker'], { ...workerEnv(), TEMPORAL_ADDRESS: closed }, READY);
    await worker.stop();
    expectOneLineRefusal({ code: worker.exitCode, stderr: worker.stderr() }, new RegExp(`^quarantine worker: cannot reach Temporal at ${closed} \\(connection refused\\)`));
  }, 120_000);
});

describe('the CLI says each Temporal refusal in one line', () => {
  const cli = (args: string[], env: Record<string, string>): Promise<CliResult> => runCli(args, { ...onBare(), ...env });

  it('an unreachable address', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    for (const args of [['timeline', '@acme/core@1.2.3'], ['close', 'token-0123abcd'], ['@acme/core@1.2.3', '--registry', 'http://127.0.0.1:9/']]) {
      expectOneLineRefusal(await cli(args, { TEMPORAL_ADDRESS: closed }), new RegExp(`^quarantine: cannot reach Temporal at ${closed} `));
    }
  }, 120_000);

  it('a namespace that does not exist (not "no such incident")', async () => {
    for (const args of [['timeline', '@acme/core@1.2.3'], ['@acme/core@1.2.3', '--registry', 'http://127.0.0.1:9/']]) {
      expectOneLineRefusal(await cli(args, { TEMPORAL_NAMESPACE: 'no-such-namespace' }), /^quarantine: Temporal at 127\.0\.0\.1:\d+ has no namespace "no-such-namespace"/);
    }
  }, 120_000);

  it('an incident whose workflow task fails on a worker that did not check the namespace (the old symptom)', async () => {
    // A worker built the old way (createWorker, no start-up check) on a namespace without the attributes:
    // every workflow task fails when it sets them. The CLI used to print the raw gRPC error object.
    expect(Object.keys(await customAttributes('bare'))).toEqual([]);
    const taskQueue = uniqueTaskQueue('no-attributes');
    const connection = await NativeConnection.connect({ address: bare.address });
    const config = workerConfigFromEnv({ QUARANTINE_REGISTRY: 'http://127.0.0.1:9/', QUARANTINE_TASK_QUEUE: taskQueue, QUARANTINE_DATA_DIR: dataDir });
    const worker: Worker = await createWorker({ connection, namespace: 'bare', config });
    const running = worker.run();
    try {
      const result = await cli(['@acme/core@1.2.3', '--registry', 'http://127.0.0.1:9/', '--dry-run', '--wait', '60'], { TEMPORAL_NAMESPACE: 'bare', QUARANTINE_TASK_QUEUE: taskQueue });
      expectOneLineRefusal(result, /^quarantine: the incident's workflow task failed on the worker/);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  }, 120_000);
});

describe('ensureSearchAttributes where the server may not create them', () => {
  // Temporal Cloud and servers with an authorizer refuse AddSearchAttributes: that refusal cannot be
  // produced by a dev server, so this operator lists from the real bare server and refuses the addition
  // the way such servers do (gRPC PERMISSION_DENIED).
  it('names the exact command to run, and adds nothing', async () => {
    const target = { address: bare.address, namespace: 'bare' };
    const refusing: SearchAttributeOperator = {
      listSearchAttributes: (request) => operator.operatorService.listSearchAttributes(request),
      addSearchAttributes: () => Promise.reject(Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7, details: 'Request unauthorized.' })),
    };
    await expect(ensureSearchAttributes(refusing, target)).rejects.toThrow(
      `namespace "bare" on ${bare.address} lacks the search attributes QuarantinePackage, QuarantineStatus and this worker may not create them ` +
        `(Temporal at ${bare.address} refused namespace "bare": permission denied (Request unauthorized.); check TEMPORAL_API_KEY, the TLS client certificate and the namespace's permissions); ` +
        `run: temporal operator search-attribute create --address ${bare.address} --namespace bare --name QuarantinePackage --type Keyword --name QuarantineStatus --type Keyword`,
    );
    expect(Object.keys(await customAttributes('bare'))).toEqual([]);
  });

  it('the command it names creates exactly what the worker needs', async () => {
    const target = { address: bare.address, namespace: 'bare' };
    const [binary, ...args] = [await ensureTemporalCli(), ...createCommand(target, SEARCH_ATTRIBUTES).split(' ').slice(1)];
    await run(binary!, args, { timeout: 30_000 });
    expect(searchAttributeGap(await customAttributes('bare'))).toEqual({ missing: [], wrongType: [] });
    await expect(ensureSearchAttributes(operator.operatorService, target)).resolves.toEqual({ outcome: 'present' });
  });
});

describe('searchAttributeGap', () => {
  it('tells missing from wrongly typed attributes', () => {
    expect(searchAttributeGap({})).toEqual({ missing: [...SEARCH_ATTRIBUTES], wrongType: [] });
    expect(searchAttributeGap({ QuarantinePackage: KEYWORD, QuarantineStatus: KEYWORD, Other: TEXT })).toEqual({ missing: [], wrongType: [] });
    expect(searchAttributeGap({ QuarantinePackage: TEXT })).toEqual({ missing: [SEARCH_ATTRIBUTES[1]], wrongType: [{ key: SEARCH_ATTRIBUTES[0], present: TEXT }] });
    // A name inherited from Object.prototype is not an attribute.
    expect(searchAttributeGap({}, [{ name: 'constructor', type: 'KEYWORD' }]).missing).toHaveLength(1);
  });
});
