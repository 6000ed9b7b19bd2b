// The intake server SIGKILLed in the middle of a storm, then restarted on the same data folder: every
// alert it acknowledged is in its incident afterwards, and none is there twice.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { freePort } from '../stack/ports';
import { stopChild } from '../stack/process';
import { watchQuery } from '../workflows/watch-incident';
import { GITHUB_SECRETS, STANDARD_SECRETS, sendStandard } from './helpers/intake';
import { startCliProcess, startInProcessWorker, testClient, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const startServer = (env: Record<string, string>, port: number) => startCliProcess(['serve', '--port', String(port)], env, 'listening on');

describe('the intake server killed during a storm', () => {
  const taskQueue = uniqueTaskQueue('crash');
  const servers: ChildProcess[] = [];
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;

  beforeAll(async () => {
    worker = await startInProcessWorker({ registry: process.env.QUARANTINE_TEST_REGISTRY_URL!, taskQueue });
    ({ client, close: closeClient } = await testClient());
  });
  afterAll(async () => {
    for (const server of servers) await stopChild(server);
    await worker?.stop();
    await closeClient?.();
  });

  it('loses no acknowledged alert and duplicates none', async () => {
    const env = {
      GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','),
      QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','),
      QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-crash-')),
      QUARANTINE_TASK_QUEUE: taskQueue,
      QUARANTINE_OWNED_PACKAGES: '@acme/*',
    };
    const port = await freePort();
    const first = await startServer(env, port);
    servers.push(first);
    const url = `http://127.0.0.1:${port}`;

    const acknowledged = new Map<string, string>(); // report id -> incident
    let sent = 0;
    let killed = false;
    const total = 600;
    const sender = async () => {
      while (sent < total) {
        const n = sent++;
        const id = `storm-${n}`;
        const body = JSON.stringify({ id: `scanner-${n}`, kind: 'malware', title: `storm ${n}`, package: { name: `crash-dep-${n % 30}`, versions: ['1.0.0'] } });
        try {
          const answer = await sendStandard(url, '/v1/alerts', body, { id });
          if (answer.status === 202) acknowledged.set(`generic:webhook:${id}/0:0`, answer.body.incidents![0]!.incident);
        } catch {
          // The server died with this request in flight: not acknowledged, so not promised.
        }
        if (!killed && acknowledged.size >= 200) {
          killed = true;
          first.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, sender));
    expect(killed).toBe(true);
    expect(acknowledged.size).toBeGreaterThanOrEqual(200);
    expect(acknowledged.size).toBeLessThan(total);

    const second = await startServer(env, port);
    servers.push(second);
    // The restarted server drains what the first one journalled but had not delivered.
    for (let i = 0; i < 300; i++) {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { backlog: number };
      if (ready.backlog === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const byIncident = new Map<string, string[]>();
    for (const [reportId, incident] of acknowledged) byIncident.set(incident, [...(byIncident.get(incident) ?? []), reportId]);
    for (const [incident, expected] of byIncident) {
      const view = await client.workflow.getHandle(incident).query(watchQuery);
      const ids = view.reports.map((r) => r.reportId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expect.arrayContaining(expected));
    }
  });
});
