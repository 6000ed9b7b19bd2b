// The shipped workflows with one change a careless edit could make: incidentWorkflow waits on a
// timer before anything else. Its command sequence differs from every recorded incident's, so the
// replay check must reject them; the watch, playbook and package-writer workflows are unchanged and must still replay.
import { sleep } from '@temporalio/workflow';
import { incidentWorkflow as shippedIncidentWorkflow } from '../../workflows/incident';

export { watchIncidentWorkflow } from '../../workflows/watch-incident';
export { playbookWorkflow } from '../../workflows/playbook';
export { packageWriterWorkflow } from '../../workflows/package-writer';

export async function incidentWorkflow(...args: Parameters<typeof shippedIncidentWorkflow>): ReturnType<typeof shippedIncidentWorkflow> {
  await sleep(1);
  return shippedIncidentWorkflow(...args);
}
