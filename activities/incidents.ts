// Opening the containment of a dependency or build compromise from its watch incident: the releases of
// ours the blast radius reaches go to ONE playbook incident for the whole compromise, started or joined
// exactly as the intake does for an alert naming our own releases, so that every route to the same
// compromise meets in one incident. One external system: Temporal itself.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { BlastRadius } from '../core/blast-radius';
import type { Report } from '../core/incident';
import { containmentsFor, type CompromiseContainment, type HeldContainment } from '../core/intake';
import type { CompromiseReport } from '../core/playbook/plan';
import type { Policy } from '../core/playbook/policy';
import { compromiseReportsSignal } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';

export interface ContainmentInput {
  radius: BlastRadius;
  registry: string;
  report: Report;
}

export interface IncidentActivities {
  /** Starts or joins the containment the blast radius calls for; returns its incident id. Kept for watch incidents started before containBlastRadius. */
  openContainments(input: ContainmentInput): Promise<string[]>;
  /** Starts or joins the containment the blast radius calls for, and says which packages it left for a person and why. */
  containBlastRadius(input: ContainmentInput): Promise<{ opened: string[]; held: HeldContainment[] }>;
}

/**
 * The incident to send the report to: the compromise's own when it is open, else an open one named by
 * one of the alert's advisory aliases (a direct alert under a GHSA id, say, for a MAL record naming a
 * dependency), else the compromise's own, which the report starts.
 */
async function incidentToJoin(client: Client, { start, aliasIncidents }: CompromiseContainment): Promise<string> {
  for (const candidate of [start.compromise.incident, ...aliasIncidents]) {
    try {
      if ((await client.workflow.getHandle(candidate).describe()).status.name === 'RUNNING') return candidate;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return start.compromise.incident;
}

/** `policy`: the one the worker runs under (QUARANTINE_POLICY); an incident this starts carries it, as the intake's do. */
export function createIncidentActivities(client: Client, taskQueue: string, policy: Policy): IncidentActivities {
  const contain = async ({ radius, registry, report }: ContainmentInput): Promise<{ opened: string[]; held: HeldContainment[] }> => {
    const { contain: containment, held } = containmentsFor(radius, registry, report, policy);
    if (!containment) return { opened: [], held };
    const incident = await incidentToJoin(client, containment);
    const { start } = containment;
    // signalWithStart: an open incident takes the report (once: a retry sends the same report id), a
    // closed or absent one starts fresh with it.
    await client.workflow.signalWithStart<typeof playbookWorkflow, [CompromiseReport[]]>('playbookWorkflow', {
      workflowId: incident,
      taskQueue,
      args: [{ ...start, compromise: { ...start.compromise, incident }, policy }],
      signal: compromiseReportsSignal,
      signalArgs: [[start.first]],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
    return { opened: [incident], held };
  };
  return {
    async openContainments(input) {
      return (await contain(input)).opened;
    },
    containBlastRadius: contain,
  };
}
