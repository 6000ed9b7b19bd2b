// `quarantine sbom ingest <file|folder>...`: put our releases' CycloneDX SBOMs into the release index
// (QUARANTINE_DATA_DIR). A document that does not validate is refused with the validator's reason and
// nothing of it is kept; the others go in regardless.
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { releaseKey } from '../core/release-index';
import { ingestSbom, SbomRejection, type IngestResult } from '../core/sbom';
import { parseReleaseSpec } from '../core/spec';
import { openReleaseIndex } from '../store/sqlite-store';
import { releaseIndexFile } from '../store/paths';
import type { Output } from './contain';
import { terminalSafe } from './render';

export const SBOM_USAGE = `usage: quarantine sbom ingest <file|folder>... [--release <name>@<version>] [--json]
  index CycloneDX JSON SBOMs (spec 1.4 to 1.7) of our releases, e.g. from
  npm sbom --sbom-format cyclonedx > sbom.json; folders are searched for *.json and *.cdx.json
  --release   the release the SBOM describes, when its metadata.component does not say (one file only)
the index lives in QUARANTINE_DATA_DIR (default ~/.local/share/quarantine)`;

/** Largest SBOM read from disk: a monorepo's SBOM is a few MB; anything far beyond is not one. */
export const MAX_SBOM_BYTES = 64 * 1024 * 1024;

function filesUnder(path: string): string[] {
  const stat = statSync(path);
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => {
      const full = join(path, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name.startsWith('.') ? [] : filesUnder(full);
      return /\.(json|xml)$/.test(entry.name) ? [full] : [];
    });
}

/**
 * The bytes of a regular file of at most `max` bytes. A path may be a symlink to a FIFO or a device
 * (`/dev/zero`): it is opened without blocking and judged by what was opened, and never read unless it
 * is a regular file of an acceptable size; a file that grows while read is refused, not followed.
 */
export function readRegularFile(file: string, max: number): Buffer {
  // O_NONBLOCK: opening a FIFO would otherwise wait for a writer. It has no effect on regular files.
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new SbomRejection('not a regular file: only files are read');
    if (stat.size > max) throw new SbomRejection(`${stat.size} bytes, larger than the ${max} accepted`);
    const bytes = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (let n; length < bytes.length && (n = readSync(fd, bytes, length, bytes.length - length, null)) > 0; ) length += n;
    if (length > stat.size) throw new SbomRejection('the file grew while it was read');
    return bytes.subarray(0, length);
  } finally {
    closeSync(fd);
  }
}

type FileResult = { file: string; ok: true; result: IngestResult } | { file: string; ok: false; reason: string };

export async function sbomCommand(argv: string[], output: Output, env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { release: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  } catch (err) {
    output.err(`quarantine sbom: ${terminalSafe((err as Error).message)}\n${SBOM_USAGE}`);
    return 2;
  }
  const [sub, ...paths] = parsed.positionals;
  if (parsed.values.help) {
    output.out(SBOM_USAGE);
    return 0;
  }
  if (sub !== 'ingest' || paths.length === 0) {
    output.err(SBOM_USAGE);
    return 2;
  }
  let release;
  let files: string[];
  try {
    release = parsed.values.release === undefined ? undefined : parseReleaseSpec(parsed.values.release);
    files = paths.flatMap(filesUnder);
    if (release && files.length !== 1) throw new Error('--release names the release of one SBOM: give exactly one file');
    if (files.length === 0) throw new Error('no *.json SBOM found there');
  } catch (err) {
    output.err(`quarantine sbom: ${terminalSafe((err as Error).message)}`);
    return 2;
  }

  const index = openReleaseIndex(releaseIndexFile(env));
  const results: FileResult[] = [];
  try {
    for (const file of files) {
      try {
        results.push({ file, ok: true, result: await ingestSbom(index, readRegularFile(file, MAX_SBOM_BYTES), release ? { release } : {}) });
      } catch (err) {
        if (!(err instanceof SbomRejection) && !(err instanceof Error && 'code' in err)) throw err;
        results.push({ file, ok: false, reason: (err as Error).message });
      }
    }
  } finally {
    index.close();
  }

  if (parsed.values.json) {
    output.out(JSON.stringify({ results }, null, 2));
  } else {
    for (const r of results) {
      if (r.ok) {
        output.out(`${r.result.outcome === 'unchanged' ? 'unchanged' : r.result.outcome === 'replaced' ? 'replaced ' : 'ingested '} ${terminalSafe(releaseKey(r.result.release))}: ${r.result.components} components (${terminalSafe(r.file)})`);
        for (const w of r.result.warnings) output.out(`  warning: ${terminalSafe(w)}`);
      } else {
        output.err(`refused   ${terminalSafe(r.file)}: ${terminalSafe(r.reason)}`);
      }
    }
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
