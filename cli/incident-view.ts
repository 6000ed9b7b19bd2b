// Reads an incident's view: live from its query while the incident is open, from the workflow's
// result once it is closed (no worker needed then).
import type { WorkflowHandle } from '@temporalio/client';
import type { IncidentView } from '../core/incident';
import type { PlaybookView } from '../core/playbook/view';
import { playbookQuery, timelineQuery } from '../workflows/definitions';
import { watchQuery, type WatchView } from '../workflows/watch-incident';

export type AnyIncidentView = { type: 'containment'; view: IncidentView } | { type: 'watch'; view: WatchView } | { type: 'playbook'; view: PlaybookView };

export async function readAnyIncidentView(handle: WorkflowHandle): Promise<AnyIncidentView> {
  const { status, type } = await handle.describe();
  const running = status.name === 'RUNNING';
  if (type === 'playbookWorkflow') {
    return { type: 'playbook', view: running ? await handle.query(playbookQuery) : ((await handle.result()) as PlaybookView) };
  }
  if (type === 'watchIncidentWorkflow') {
    return { type: 'watch', view: running ? await handle.query(watchQuery) : ((await handle.result()) as WatchView) };
  }
  return { type: 'containment', view: running ? await handle.query(timelineQuery) : ((await handle.result()) as IncidentView) };
}

export async function readIncidentView(handle: WorkflowHandle): Promise<IncidentView> {
  const read = await readAnyIncidentView(handle);
  if (read.type === 'playbook') throw new Error(`${handle.workflowId} is a playbook incident: read it with readAnyIncidentView`);
  if (read.type !== 'containment') throw new Error(`${handle.workflowId} is a ${read.view.kind} incident, not a containment`);
  return read.view;
}
