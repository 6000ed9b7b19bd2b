// Handing writes to a package's writer (workflows/package-writer.ts). One external system: Temporal.
// Signal-with-start: a running writer queues the request, an idle or finished one is started for it.
import type { Client } from '@temporalio/client';
import { packageWriterId } from '../core/incident-id';
import type { PackageWriteRequest, PackageWriterActivities, SealedSecret } from '../core/playbook/ports';
import { packageWriteSignal } from '../workflows/definitions';
import type { packageWriterWorkflow } from '../workflows/package-writer';

/** `client` must seal passwords (the worker's client carries the secret codec): the request lands in the writer's history. */
export function createPackageWriterActivities(client: Client, taskQueue: string, writerIdleTimeoutMs?: number): PackageWriterActivities {
  return {
    async requestPackageWrites(request: PackageWriteRequest, otp?: SealedSecret): Promise<void> {
      // Safe to retry: the writer runs a request id once, however often it is delivered.
      await client.workflow.signalWithStart<typeof packageWriterWorkflow, [PackageWriteRequest, SealedSecret?]>('packageWriterWorkflow', {
        workflowId: packageWriterId(request.registry, request.name),
        taskQueue,
        args: [{ registry: request.registry, name: request.name, ...(writerIdleTimeoutMs !== undefined ? { idleTimeoutMs: writerIdleTimeoutMs } : {}) }],
        signal: packageWriteSignal,
        signalArgs: otp ? [request, otp] : [request],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
    },
  };
}
