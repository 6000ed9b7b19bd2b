// The CLI's Temporal client, configured like every Temporal tool: @temporalio/envconfig
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, profiles).
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';

export async function connectClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
  const connection = await Connection.connect(connectionOptions);
  return { client: new Client({ connection, namespace }), close: () => connection.close() };
}
