// Deterministic incident ids: the same release on the same registry is always the same incident, so a
// second report joins the first instead of starting a parallel containment.
import { createHash } from 'node:crypto';
import * as semver from 'semver';

function registryKey(registry: string): string {
  const url = new URL(registry);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

export function incidentId(registry: string, name: string, versions: readonly string[], dryRun = false): string {
  const sorted = [...new Set(versions)].sort(semver.compare);
  const digest = createHash('sha256').update(registryKey(registry)).digest('hex').slice(0, 8);
  return `incident-${name}@${sorted.join(',')}-${digest}${dryRun ? '-dry-run' : ''}`;
}
