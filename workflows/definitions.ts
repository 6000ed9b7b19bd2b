// Names shared by the workflow and its clients (CLI, server, tests).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IncidentView, Report } from '../core/incident';

export const TASK_QUEUE = 'quarantine';
export const timelineQuery = defineQuery<IncidentView>('timeline');
/** Further reports of the same compromise join the open incident, in batches. */
export const reportSignal = defineSignal<[Report[]]>('reports');
/** Closes an incident: no more reports join it. */
export const closeSignal = defineSignal<[string]>('close');
