// The CLI's Temporal client, configured like every Temporal tool: @temporalio/envconfig
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profiles).
import { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { describeTemporalFailure, grpcStatusOf, GrpcStatus, TemporalRefusal, type TemporalTarget } from '../worker/temporal-refusal';

export interface ConnectedClient {
  client: Client;
  target: TemporalTarget;
  close(): Promise<void>;
}

/**
 * Connects and checks that the namespace exists, so that a missing namespace is said as such (the
 * SDK would report it as "no such workflow"). Every failure is a TemporalRefusal (one line).
 */
export async function connectClient(options: { payloadCodecs?: PayloadCodec[] } = {}): Promise<ConnectedClient> {
  const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
  const target: TemporalTarget = { address: connectionOptions.address ?? 'localhost:7233', namespace };
  const refusal = (err: unknown) => new TemporalRefusal(describeTemporalFailure(err, target) ?? `Temporal at ${target.address}: ${(err as Error).message}`);
  let connection: Connection;
  try {
    connection = await Connection.connect(connectionOptions);
  } catch (err) {
    throw refusal(err);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace });
  } catch (err) {
    // A credential scoped to its namespace may not describe it; the command's own call then decides.
    const code = grpcStatusOf(err)?.code;
    if (code !== GrpcStatus.PERMISSION_DENIED && code !== GrpcStatus.UNIMPLEMENTED) {
      await connection.close();
      throw refusal(err);
    }
  }
  const client = new Client({ connection, namespace, ...(options.payloadCodecs ? { dataConverter: { payloadCodecs: options.payloadCodecs } } : {}) });
  return { client, target, close: () => connection.close() };
}
