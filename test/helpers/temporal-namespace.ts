// A namespace of this test run's own on a Temporal server it did not start: registered, given the
// product's search attributes as `quarantine worker` gives them, and removed again at the end.
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { randomBytes } from 'node:crypto';
import { ensureSearchAttributes } from '../../worker/search-attributes';

export interface RunNamespace {
  address: string;
  namespace: string;
  stop(): Promise<void>;
}

/** How long the server keeps this run's closed incidents (its shortest allowed retention is a day). */
const RETENTION = '1 day';

export async function runNamespaceOn(address: string, { readyMs = 30_000 } = {}): Promise<RunNamespace> {
  const namespace = `quarantine-test-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(3).toString('hex')}`;
  const connection = await Connection.connect({ address }).catch((err: Error) => {
    throw new Error(`QUARANTINE_TEST_TEMPORAL_ADDRESS=${address}: no Temporal server answers there (${err.message})`);
  });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(RETENTION) });
    // A new namespace reaches the frontend's namespace cache a few seconds after it is registered; until
    // then calls that resolve it there (visibility, starts, polls) answer "namespace not found".
    const deadline = Date.now() + readyMs;
    for (;;) {
      try {
        await connection.workflowService.countWorkflowExecutions({ namespace });
        await ensureSearchAttributes(connection.operatorService, { address, namespace });
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} on ${address} was not ready after ${readyMs} ms: ${(err as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  } finally {
    await connection.close();
  }
  return {
    address,
    namespace,
    async stop() {
      const closing = await Connection.connect({ address });
      try {
        await closing.operatorService.deleteNamespace({ namespace });
      } catch {
        // A server that does not allow deleting namespaces keeps it until its retention ends.
      } finally {
        await closing.close();
      }
    },
  };
}
