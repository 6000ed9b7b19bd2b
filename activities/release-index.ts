// The blast-radius index as activities: the incident workflows ask it which of our releases an alert
// reaches (read-only, so retrying is safe), and bring its provenance up to date before a build query.
//
// Provenance sync is incremental. A version's provenance is fixed when it is published (npm attaches
// attestations at publish time and a published version's dist never changes), so a recorded version is
// never read again here, whatever its status: a sync fetches the packument of each package (one
// request) and the attestations of the versions the index has no record of. A `none` record is not
// re-checked either; `quarantine provenance sync <name>` re-reads every version of a package, for
// when the trust root changed or a record is doubted.
import { ApplicationFailure, Context } from '@temporalio/activity';
import validatePackageName from 'validate-npm-package-name';
import { affectedByBuild, affectedByComponents, type BlastRadius, type BuildQuery, type ComponentQuery } from '../core/blast-radius';
import type { ReleaseIndex } from '../core/release-index';
import { pool, type ProvenanceActivities } from './provenance';

export interface SyncProvenanceInput {
  /** Our packages to sync; empty: every package the index knows. */
  names: string[];
}

export interface ReleaseIndexActivities {
  findReleasesContaining(query: ComponentQuery): Promise<BlastRadius>;
  /** Answers from the index as it is: run syncProvenance first for releases published since the last sync. */
  findReleasesBuiltBy(query: BuildQuery): Promise<BlastRadius>;
  /**
   * Records the provenance of every version of these packages that the index has no record of.
   * Heartbeats per version (details: ProvenanceSyncProgress); a retried attempt resumes at the package
   * the last one was syncing. Returns how many versions were recorded.
   */
  syncProvenance(input: SyncProvenanceInput): Promise<{ synced: number }>;
}

/** Where a sync stands, as its heartbeats carry it: packages go in name order, a retry resumes at `package`. */
export interface ProvenanceSyncProgress {
  package: string;
  synced: number;
}

export interface ReleaseIndexDeps {
  /** The index, opened once on first use (the worker may start before the data directory exists). */
  index: () => ReleaseIndex;
  /** Reads provenance from the registry; without it syncProvenance fails. */
  provenance?: Pick<ProvenanceActivities, 'listPackageVersions' | 'judgeVersion'>;
  /** Attestation requests in flight at once (default 4). */
  concurrency?: number;
}

/** The activity context when running as an activity; undefined when called directly (scripts). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function resumedProgress(details: unknown): ProvenanceSyncProgress | undefined {
  if (typeof details !== 'object' || details === null) return undefined;
  const { package: name, synced } = details as Record<string, unknown>;
  return typeof name === 'string' && typeof synced === 'number' && Number.isInteger(synced) && synced >= 0 ? { package: name, synced } : undefined;
}

export function createReleaseIndexActivities(deps: ReleaseIndexDeps): ReleaseIndexActivities {
  const concurrency = deps.concurrency ?? 4;
  return {
    async findReleasesContaining(query) {
      return affectedByComponents(deps.index(), [query]);
    },

    async findReleasesBuiltBy(query) {
      return affectedByBuild(deps.index(), query);
    },

    async syncProvenance(input) {
      const provenance = deps.provenance;
      if (!provenance) throw ApplicationFailure.create({ message: 'this worker reads no registry: provenance cannot be synced', type: 'ProvenanceUnavailable', nonRetryable: true });
      const given = Array.isArray(input?.names) ? input.names : [];
      for (const name of given) {
        if (typeof name !== 'string' || !validatePackageName(name).validForOldPackages) {
          throw ApplicationFailure.create({ message: `${JSON.stringify(name).slice(0, 100)} is not an npm package name`, type: 'InvalidPackageName', nonRetryable: true });
        }
      }
      const names = [...new Set(given.length > 0 ? given : deps.index().releases().map((r) => r.name))].sort();

      const context = activityContext();
      const resumed = resumedProgress(context?.info.heartbeatDetails);
      const progress: ProvenanceSyncProgress = { package: resumed?.package ?? names[0] ?? '', synced: resumed?.synced ?? 0 };
      const beat = (): void => context?.heartbeat({ ...progress });
      // Also between versions: a large packument or a slow registry must not look like a dead worker.
      const timer = context ? setInterval(beat, 1_000) : undefined;
      try {
        for (const name of names) {
          // Packages before the one a previous attempt was syncing are done: their records are in the index.
          if (resumed && name < resumed.package) continue;
          progress.package = name;
          beat();
          const recorded = new Set(deps.index().recordedProvenance(name).map((r) => r.version));
          let listed;
          try {
            listed = await provenance.listPackageVersions(name);
          } catch (error) {
            // A package the registry no longer has keeps what the index knew of it.
            if (error instanceof ApplicationFailure && error.type === 'PackageNotFound') continue;
            throw error;
          }
          const missing = listed.filter((v) => !recorded.has(v.version));
          await pool(missing, concurrency, async (version) => {
            const record = await provenance.judgeVersion(version);
            deps.index().putProvenance(record);
            progress.synced += 1;
            beat();
          });
        }
        return { synced: progress.synced };
      } finally {
        if (timer) clearInterval(timer);
      }
    },
  };
}
