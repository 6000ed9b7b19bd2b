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
import type { ComponentOccurrence, ProvenanceStatus, ReleaseIndex, ReleaseProvenance, ReleaseRef, ReleaseSbom } from '../core/release-index';

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
  run_id TEXT,
  commit_sha TEXT,
  workflow_path TEXT,
  published_ms INTEGER,
  record TEXT NOT NULL,
  recorded_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS provenance_by_run ON provenance (run_id);
CREATE INDEX IF NOT EXISTS provenance_by_commit ON provenance (commit_sha);
CREATE INDEX IF NOT EXISTS provenance_by_workflow ON provenance (workflow_path);
CREATE INDEX IF NOT EXISTS provenance_by_time ON provenance (published_ms);
`;

// Version 2 keeps provenance facts in indexed columns. Provenance is re-read from the registry by
// `quarantine provenance sync`, so an older table is dropped rather than migrated.
const SCHEMA_VERSION = 2;

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
  // One SBOM touches ~1,000 scattered pages; checkpointing after every commit (the default threshold)
  // rewrote each of them again. A larger WAL (~40 MB) is checkpointed a tenth as often.
  db.pragma('wal_autocheckpoint = 10000');
  if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) {
    db.exec('DROP TABLE IF EXISTS provenance');
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }
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
  // Rows as arrays (raw): a popular component has an occurrence in every release, and objects per row cost more than the read.
  const occurrencesOfComponent = db.prepare<[number], [number, number, string]>('SELECT release_id, direct, path FROM occurrences WHERE component_id = ?').raw(true);
  const releasesOfComponent = db.prepare<[number], [number, number]>('SELECT release_id, direct FROM occurrences WHERE component_id = ?').raw(true);
  const countOfComponent = db.prepare<[number], [number]>('SELECT count(*) FROM occurrences WHERE component_id = ?').raw(true);
  const releaseById = db.prepare<[number], { name: string; version: string }>('SELECT name, version FROM releases WHERE id = ?');
  const componentById = db.prepare<[number], ComponentRow>('SELECT id, name, version, purl FROM components WHERE id = ?');
  const provenanceOfPackage = db.prepare<[string], { version: string; status: ProvenanceStatus }>(
    'SELECT r.version AS version, p.status AS status FROM provenance p JOIN releases r ON r.id = p.release_id WHERE r.name = ?',
  );
  const allReleases = db.prepare<[], { name: string; version: string }>('SELECT name, version FROM releases ORDER BY name, version');
  const countReleases = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM releases');
  const upsertProvenance = db.prepare<[number, string, string | null, string | null, string | null, number | null, string, string]>(
    `INSERT INTO provenance (release_id, status, run_id, commit_sha, workflow_path, published_ms, record, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (release_id) DO UPDATE SET status = excluded.status, run_id = excluded.run_id, commit_sha = excluded.commit_sha,
       workflow_path = excluded.workflow_path, published_ms = excluded.published_ms, record = excluded.record, recorded_at = excluded.recorded_at`,
  );
  const provenanceStatements = new Map<string, Database.Statement<unknown[], { record: string }>>();
  const provenanceWhere = (sql: string): Database.Statement<unknown[], { record: string }> => {
    let statement = provenanceStatements.get(sql);
    if (!statement) provenanceStatements.set(sql, (statement = db.prepare<unknown[], { record: string }>(sql)));
    return statement;
  };

  // Rows of releases and components never change once written (ids are never reused: nothing is
  // deleted from those tables), so their labels are kept for the life of the handle.
  const componentLabels = new Map<number, string>();
  const releaseRefs = new Map<number, ReleaseRef>();
  const release = (id: number): ReleaseRef => {
    let ref = releaseRefs.get(id);
    if (!ref) {
      const found = releaseById.get(id);
      releaseRefs.set(id, (ref = { name: found?.name ?? '?', version: found?.version ?? '?' }));
    }
    return ref;
  };
  const componentLabel = (id: number): string => {
    let label = componentLabels.get(id);
    if (label === undefined) {
      const row = componentById.get(id);
      label = row ? `${row.name}@${row.version}` : '?';
      componentLabels.set(id, label);
    }
    return label;
  };

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
    // Each path is its parent's plus one id: built once per component from the parent's, in list
    // order (parents first), so the work is the size of what is stored, never more.
    const paths: string[] = [];
    sbom.components.forEach((c, at) => {
      const own = ids.get(`${c.name}@${c.version}`) as number;
      if (c.parent !== null && !(Number.isInteger(c.parent) && c.parent >= 0 && c.parent < at)) {
        throw new RangeError(`component ${at} of ${sbom.release.name}@${sbom.release.version} names parent ${c.parent}: parents come before their components`);
      }
      const path = c.parent === null ? String(own) : `${paths[c.parent]},${own}`;
      paths.push(path);
      insertOccurrence.run(own, id, c.direct ? 1 : 0, path);
    });
    upsertSbom.run(id, sbom.digest, sbom.specVersion, sbom.serialNumber ?? null, sbom.components.length, new Date().toISOString());
    return { replaced: previous !== undefined, unchanged: false };
  });

  const putProvenance = db.transaction((record: ReleaseProvenance): void => {
    const published = record.publishedAt === undefined ? NaN : Date.parse(record.publishedAt);
    upsertProvenance.run(
      releaseId(record.release),
      record.status,
      record.runId ?? null,
      record.commit?.toLowerCase() ?? null,
      record.workflowPath ?? null,
      Number.isNaN(published) ? null : published,
      JSON.stringify(record),
      new Date().toISOString(),
    );
  });

  return {
    putSbom: (sbom) => putSbom.immediate(sbom),
    putProvenance: (record) => putProvenance.immediate(record),

    componentVersions(name) {
      return versionsOf.all(name).map((r) => r.version);
    },

    countOccurrences(name, versions) {
      const wanted = new Set(versions);
      let count = 0;
      for (const row of componentsOf.all(name)) if (wanted.has(row.version)) count += countOfComponent.get(row.id)?.[0] ?? 0;
      return count;
    },

    occurrencesOf(name, versions, options = {}) {
      const withPaths = options.paths !== false;
      const wanted = new Set(versions);
      if (wanted.size === 0) return [];
      const out: ComponentOccurrence[] = [];
      for (const row of componentsOf.all(name)) {
        if (!wanted.has(row.version)) continue;
        componentLabels.set(row.id, `${row.name}@${row.version}`);
        if (!withPaths) {
          // Without paths every occurrence of the component is one of two values: share them.
          const shared = [true, false].map((direct) => ({ name: row.name, version: row.version, purl: row.purl, direct, path: [] as string[] }));
          for (const [releaseId, direct] of releasesOfComponent.all(row.id)) out.push({ release: release(releaseId), component: shared[direct === 1 ? 0 : 1]! });
          continue;
        }
        for (const [releaseId, direct, pathIds] of occurrencesOfComponent.all(row.id)) {
          const ref = release(releaseId);
          const path = [`${ref.name}@${ref.version}`];
          for (const id of pathIds.split(',')) if (id !== '') path.push(componentLabel(Number(id)));
          out.push({ release: ref, component: { name: row.name, version: row.version, purl: row.purl, direct: direct === 1, path } });
        }
      }
      return out;
    },

    provenance(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      const list = (values: readonly string[]) => values.map(() => '?').join(', ');
      if (filter?.runIds?.length) {
        where.push(`run_id IN (${list(filter.runIds)})`);
        params.push(...filter.runIds);
      }
      if (filter?.commitPrefixes?.length) {
        // A hex prefix p matches exactly the commits in [p, p + 'g'): 'g' sorts after every hex digit.
        where.push(`(${filter.commitPrefixes.map(() => '(commit_sha >= ? AND commit_sha < ?)').join(' OR ')})`);
        for (const prefix of filter.commitPrefixes) params.push(prefix, `${prefix}g`);
      }
      if (filter?.workflowPaths?.length) {
        where.push(`workflow_path IN (${list(filter.workflowPaths)})`);
        params.push(...filter.workflowPaths);
      }
      // Records without a publish time stay in: the query reports them instead of silently skipping.
      if (filter?.since !== undefined) {
        where.push('(published_ms >= ? OR published_ms IS NULL)');
        params.push(filter.since);
      }
      if (filter?.until !== undefined) {
        where.push('(published_ms <= ? OR published_ms IS NULL)');
        params.push(filter.until);
      }
      const sql = `SELECT record FROM provenance${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`;
      return provenanceWhere(sql).all(...params).map((r) => JSON.parse(r.record) as ReleaseProvenance);
    },
    recordedProvenance(name) {
      return provenanceOfPackage.all(name);
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
