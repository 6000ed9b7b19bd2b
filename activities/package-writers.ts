// Handing writes to the writers of their packages (workflows/package-writer.ts). One external system:
// Temporal. Signal-with-start: a running writer takes the request, an idle or finished one is started.
import type { Client } from '@temporalio/client';
import { packageWriterId } from '../core/incident-id';
import type { PackageWriteRequest, PackageWriterActivities, PackageWrites, SealedSecret } from '../core/playbook/ports';
import { packageWriteSignal } from '../workflows/definitions';
import type { packageWriterWorkflow } from '../workflows/package-writer';

/** `client` must seal passwords (the worker's client carries the secret codec): the request lands in the writers' histories. */
export function createPackageWriterActivities(client: Client, taskQueue: string, writerIdleTimeoutMs?: number): PackageWriterActivities {
  return {
    async requestPackageWrites(request: PackageWriteRequest, otp?: SealedSecret): Promise<number> {
      const byWriter = new Map<string, PackageWrites[]>();
      for (const write of request.writes) {
        const writer = packageWriterId(request.registry, write.name, taskQueue);
        byWriter.set(writer, [...(byWriter.get(writer) ?? []), write]);
      }
      // Safe to retry: a writer runs a request id once, however often it is delivered.
      await Promise.all(
        [...byWriter].map(([workflowId, writes]) => {
          const part: PackageWriteRequest = { ...request, writes };
          return client.workflow.signalWithStart<typeof packageWriterWorkflow, [PackageWriteRequest, SealedSecret?]>('packageWriterWorkflow', {
            workflowId,
            taskQueue,
            args: [{ registry: request.registry, ...(writerIdleTimeoutMs !== undefined ? { idleTimeoutMs: writerIdleTimeoutMs } : {}) }],
            signal: packageWriteSignal,
            signalArgs: otp ? [part, otp] : [part],
            workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          });
        }),
      );
      return byWriter.size;
    },
  };
}
