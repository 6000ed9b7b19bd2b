// `quarantine close <incident>`: ends an incident; a later report of the same compromise opens a new run.
import { userInfo } from 'node:os';
import type { Client } from '@temporalio/client';
import { oneCleanLine } from '../core/plan';
import { closeSignal } from '../workflows/definitions';
import type { Output } from './contain';
import { terminalSafe } from './render';

export async function close(client: Client, incident: string, reason: string | undefined, output: Output): Promise<number> {
  await client.workflow.getHandle(incident).signal(closeSignal, oneCleanLine(reason ?? `closed by cli:${userInfo().username}`));
  output.out(`closed ${terminalSafe(incident)}`);
  return 0;
}
