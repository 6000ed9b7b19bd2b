// Which incident each compromise already has, so that duplicates and aliases (a MAL id and its GHSA)
// join it before anything reaches Temporal. Rebuilt from the journal at start.
import type { Route } from '../core/intake';

export interface Assignment {
  route: Route;
  isNew: boolean;
}

/** Redeliveries come within days; the most recent deliveries are remembered, oldest forgotten first. */
const REMEMBERED_DELIVERIES = 200_000;

export interface IndexSnapshot {
  byKey: [string, Route][];
  byAlias: [string, Route][];
  deliveries: [string, string[]][];
}

export class IncidentIndex {
  private readonly byKey = new Map<string, Route>();
  private readonly byAlias = new Map<string, Route>();
  private readonly deliveries = new Map<string, string[]>();

  /** The incidents a delivery went to, if it was seen before (a redelivery). */
  delivery(deliveryId: string): string[] | undefined {
    return this.deliveries.get(deliveryId);
  }

  /** Points each route at the incident its compromise already has, or registers it as new. */
  assign(routes: Route[]): Assignment[] {
    const assignments = routes.map((route) => {
      const existing = this.byKey.get(route.key) ?? route.aliasKeys.map((k) => this.byAlias.get(k)).find(Boolean);
      if (existing) {
        const joined = { ...existing, key: route.key, aliasKeys: route.aliasKeys, report: route.report } as Route;
        this.remember(joined, existing);
        return { route: joined, isNew: false };
      }
      this.remember(route, route);
      return { route, isNew: true };
    });
    return assignments;
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
    if (!this.byKey.has(route.key)) this.byKey.set(route.key, incident);
    for (const alias of route.aliasKeys) if (!this.byAlias.has(alias)) this.byAlias.set(alias, incident);
  }
}
