// Opening containment incidents from another incident: a dependency or build compromise becomes one
// containment per package of ours, started (or joined) exactly as the intake and the CLI do, so that
// every route to the same release meets in one incident. One external system: Temporal itself.
import type { Client } from '@temporalio/client';
import type { BlastRadius } from '../core/blast-radius';
import type { Report } from '../core/incident';
import { containmentsFor, type HeldContainment } from '../core/intake';
import { reportSignal } from '../workflows/definitions';

export interface ContainmentInput {
  radius: BlastRadius;
  registry: string;
  report: Report;
}

export interface IncidentActivities {
  /** Starts or joins the containments the blast radius calls for; returns their incident ids. Kept for watch incidents started before containBlastRadius. */
  openContainments(input: ContainmentInput): Promise<string[]>;
  /** Starts or joins the containments the blast radius calls for, and says which packages it left for a person and why. */
  containBlastRadius(input: ContainmentInput): Promise<{ opened: string[]; held: HeldContainment[] }>;
}

export function createIncidentActivities(client: Client, taskQueue: string): IncidentActivities {
  const contain = async ({ radius, registry, report }: ContainmentInput): Promise<{ opened: string[]; held: HeldContainment[] }> => {
    const { open, held } = containmentsFor(radius, registry, report);
    for (const request of open) {
      // signalWithStart: a running incident gets the report (it ignores one it already has), a
      // closed or absent one starts fresh. Idempotent under activity retries.
      await client.workflow.signalWithStart('incidentWorkflow', {
        workflowId: request.incident,
        taskQueue,
        args: [request],
        signal: reportSignal,
        signalArgs: [[request.report]],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
    }
    return { opened: open.map((r) => r.incident), held };
  };
  return {
    async openContainments(input) {
      return (await contain(input)).opened;
    },
    containBlastRadius: contain,
  };
}
