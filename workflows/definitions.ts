// Names shared by the workflow and its clients (CLI, server, tests).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IncidentView, Report } from '../core/incident';

export const TASK_QUEUE = 'quarantine';
export const timelineQuery = defineQuery<IncidentView>('timeline');
/** Further reports of the same compromise join the open incident, in batches. */
export const reportSignal = defineSignal<[Report[]]>('reports');
/**
 * A report from a caller who waits for the answer (the CLI): joins the incident like the signal, then
 * completes once containment has an outcome that includes this report.
 */
export const reportAndAwaitOutcome = defineUpdate<IncidentView, [Report]>('reportAndAwaitOutcome');
/** Closes an incident: no more reports join it. */
export const closeSignal = defineSignal<[string]>('close');
