// Runs the intake server: journal, incident index, drainer into Temporal, HTTP.
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { FastifyInstance } from 'fastify';
import { bodyDeliveryKey, buildIntakeServer } from './app';
import type { ServeConfig } from './config';
import { DeadLetters, Drainer, type PendingEntry } from './drainer';
import { ENDPOINTS } from './endpoints';
import type { ApprovalsOptions } from './approvals';
import { UiAccess } from './auth';
import type { TimelineViewOptions } from './timeline-view';
import { SealedSecretCodec } from '../worker/secret-codec';
import { IncidentIndex, type IndexSnapshot } from './incident-index';
import { Journal, type JournalDisk } from './journal';
import { startSbomIngester } from './sbom-ingest';
import { INDEX_FILE } from '../store/sqlite-store';
import { DEFAULT_POLICY } from '../core/playbook/policy';

export interface RunningIntake {
  app: FastifyInstance;
  url: string;
  drainer: Drainer;
  close(): Promise<void>;
}

export interface IntakeOptions {
  logger?: boolean;
  client?: Client;
  /** The journal's syscalls (tests put a failing disk there). */
  journalDisk?: JournalDisk;
}

export async function startIntake(config: ServeConfig, options: IntakeOptions = {}): Promise<RunningIntake> {
  let app: FastifyInstance | undefined = undefined;
  // Before the server exists (reading the journal at start), warnings go to stderr as JSON lines.
  const log = (msg: string, fields?: Record<string, unknown>): void => {
    if (app) app.log.warn(fields ?? {}, msg);
    else if (options.logger !== false) console.error(JSON.stringify({ level: 'warn', msg, ...fields }));
  };
  const index = new IncidentIndex();
  const backlog: PendingEntry[] = [];
  // The journal is read once, entry by entry: the index is rebuilt and the undelivered routes queued.
  const journal = new Journal(join(config.dataDir, 'intake'), {
    disk: options.journalDisk,
    snapshotState: () => index.snapshot(),
    recover: {
      snapshot: (state) => index.restore(state as IndexSnapshot),
      entry: (entry, undelivered) => {
        index.replay(entry.deliveryId, entry.routes);
        if (entry.bodySha256) index.recordDelivery(bodyDeliveryKey(entry.source, entry.bodySha256), entry.routes.map((r) => r.incident));
        if (undelivered.length > 0) backlog.push({ entry, routes: undelivered });
      },
    },
    log,
  });
  const deadLetters = new DeadLetters(join(config.dataDir, 'intake', 'dead-letters.jsonl'));
  const sboms = startSbomIngester({ indexFile: join(config.dataDir, INDEX_FILE), secrets: config.secrets.standard });

  let connection: Connection | undefined;
  let client = options.client;
  let temporalAddress: string | undefined;
  if (!client) {
    const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
    temporalAddress = connectionOptions.address ?? 'localhost:7233';
    connection = await Connection.connect(connectionOptions);
    client = new Client({ connection, namespace });
  }
  // Decisions go through a client of their own over the same connection: its codec seals the one-time
  // passwords they carry, as the CLI's does, so Temporal's history holds them encrypted.
  const access = config.ui ? new UiAccess(config.ui.approvers ? new Set(config.ui.approvers) : undefined) : undefined;
  const temporalTarget = temporalAddress ? { temporal: { address: temporalAddress, namespace: client.options.namespace } } : {};
  const timelineView: TimelineViewOptions = config.ui ? { users: config.ui.users, access, client, ...temporalTarget } : {};
  const approvals: ApprovalsOptions = config.ui
    ? {
        users: config.ui.users,
        access,
        client: new Client({ connection: client.connection, namespace: client.options.namespace, dataConverter: { payloadCodecs: [new SealedSecretCodec(config.ui.secretKey)] } }),
        reports: { taskQueue: config.taskQueue, registry: config.registry, policy: config.policy ?? DEFAULT_POLICY },
        ...(temporalAddress ? { temporal: { address: temporalAddress, namespace: client.options.namespace } } : {}),
      }
    : {};
  const drainer = new Drainer({ client, journal, deadLetters, backlog, taskQueue: config.taskQueue, signalsPerSecond: config.signalsPerSecond, policy: config.policy, log });
  const runtime = watchRuntime();
  app = buildIntakeServer({ config, endpoints: ENDPOINTS, journal, index, drainer, sboms, approvals, timelineView, logger: options.logger ?? false, runtimeTimings: runtime.read });
  if (config.ui) {
    app.log.info({ users: config.ui.users.names.length, approvers: config.ui.approvers?.length ?? 'every user' }, 'the timeline view (/incidents) and decisions over /api/incidents/:id/approve|reject|rollback: on, for the users of QUARANTINE_UI_USERS');
    if (!isLoopback(config.host)) app.log.warn('HTTP Basic passwords travel in clear over http: serve /api behind a TLS proxy when HOST is not this machine');
  } else {
    app.log.info('the timeline view and decisions over /api are off: set QUARANTINE_UI_USERS to turn them on');
  }
  drainer.start();
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const server = app;
  return {
    app: server,
    url: `http://${config.host}:${port}`,
    drainer,
    async close() {
      runtime.stop();
      await server.close();
      await drainer.stop();
      await journal.close();
      await sboms.close();
      await connection?.close();
    },
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Event-loop delay and garbage-collection pauses, read (and reset) by /readyz: an acknowledgement that
 * took long either waited for the disk (the journal's commit times) or for this process.
 */
function watchRuntime(): { read: () => Record<string, unknown>; stop: () => void } {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let pauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const ms = (n: number) => Number(n.toFixed(1));
  return {
    read() {
      const taken = pauses;
      pauses = [];
      const read = {
        eventLoopDelay: { p50: ms(delay.percentile(50) / 1e6), p99: ms(delay.percentile(99) / 1e6), max: ms(delay.max / 1e6) },
        gcPauses: { count: taken.length, total: ms(taken.reduce((a, b) => a + b, 0)), max: ms(Math.max(0, ...taken)) },
      };
      delay.reset();
      return read;
    },
    stop() {
      delay.disable();
      gc.disconnect();
    },
  };
}
