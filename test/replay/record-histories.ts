// Records the histories of every scenario in scenarios.ts into test/replay/histories/<label>/, for
// test/replay.test.ts to replay against later workflow code. Not part of the test suite: run it with
//   REPLAY_HISTORY_LABEL=v2-<commit> npm run record:histories
// (REPLAY_SCENARIOS=name,name records only those). It runs on the jest stack (the seeded registry
// template), with a Temporal dev server of its own (see dev-server.ts).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { startIntake, type RunningIntake } from '../../server/index';
import type { LocalRegistry } from '../../stack/registry';
import { GITHUB_SECRETS, intakeConfig, STANDARD_SECRETS } from '../helpers/intake';
import { startInProcessWorker, testRegistry, type RunningWorker } from '../helpers/stack';
import type { TemporalDevServer } from '../../stack/temporal-server';
import { startRecorderServer } from './dev-server';
import { encodeHistoryFile, FORMAT, HISTORIES_DIR, toRecordedExecution, type HistoryFile, type RecordedExecution } from './history-files';
import { SCENARIOS, type Kept, type Scenario, type ScenarioContext } from './scenarios';

jest.setTimeout(300_000);

const label = process.env.REPLAY_HISTORY_LABEL ?? '';
const only = (process.env.REPLAY_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function endedRun(history: History): boolean {
  const last = history.events?.at(-1);
  return !!(last?.workflowExecutionCompletedEventAttributes || last?.workflowExecutionContinuedAsNewEventAttributes);
}

/** The file's text with every payload decoded: payload data is base64 in the file, and a secret must be found there too. */
function searchableText(value: unknown): string {
  const parts: string[] = [];
  const walk = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      parts.push(node);
      if (key === 'data') parts.push(Buffer.from(node, 'base64').toString('utf8'));
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, key);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, k);
    }
  };
  walk(value, '');
  return parts.join('\n');
}

/** Every run of the workflow id's latest chain, oldest first: each run's start names the one it continues. */
async function chainOf(client: Client, workflowId: string): Promise<RecordedExecution[]> {
  const runs: RecordedExecution[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    if (!endedRun(history)) throw new Error(`${workflowId} run ${runId} has not ended: a scenario closes every workflow it keeps`);
    runs.unshift(toRecordedExecution(workflowId, runId, history));
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

async function record(scenario: Scenario, client: Client): Promise<HistoryFile> {
  const registry: LocalRegistry = await testRegistry();
  const workers: RunningWorker[] = [];
  const intakes: RunningIntake[] = [];
  // A fixed task queue: it is in the history, and each recording has a server of its own.
  const taskQueue = `replay-${scenario.name}`;
  const ctx: ScenarioContext = {
    client,
    registry,
    taskQueue,
    async worker(options = {}) {
      const token = options.token === null ? undefined : (options.token ?? registry.tokens.admin);
      const started = await startInProcessWorker({ registry: registry.url, token, taskQueue, ...(options.dataDir ? { dataDir: options.dataDir } : {}), ...(options.more ? { more: options.more } : {}) });
      // A scenario may stop a worker itself (to hand its task queue to another); the clean-up stops the rest.
      let stopping: Promise<void> | undefined;
      const worker: RunningWorker = { worker: started.worker, stop: () => (stopping ??= started.stop()) };
      workers.push(worker);
      return worker;
    },
    async intake() {
      const intake = await startIntake(intakeConfig({ registry: registry.url, taskQueue }), { client });
      intakes.push(intake);
      return intake;
    },
  };
  try {
    return await historyFileOf(scenario, client, await scenario.run(ctx), registry);
  } finally {
    // Everything is stopped even when one stop fails: a worker left polling outlives the server.
    const stopped = await Promise.allSettled([...intakes.map((i) => i.close()), ...workers.map((w) => w.stop())]);
    await registry.stop();
    for (const outcome of stopped) if (outcome.status === 'rejected') console.error(`${scenario.name}: clean-up failed`, outcome.reason);
  }
}

async function historyFileOf(scenario: Scenario, client: Client, kept: Kept[], registry: LocalRegistry): Promise<HistoryFile> {
  const executions: RecordedExecution[] = [];
  for (const { workflowId, runs } of kept) {
    const chain = await chainOf(client, workflowId);
    if (chain.length !== runs) throw new Error(`${scenario.name}: ${workflowId} has ${chain.length} run(s), the scenario expects ${runs}`);
    executions.push(...chain);
  }
  const file: HistoryFile = { format: FORMAT, label, scenario: scenario.name, description: scenario.description, executions };
  const text = searchableText(file);
  for (const secret of [registry.tokens.admin, registry.tokens.reader, ...GITHUB_SECRETS, ...STANDARD_SECRETS]) {
    if (text.includes(secret)) throw new Error(`${scenario.name}: a secret is in the recorded history; nothing written`);
  }
  return file;
}

describe(`record replay histories into test/replay/histories/${label || '<label>'}`, () => {
  let server: TemporalDevServer;
  let connection: Connection;
  let client: Client;
  const dir = join(HISTORIES_DIR, label);

  beforeAll(async () => {
    // A letter after the version (v2b) keeps a second recording of the same code apart from the first.
    if (!/^v\d+[a-z]?-[0-9a-f]{7,40}$/.test(label)) {
      throw new Error('set REPLAY_HISTORY_LABEL to v<N>[letter]-<short commit of the workflow code>, e.g. REPLAY_HISTORY_LABEL=v2-1a2b3c4 npm run record:histories');
    }
    const unknown = only.filter((name) => !SCENARIOS.some((s) => s.name === name));
    if (unknown.length > 0) throw new Error(`REPLAY_SCENARIOS names no scenario: ${unknown.join(', ')}`);
    server = await startRecorderServer();
    // The test helpers (workers, CLI) find Temporal through this variable: point them at the recorder's server.
    process.env.QUARANTINE_TEST_TEMPORAL_ADDRESS = server.address;
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    mkdirSync(dir, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    await server?.stop();
  });

  for (const scenario of SCENARIOS.filter((s) => only.length === 0 || only.includes(s.name))) {
    const available = scenario.available?.() ?? true;
    // Not a test: a scenario this code cannot run yet (the idle-timeout hooks) is listed as skipped.
    (available ? it : it.skip)(scenario.name, async () => {
      const { name, bytes } = encodeHistoryFile(await record(scenario, client));
      for (const stale of [`${scenario.name}.json`, `${scenario.name}.json.gz`]) {
        if (stale !== name && existsSync(join(dir, stale))) rmSync(join(dir, stale));
      }
      writeFileSync(join(dir, name), bytes);
      console.log(`${scenario.name}: ${name}, ${bytes.length} bytes`);
    });
  }
});
