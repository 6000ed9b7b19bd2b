// `quarantine sbom ingest` reads only regular files of a bounded size: a *.json that is a symlink to a
// FIFO or to /dev/zero is refused at once (it used to block or read forever), an oversized file is
// refused before a byte of it is read, and the regular SBOMs next to them are ingested all the same.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticSbom } from '../bench/sbom';
import { MAX_SBOM_BYTES } from '../cli/sbom';
import { CLI } from './helpers/stack';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'quarantine-sbom-files-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The CLI in a child process, killed if it has not finished within 30 s (a blocked read would never end). */
function ingest(paths: string[]): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'sbom', 'ingest', ...paths], { env: { ...process.env, QUARANTINE_DATA_DIR: join(work, 'data') }, timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr, killed: Boolean(error && (error as { killed?: boolean }).killed) });
    });
  });
}

test('symlinks to a FIFO and to /dev/zero are refused as not regular files; the regular SBOM beside them goes in', async () => {
  const dir = join(work, 'sboms');
  mkdirSync(dir);
  execFileSync('mkfifo', [join(work, 'pipe')]);
  symlinkSync(join(work, 'pipe'), join(dir, 'a-fifo.json'));
  symlinkSync('/dev/zero', join(dir, 'b-zero.json'));
  writeFileSync(join(dir, 'c-good.json'), syntheticSbom(3, 'chain'));

  const result = await ingest([dir]);
  expect(result.killed).toBe(false);
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split('\n')).toEqual([
    `refused   ${join(dir, 'a-fifo.json')}: not a regular file: only files are read`,
    `refused   ${join(dir, 'b-zero.json')}: not a regular file: only files are read`,
  ]);
  expect(result.stdout).toMatch(/^ingested +app@1\.0\.0: 3 components/);

  // Named directly, not through a folder, the same.
  const direct = await ingest(['/dev/zero']);
  expect(direct.killed).toBe(false);
  expect(direct.stderr.trim()).toBe('refused   /dev/zero: not a regular file: only files are read');
}, 90_000);

test('a file larger than the limit is refused before it is read', async () => {
  const file = join(work, 'huge.json');
  // Sparse: its size is what counts, nothing is written.
  const fd = openSync(file, 'w');
  ftruncateSync(fd, MAX_SBOM_BYTES + 1);
  closeSync(fd);
  const result = await ingest([file]);
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toBe(`refused   ${file}: ${MAX_SBOM_BYTES + 1} bytes, larger than the ${MAX_SBOM_BYTES} accepted`);
}, 60_000);
