// Reads an incident's view: from the closed workflow's result (no worker needed) or, while it runs,
// from the live timeline query.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { IncidentView } from '../core/incident';
import { CONTAINMENT_FAILED, timelineQuery } from '../workflows/definitions';

/** The view a finished incident ended with, whether it succeeded or failed. */
export async function finalView(handle: WorkflowHandle): Promise<IncidentView> {
  try {
    return (await handle.result()) as IncidentView;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure && err.cause.type === CONTAINMENT_FAILED) {
      const view = err.cause.details?.[0] as IncidentView | undefined;
      if (view) return view;
    }
    throw err;
  }
}

export async function readIncidentView(handle: WorkflowHandle): Promise<IncidentView> {
  const { status } = await handle.describe();
  if (status.name === 'RUNNING') return handle.query(timelineQuery);
  return finalView(handle);
}
