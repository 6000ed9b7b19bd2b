// The blast-radius queries as activities: the incident workflows ask the release index (one external
// system: the index's database) which of our releases an alert reaches. Read-only, so retrying is safe.
import { Context } from '@temporalio/activity';
import { affectedByBuild, affectedByComponents, type BlastRadius, type BuildQuery, type ComponentQuery } from '../core/blast-radius';
import type { ReleaseIndexReader } from '../core/release-index';

export interface ReleaseIndexActivities {
  findReleasesContaining(query: ComponentQuery): Promise<BlastRadius>;
  findReleasesBuiltBy(query: BuildQuery): Promise<BlastRadius>;
  /**
   * Brings the index's provenance up to date for these packages (none named: every package the index
   * knows), heartbeating as it goes. Stand-in of the route branch until the sbom branch's incremental
   * version is merged: same name and signature.
   */
  syncProvenance(input: { names: string[] }): Promise<{ synced: number }>;
}

export interface ReleaseIndexDeps {
  /** The index, opened once on first use (the worker may start before the data directory exists). */
  index: () => ReleaseIndexReader;
  /** Brings the index's provenance up to date for these packages before a build query (new releases since the last sync). */
  refreshProvenance?: (names: string[]) => Promise<void>;
}

export function createReleaseIndexActivities(deps: ReleaseIndexDeps): ReleaseIndexActivities {
  return {
    async findReleasesContaining(query) {
      return affectedByComponents(deps.index(), [query]);
    },
    async findReleasesBuiltBy(query) {
      if (deps.refreshProvenance) {
        const names = [...new Set(deps.index().releases().map((r) => r.name))];
        await deps.refreshProvenance(names);
      }
      return affectedByBuild(deps.index(), query);
    },
    async syncProvenance({ names }) {
      const refresh = deps.refreshProvenance;
      if (!refresh) return { synced: 0 };
      const packages = names.length > 0 ? names : [...new Set(deps.index().releases().map((r) => r.name))];
      for (const name of packages) {
        Context.current().heartbeat(name);
        await refresh([name]);
      }
      return { synced: packages.length };
    },
  };
}
