// Which incident each compromise already has, so that duplicates and aliases (a MAL id and its GHSA)
// join it before anything reaches Temporal. Rebuilt from the journal at start.
//
// A route joins only an incident of its own kind: a containment is the playbook incident of its
// compromise (the alert's id), which an alias (the GHSA of a MAL id) joins, so that an exact report
// on our release reaches a containment whatever arrived first; a review, dependency, build or token report joins only the
// same kind; a withdrawn, dismissed or fixed report joins only a withdrawn incident, so that it can
// never start or retry a write. A report that may write joins only an incident started by one that
// may write too: a watch incident assesses what its first report named, and a malware report must
// not act on the versions a vulnerability named.
import { isContainmentRoute, type Route } from '../core/intake';
import { reportAuthorizesWrites } from '../core/write-authority';

export interface Assignment {
  route: Route;
  isNew: boolean;
}

/** Redeliveries come within days; the most recent deliveries are remembered, oldest forgotten first. */
const REMEMBERED_DELIVERIES = 200_000;

/** The kind of incident a route leads to: routes join only incidents of the same kind. */
export function routeKind(route: Route): string {
  return isContainmentRoute(route) ? 'containment' : route.request.kind;
}

/** The index as plain data (keys carry their kind), for the journal's compaction snapshot. */
export interface IndexSnapshot {
  byKey: [string, Route][];
  byAlias: [string, Route][];
  deliveries: [string, string[]][];
}

export class IncidentIndex {
  // Keyed by `<kind> <key>`: the same compromise can have one incident of each kind.
  private readonly byKey = new Map<string, Route>();
  private readonly byAlias = new Map<string, Route>();
  private readonly deliveries = new Map<string, string[]>();

  /** The incidents a delivery went to, if it was seen before (a redelivery). */
  delivery(deliveryId: string): string[] | undefined {
    return this.deliveries.get(deliveryId);
  }

  /** Points each route at the incident its compromise already has (of the same kind), or registers it as new. */
  assign(routes: Route[]): Assignment[] {
    return routes.map((route) => {
      const kind = routeKind(route);
      const existing = this.byKey.get(`${kind} ${route.key}`) ?? route.aliasKeys.map((k) => this.byAlias.get(`${kind} ${k}`)).find(Boolean);
      if (route.workflow === 'incidentWorkflow') {
        // The containment id (of the type before the playbook) is the release's own: a containment
        // found by an alias is another release's, never this one's. It links its aliases and keeps its id.
        const isNew = existing?.incident !== route.incident;
        this.remember(route, route);
        return { route, isNew };
      }
      if (route.workflow === 'playbookWorkflow') {
        // The same compromise under another id (an alias) joins its playbook incident, which adds the
        // releases this report names; a containment of the type before the playbook is left to drain.
        if (existing?.workflow === 'playbookWorkflow') {
          const joined: Route = { ...route, incident: existing.incident, request: existing.request };
          this.remember(joined, existing);
          return { route: joined, isNew: false };
        }
        this.remember(route, route);
        return { route, isNew: existing?.incident !== route.incident };
      }
      if (existing && (!reportAuthorizesWrites(route.report) || reportAuthorizesWrites(existing.report))) {
        const joined = { ...existing, key: route.key, aliasKeys: route.aliasKeys, report: route.report } as Route;
        this.remember(joined, existing);
        return { route: joined, isNew: false };
      }
      this.remember(route, route);
      return { route, isNew: true };
    });
  }

  /** Marks a delivery as taken, once it is durable: a failed write leaves it free to be sent again. */
  recordDelivery(deliveryId: string, incidents: string[]): void {
    this.deliveries.set(deliveryId, incidents);
    if (this.deliveries.size > REMEMBERED_DELIVERIES) {
      // A Map iterates in insertion order: the first key is the oldest delivery.
      this.deliveries.delete(this.deliveries.keys().next().value!);
    }
  }

  /** Replays a journalled delivery (its routes already point at their incidents). */
  replay(deliveryId: string, routes: Route[]): void {
    for (const route of routes) this.remember(route, route);
    this.recordDelivery(deliveryId, routes.map((r) => r.incident));
  }

  /** The whole index as plain data, for the journal's compaction snapshot. */
  snapshot(): IndexSnapshot {
    return { byKey: [...this.byKey], byAlias: [...this.byAlias], deliveries: [...this.deliveries] };
  }

  /** Puts back what snapshot() saved, before the journal's later entries are replayed. */
  restore(snapshot: IndexSnapshot): void {
    for (const [key, route] of snapshot.byKey) this.byKey.set(key, route);
    for (const [alias, route] of snapshot.byAlias) this.byAlias.set(alias, route);
    for (const [delivery, incidents] of snapshot.deliveries) this.recordDelivery(delivery, incidents);
  }

  private remember(route: Route, incident: Route): void {
    const kind = routeKind(incident);
    const key = `${kind} ${route.key}`;
    if (!this.byKey.has(key)) this.byKey.set(key, incident);
    for (const alias of route.aliasKeys) if (!this.byAlias.has(`${kind} ${alias}`)) this.byAlias.set(`${kind} ${alias}`, incident);
  }
}
