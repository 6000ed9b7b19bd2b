// The worker bundles this file: every workflow the product runs is exported here.
export { incidentWorkflow } from './incident';
export { watchIncidentWorkflow } from './watch-incident';
export { playbookWorkflow } from './playbook';
export { packageWriterWorkflow } from './package-writer';
