// An incident's blast radius as CycloneDX VEX (core/vex.ts builds and serialises it): the releases of
// ours the incident is about, under the advisory it was reported as (else the incident's own id).
import type { BlastRadius } from '../blast-radius';
import { buildVex, type VexDocument } from '../vex';
import type { AnyView } from './model';

/** Advisory ids a VEX may name as the vulnerability: the strict forms, never free text. */
const ADVISORY_ID = /^(MAL-\d{4}-\d+|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|CVE-\d{4}-\d{4,})$/;

function playbookRadius(read: Extract<AnyView, { type: 'playbook' }>): BlastRadius {
  const releases = read.view.compromise.releases.flatMap((r) =>
    r.versions.map((version) => ({
      name: r.name,
      version,
      reasons: [{ kind: 'component' as const, component: { name: r.name, version, purl: '' }, direct: true, path: [`${r.name}@${version}`] }],
    })),
  );
  return { query: `releases named by the reports of ${read.view.incident}`, releases, warnings: [], indexedReleases: releases.length, ...(read.view.compromise.overBroad?.length ? { overBroad: read.view.compromise.overBroad.join('; ') } : {}) };
}

export function incidentVex(read: AnyView, now: Date | string, toolVersion?: string): VexDocument {
  const incident = read.view.incident;
  let radius: BlastRadius;
  let advisories: string[];
  if (read.type === 'playbook') {
    radius = playbookRadius(read);
    advisories = read.view.compromise.advisories;
  } else if (read.type === 'watch') {
    radius = read.view.blastRadius ?? { query: read.view.subject, releases: [], warnings: [], indexedReleases: 0 };
    advisories = read.view.reports.flatMap((r) => (r.alert ? [r.alert.sourceId, ...r.alert.aliases] : []));
  } else {
    const releases = read.view.versions.map((version) => ({ name: read.view.name, version, reasons: [{ kind: 'component' as const, component: { name: read.view.name, version, purl: '' }, direct: true, path: [`${read.view.name}@${version}`] }] }));
    radius = { query: `releases named by the reports of ${incident}`, releases, warnings: [], indexedReleases: releases.length };
    advisories = read.view.advisories ?? [];
  }
  const strict = [...new Set(advisories.filter((a) => ADVISORY_ID.test(a)))];
  const id = strict[0] ?? incident;
  return buildVex(
    radius,
    { id, source: { name: 'quarantine' }, description: `Releases of ours in incident ${incident}`, aliases: strict.filter((a) => a !== id) },
    { now, ...(toolVersion ? { toolVersion } : {}) },
  );
}
