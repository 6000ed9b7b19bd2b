// Reads an incident's view: live from the timeline query while the incident is open, from the
// workflow's result once it is closed (no worker needed then).
import type { WorkflowHandle } from '@temporalio/client';
import type { IncidentView } from '../core/incident';
import { timelineQuery } from '../workflows/definitions';

export async function readIncidentView(handle: WorkflowHandle): Promise<IncidentView> {
  const { status } = await handle.describe();
  if (status.name === 'RUNNING') return handle.query(timelineQuery);
  return (await handle.result()) as IncidentView;
}
