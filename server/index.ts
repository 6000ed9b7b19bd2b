// Runs the intake server: journal, incident index, drainer into Temporal, HTTP.
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { FastifyInstance } from 'fastify';
import { buildIntakeServer } from './app';
import type { ServeConfig } from './config';
import { Drainer } from './drainer';
import { ENDPOINTS } from './endpoints';
import { IncidentIndex } from './incident-index';
import { Journal } from './journal';
import { startSbomIngester } from './sbom-ingest';
import { INDEX_FILE } from '../store/sqlite-store';

export interface RunningIntake {
  app: FastifyInstance;
  url: string;
  drainer: Drainer;
  close(): Promise<void>;
}

export async function startIntake(config: ServeConfig, options: { logger?: boolean; client?: Client } = {}): Promise<RunningIntake> {
  const journal = new Journal(join(config.dataDir, 'intake'));
  const index = new IncidentIndex();
  const sboms = startSbomIngester({ indexFile: join(config.dataDir, INDEX_FILE), secrets: config.secrets.standard });
  const recovered = journal.takeRecovered();
  for (const entry of recovered) index.replay(entry.deliveryId, entry.routes);
  const backlog = recovered.filter((entry) => entry.seq > journal.deliveredSeq);

  let connection: Connection | undefined;
  let client = options.client;
  if (!client) {
    const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
    connection = await Connection.connect(connectionOptions);
    client = new Client({ connection, namespace });
  }
  let app: FastifyInstance | undefined = undefined;
  const drainer = new Drainer({ client, journal, backlog, taskQueue: config.taskQueue, signalsPerSecond: config.signalsPerSecond, log: (msg, fields) => app?.log.warn(fields ?? {}, msg) });
  app = buildIntakeServer({ config, endpoints: ENDPOINTS, journal, index, drainer, sboms, logger: options.logger ?? false });
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
      await server.close();
      await drainer.stop();
      await journal.close();
      await sboms.close();
      await connection?.close();
    },
  };
}
