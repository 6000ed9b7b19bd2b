// Opening containment incidents from another incident: a dependency or build compromise becomes one
// containment per package of ours, started (or joined) exactly as the intake and the CLI do, so that
// every route to the same release meets in one incident. One external system: Temporal itself.
import type { Client } from '@temporalio/client';
import type { BlastRadius } from '../core/blast-radius';
import type { Report } from '../core/incident';
import { containmentsFor } from '../core/intake';
import { reportSignal } from '../workflows/definitions';

export interface IncidentActivities {
  /** Starts or joins the containments the blast radius calls for; returns their incident ids. */
  openContainments(input: { radius: BlastRadius; registry: string; report: Report }): Promise<string[]>;
}

export function createIncidentActivities(client: Client, taskQueue: string): IncidentActivities {
  return {
    async openContainments({ radius, registry, report }) {
      const requests = containmentsFor(radius, registry, report);
      for (const request of requests) {
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
      return requests.map((r) => r.incident);
    },
  };
}
