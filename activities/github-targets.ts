// Where the affected releases came from, for the GitHub side of containment: the repository each
// package's packument names, and the build (repository, workflow, run) each release's provenance names
// in the release index. Reads no GitHub, so it runs on every worker: its answer also says whether this
// worker holds GitHub settings, which is how an incident learns that GitHub is not configured.
import { ApplicationFailure } from '@temporalio/activity';
import { readPackument, RegistryError } from '../clients/npm';
import type { GithubTargetActivities, ReleaseSource } from '../core/github/ports';
import type { ReleaseIndex } from '../core/release-index';
import type { RegistryCredentials } from './registry';

export interface GithubTargetDeps {
  credentials: RegistryCredentials;
  /** The release index, opened on first use; absent: no provenance is consulted. */
  index?: () => ReleaseIndex;
  configured: boolean;
}

/** The packument's `repository`: a string (`github:o/r`, a URL) or `{ type, url, directory }`. */
function repositoryField(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { url?: unknown }).url === 'string') return (value as { url: string }).url;
  return undefined;
}

export function createGithubTargetActivities(deps: GithubTargetDeps): GithubTargetActivities {
  return {
    async readGithubTargets({ registry, releases }) {
      // Without GitHub settings nothing on GitHub will be planned: no packument or index read for it.
      if (!deps.configured) return { configured: false, sources: [] };
      const sources: ReleaseSource[] = [];
      const provenance = deps.index?.().provenance() ?? [];
      for (const release of releases) {
        let repository: string | undefined;
        let published: string[] = [];
        try {
          const token = deps.credentials.tokenFor(registry);
          const packument = (await readPackument(release.name, { registry, ...(token ? { token } : {}) })) as Record<string, unknown> & { versions: Record<string, Record<string, unknown>> };
          // The newest affected version's own field first: a package can move repositories.
          const fromVersions = [...release.versions].reverse().map((v) => repositoryField(packument.versions[v]?.repository)).find((r) => r !== undefined);
          repository = fromVersions ?? repositoryField(packument.repository);
          published = Object.keys(packument.versions);
        } catch (err) {
          if (!(err instanceof RegistryError)) throw err;
          if (err.code === 'UNAVAILABLE' || err.code === 'RATE_LIMITED') throw ApplicationFailure.create({ message: err.message, type: 'RegistryUnavailable' });
          // Not there or not readable: the policy's mapping or the provenance may still name the repository.
        }
        const wanted = new Set(release.versions);
        const builds = provenance
          .filter((p) => p.release.name === release.name && wanted.has(p.release.version) && (p.status === 'verified' || p.status === 'unverified') && p.repository && p.workflowPath)
          .map((p) => ({ version: p.release.version, repository: p.repository!, workflowPath: p.workflowPath!, ...(p.runId ? { runId: p.runId } : {}), ...(p.ref ? { ref: p.ref } : {}) }));
        sources.push({ name: release.name, ...(repository ? { repository } : {}), published, builds });
      }
      return { configured: deps.configured, sources };
    },
  };
}
