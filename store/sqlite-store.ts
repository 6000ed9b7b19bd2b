// The embedded release index: one SQLite file (better-sqlite3) under the data directory. WAL mode, so
// the intake server, the worker and the CLI can read while one of them writes. A shared database can
// replace it behind the ReleaseIndex interface.
//
// Components are stored once per (name, version, purl) and linked to each release that ships them; a
// path is kept as the component ids from the release down, which keeps ~1,000 components x 10,000
// releases in a few hundred megabytes.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ComponentOccurrence, ReleaseIndex, ReleaseProvenance, ReleaseRef, ReleaseSbom } from '../core/release-index';

export const INDEX_FILE = 'releases.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS releases (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  UNIQUE (name, version)
);
CREATE TABLE IF NOT EXISTS sboms (
  release_id INTEGER PRIMARY KEY REFERENCES releases (id),
  digest TEXT NOT NULL,
  spec_version TEXT NOT NULL,
  serial_number TEXT,
  component_count INTEGER NOT NULL,
  ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS components (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  purl TEXT NOT NULL,
  UNIQUE (name, version, purl)
);
CREATE INDEX IF NOT EXISTS components_by_name ON components (name, version);
CREATE TABLE IF NOT EXISTS occurrences (
  component_id INTEGER NOT NULL,
  release_id INTEGER NOT NULL,
  direct INTEGER NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (component_id, release_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS occurrences_by_release ON occurrences (release_id);
CREATE TABLE IF NOT EXISTS provenance (
  release_id INTEGER PRIMARY KEY REFERENCES releases (id),
  status TEXT NOT NULL,
  record TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
`;

interface ComponentRow {
  id: number;
  name: string;
  version: string;
  purl: string;
}

/** Opens (creating if needed) the index at `file`; ':memory:' for a throwaway one. */
export function openReleaseIndex(file: string): ReleaseIndex {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a crash can lose the last commits but never corrupts; an SBOM is re-sent by CI.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);

  const selectRelease = db.prepare<[string, string], { id: number }>('SELECT id FROM releases WHERE name = ? AND version = ?');
  const insertRelease = db.prepare<[string, string]>('INSERT INTO releases (name, version) VALUES (?, ?)');
  const selectSbom = db.prepare<[number], { digest: string }>('SELECT digest FROM sboms WHERE release_id = ?');
  const deleteOccurrences = db.prepare<[number]>('DELETE FROM occurrences WHERE release_id = ?');
  const upsertSbom = db.prepare<[number, string, string, string | null, number, string]>(
    `INSERT INTO sboms (release_id, digest, spec_version, serial_number, component_count, ingested_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (release_id) DO UPDATE SET digest = excluded.digest, spec_version = excluded.spec_version,
       serial_number = excluded.serial_number, component_count = excluded.component_count, ingested_at = excluded.ingested_at`,
  );
  const selectComponent = db.prepare<[string, string, string], { id: number }>('SELECT id FROM components WHERE name = ? AND version = ? AND purl = ?');
  const insertComponent = db.prepare<[string, string, string]>('INSERT INTO components (name, version, purl) VALUES (?, ?, ?)');
  const insertOccurrence = db.prepare<[number, number, number, string]>('INSERT OR REPLACE INTO occurrences (component_id, release_id, direct, path) VALUES (?, ?, ?, ?)');
  const versionsOf = db.prepare<[string], { version: string }>('SELECT DISTINCT version FROM components WHERE name = ?');
  const componentsOf = db.prepare<[string], ComponentRow>('SELECT id, name, version, purl FROM components WHERE name = ?');
  const occurrencesOfComponent = db.prepare<[number], { release_id: number; direct: number; path: string }>(
    'SELECT release_id, direct, path FROM occurrences WHERE component_id = ?',
  );
  const componentById = db.prepare<[number], ComponentRow>('SELECT id, name, version, purl FROM components WHERE id = ?');
  const releaseById = db.prepare<[number], { name: string; version: string }>('SELECT name, version FROM releases WHERE id = ?');
  const allReleases = db.prepare<[], { name: string; version: string }>('SELECT name, version FROM releases ORDER BY name, version');
  const countReleases = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM releases');
  const upsertProvenance = db.prepare<[number, string, string, string]>(
    `INSERT INTO provenance (release_id, status, record, recorded_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (release_id) DO UPDATE SET status = excluded.status, record = excluded.record, recorded_at = excluded.recorded_at`,
  );
  const allProvenance = db.prepare<[], { record: string }>('SELECT record FROM provenance');

  const releaseId = (release: ReleaseRef): number => {
    const found = selectRelease.get(release.name, release.version);
    if (found) return found.id;
    return Number(insertRelease.run(release.name, release.version).lastInsertRowid);
  };
  const componentId = (name: string, version: string, purl: string): number => {
    const found = selectComponent.get(name, version, purl);
    if (found) return found.id;
    return Number(insertComponent.run(name, version, purl).lastInsertRowid);
  };

  const putSbom = db.transaction((sbom: ReleaseSbom): { replaced: boolean; unchanged: boolean } => {
    const id = releaseId(sbom.release);
    const previous = selectSbom.get(id);
    if (previous?.digest === sbom.digest) return { replaced: false, unchanged: true };
    deleteOccurrences.run(id);
    const ids = new Map<string, number>();
    for (const c of sbom.components) ids.set(`${c.name}@${c.version}`, componentId(c.name, c.version, c.purl));
    for (const c of sbom.components) {
      const own = ids.get(`${c.name}@${c.version}`) as number;
      // The path's first element is the release itself; the rest are components of this SBOM.
      const pathIds = c.path.slice(1).map((label) => ids.get(label) ?? -1);
      insertOccurrence.run(own, id, c.direct ? 1 : 0, pathIds.join(','));
    }
    upsertSbom.run(id, sbom.digest, sbom.specVersion, sbom.serialNumber ?? null, sbom.components.length, new Date().toISOString());
    return { replaced: previous !== undefined, unchanged: false };
  });

  const putProvenance = db.transaction((record: ReleaseProvenance): void => {
    upsertProvenance.run(releaseId(record.release), record.status, JSON.stringify(record), new Date().toISOString());
  });

  return {
    putSbom: (sbom) => putSbom.immediate(sbom),
    putProvenance: (record) => putProvenance.immediate(record),

    componentVersions(name) {
      return versionsOf.all(name).map((r) => r.version);
    },

    occurrencesOf(name, versions) {
      const wanted = new Set(versions);
      if (wanted.size === 0) return [];
      const componentCache = new Map<number, ComponentRow | undefined>();
      const releaseCache = new Map<number, ReleaseRef>();
      const component = (id: number): ComponentRow | undefined => {
        if (!componentCache.has(id)) componentCache.set(id, componentById.get(id));
        return componentCache.get(id);
      };
      const release = (id: number): ReleaseRef => {
        let r = releaseCache.get(id);
        if (!r) {
          const row = releaseById.get(id);
          r = { name: row?.name ?? '?', version: row?.version ?? '?' };
          releaseCache.set(id, r);
        }
        return r;
      };
      const out: ComponentOccurrence[] = [];
      for (const row of componentsOf.all(name)) {
        if (!wanted.has(row.version)) continue;
        componentCache.set(row.id, row);
        for (const occ of occurrencesOfComponent.all(row.id)) {
          const rel = release(occ.release_id);
          const path = [
            `${rel.name}@${rel.version}`,
            ...occ.path.split(',').filter((s) => s !== '').map((s) => {
              const c = component(Number(s));
              return c ? `${c.name}@${c.version}` : '?';
            }),
          ];
          out.push({ release: rel, component: { name: row.name, version: row.version, purl: row.purl, direct: occ.direct === 1, path } });
        }
      }
      return out;
    },

    provenance() {
      return allProvenance.all().map((r) => JSON.parse(r.record) as ReleaseProvenance);
    },
    releases() {
      return allReleases.all();
    },
    releaseCount() {
      return countReleases.get()?.n ?? 0;
    },
    close() {
      db.close();
    },
  };
}
