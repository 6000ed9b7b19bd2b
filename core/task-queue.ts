// The default task queue, apart from the workflow definitions: reading it must not load the Temporal
// SDK (the CLI's path through `quarantine serve` loads none of it).
export const TASK_QUEUE = 'quarantine';
