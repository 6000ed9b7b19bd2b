// Which Temporal server a bench runs against: one it starts itself (the dev server, default), or one
// already running that it did not start (`--temporal-address HOST:PORT [--temporal-namespace NS]`):
// a deployment's server, or a dev server a person started by hand. The numbers are asked for
// on a server the project did not start.
import { Connection } from '@temporalio/client';
import { startTemporalDevServer } from '../stack/temporal-server';
import { ensureSearchAttributes } from '../worker/search-attributes';

export interface BenchTemporal {
  address: string;
  namespace: string;
  /** The server process when the bench started it (its CPU is then sampled); undefined otherwise. */
  pid?: number;
  /** Whether the bench started it. */
  started: boolean;
  stop(): Promise<void>;
}

export async function benchTemporal(address: string | undefined, namespace = 'default'): Promise<BenchTemporal> {
  if (address === undefined) {
    const server = await startTemporalDevServer();
    return { address: server.address, namespace: server.namespace, pid: server.pid, started: true, stop: () => server.stop() };
  }
  // Incidents set the product's search attributes: a server that lacks them gets them, as `quarantine worker` does.
  const connection = await Connection.connect({ address });
  try {
    await ensureSearchAttributes(connection.operatorService, { address, namespace });
  } finally {
    await connection.close();
  }
  return { address, namespace, started: false, stop: async () => undefined };
}
