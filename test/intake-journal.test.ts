// The intake journal on a disk that fails: every acknowledged entry is recovered after a restart, in
// the order the review reproduced (a short write, then ENOSPC, then space again), on a real 16 KiB tmpfs
// where this machine lets a test mount one, and through the syscall seam everywhere.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Route } from '../core/intake';
import { IncidentIndex, type IndexSnapshot } from '../server/incident-index';
import { Journal, NODE_DISK, type JournalDisk, type JournalEntry } from '../server/journal';

const route = (incident: string): Route => {
  const report = { reportId: `r-${incident}`, requestedBy: 't', reason: 'x', at: 'now' };
  return { workflow: 'watchIncidentWorkflow', incident, key: incident, aliasKeys: [], report, request: { incident, kind: 'review', subject: incident, report } };
};
const entry = (n: number, routes = 1) => ({ deliveryId: `d-${n}`, source: 'generic', receivedAt: 'now', routes: Array.from({ length: routes }, (_, i) => route(`inc-${n}-${i}`)) });

function reopen(dir: string, options: ConstructorParameters<typeof Journal>[1] = {}) {
  const entries: { entry: JournalEntry; undelivered: number[] }[] = [];
  let snapshot: unknown;
  const logs: string[] = [];
  const journal = new Journal(dir, {
    ...options,
    recover: { snapshot: (state) => (snapshot = state), entry: (e, undelivered) => entries.push({ entry: e, undelivered }) },
    log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
  });
  return { journal, entries, snapshot: () => snapshot, logs, delivered: () => entries.map((e) => e.entry.deliveryId) };
}

/** The calls of a disk that runs out of space: `left` bytes fit, then writes are short, then ENOSPC. */
function fillingDisk(): JournalDisk & { left: number; truncateFails: boolean } {
  const disk = {
    left: Infinity,
    truncateFails: false,
    async write(fd: number, data: Buffer, offset: number, length: number, position: number) {
      if (disk.left <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = await NODE_DISK.write(fd, data, offset, Math.min(length, disk.left), position);
      disk.left -= n;
      return n;
    },
    fdatasync: NODE_DISK.fdatasync,
    async ftruncate(fd: number, length: number) {
      if (disk.truncateFails) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
      return NODE_DISK.ftruncate(fd, length);
    },
  };
  return disk;
}

async function settle(promise: Promise<unknown>): Promise<boolean> {
  return promise.then(
    () => true,
    () => false,
  );
}

describe('the intake journal', () => {
  const newDir = () => join(mkdtempSync(join(tmpdir(), 'quarantine-journal-')), 'intake');

  it('recovers every acknowledged entry after a short write, ENOSPC and space again (the review sequence)', async () => {
    const dir = newDir();
    const disk = fillingDisk();
    const { journal } = reopen(dir, { disk });
    const acknowledged: string[] = [];
    const ack = async (n: number) => {
      if (await settle(journal.append(entry(n)))) acknowledged.push(`d-${n}`);
    };
    for (let n = 1; n <= 5; n++) await ack(n);
    disk.left = 60; // entry 6 is written in part, then the disk is full
    await ack(6);
    await ack(7);
    await ack(8);
    expect(journal.state.acknowledging).toBe(true); // the torn bytes were cut off at once
    disk.left = Infinity;
    for (let n = 9; n <= 11; n++) await ack(n);
    await journal.close();

    expect(acknowledged).toEqual(['d-1', 'd-2', 'd-3', 'd-4', 'd-5', 'd-9', 'd-10', 'd-11']);
    const after = reopen(dir);
    expect(after.delivered()).toEqual(acknowledged);
    expect(after.logs).toEqual([]); // nothing torn was left to set aside
    await after.journal.close();
  });

  it('refuses to acknowledge (503 state) while a failed write cannot be undone, then accepts again', async () => {
    const dir = newDir();
    const disk = fillingDisk();
    const { journal } = reopen(dir, { disk });
    await journal.append(entry(1));
    disk.left = 10;
    disk.truncateFails = true;
    expect(await settle(journal.append(entry(2)))).toBe(false);
    expect(journal.state).toMatchObject({ acknowledging: false, error: expect.stringMatching(/EIO/) });
    disk.left = Infinity;
    // The torn bytes are still in the file: nothing may be appended after them.
    await expect(journal.append(entry(3))).rejects.toThrow(/journal not writable/);
    disk.truncateFails = false;
    await journal.append(entry(4));
    expect(journal.state.acknowledging).toBe(true);
    await journal.close();
    const after = reopen(dir);
    expect(after.delivered()).toEqual(['d-1', 'd-4']);
    await after.journal.close();
  });

  it('sets a corrupt middle aside, logs it, and keeps the entries after it', async () => {
    const dir = newDir();
    const { journal } = reopen(dir);
    for (let n = 1; n <= 4; n++) await journal.append(entry(n));
    await journal.close();
    const [segment] = readdirSync(dir).filter((f) => f.startsWith('journal-'));
    const file = join(dir, segment!);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = `${lines[1]!.slice(0, 20)}\u0000garbage`;
    writeFileSync(file, lines.join('\n'));

    const after = reopen(dir);
    expect(after.delivered()).toEqual(['d-1', 'd-3', 'd-4']);
    expect(after.logs.join('\n')).toMatch(/unreadable bytes set aside/);
    const aside = readdirSync(dir).filter((f) => f.includes('.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), 'utf8')).toContain('garbage');
    // New entries follow the recovered ones, and a second start finds nothing more to set aside.
    const appended = await after.journal.append(entry(5));
    expect(appended.seq).toBe(5);
    await after.journal.close();
    const again = reopen(dir);
    expect(again.delivered()).toEqual(['d-1', 'd-3', 'd-4', 'd-5']);
    expect(again.logs).toEqual([]);
    await again.journal.close();
  });

  it('cuts a torn last line (never acknowledged) off, keeping a copy', async () => {
    const dir = newDir();
    const { journal } = reopen(dir);
    await journal.append(entry(1));
    await journal.close();
    const [segment] = readdirSync(dir).filter((f) => f.startsWith('journal-'));
    writeFileSync(join(dir, segment!), '{"seq":2,"deliv', { flag: 'a' });
    const after = reopen(dir);
    expect(after.delivered()).toEqual(['d-1']);
    expect((await after.journal.append(entry(3))).seq).toBe(2);
    await after.journal.close();
    expect(reopen(dir).delivered()).toEqual(['d-1', 'd-3']);
    expect(readdirSync(dir).filter((f) => f.includes('.corrupt-'))).toHaveLength(1);
  });

  it('never hands out a seq at or below the delivered mark, even with the journal gone', async () => {
    const dir = newDir();
    const { journal } = reopen(dir);
    for (let n = 1; n <= 3; n++) await journal.append(entry(n));
    for (let seq = 1; seq <= 3; seq++) journal.markDelivered(seq, [0]);
    await journal.close();
    for (const f of readdirSync(dir).filter((f) => f.startsWith('journal-'))) writeFileSync(join(dir, f), '');
    const after = reopen(dir);
    expect(after.journal.deliveredSeq).toBe(3);
    expect((await after.journal.append(entry(4))).seq).toBe(4);
    await after.journal.close();
    expect(reopen(dir).entries).toEqual([{ entry: expect.objectContaining({ seq: 4 }), undelivered: [0] }]);
  });

  it('keeps delivery progress per route across a restart: delivered routes are not handed back', async () => {
    const dir = newDir();
    const { journal } = reopen(dir);
    await journal.append(entry(1, 3));
    await journal.append(entry(2, 1));
    journal.markDelivered(1, [0, 2]);
    journal.markDelivered(2, [0]);
    await journal.close();
    const after = reopen(dir);
    expect(after.entries.map((e) => [e.entry.seq, e.undelivered])).toEqual([
      [1, [1]],
      [2, []],
    ]);
    expect(after.journal.deliveredSeq).toBe(0);
    after.journal.markDelivered(1, [1]);
    await after.journal.close();
    const last = reopen(dir);
    expect(last.journal.deliveredSeq).toBe(2);
    expect(last.entries.every((e) => e.undelivered.length === 0)).toBe(true);
    await last.journal.close();
  });

  it('writes an append made when the last batch resolves, without waiting for another append (L1)', async () => {
    const { journal } = reopen(newDir());
    const second = journal.append(entry(1)).then(() => journal.append(entry(2)));
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the second append waited for a third')), 3_000));
    await expect(Promise.race([second, timeout])).resolves.toMatchObject({ seq: 2 });
    await journal.close();
  });

  it('compacts delivered segments into a snapshot: start-up reads the snapshot and what came after', async () => {
    const dir = newDir();
    let state = { incidents: [] as string[] };
    const { journal } = reopen(dir, { segmentBytes: 2_000, snapshotState: () => state });
    for (let n = 1; n <= 40; n++) {
      const written = await journal.append(entry(n));
      state = { incidents: [...state.incidents, `inc-${n}`] };
      if (n <= 35) journal.markDelivered(written.seq, [0]);
    }
    await journal.settled();
    await journal.close();
    const segments = readdirSync(dir).filter((f) => f.startsWith('journal-'));
    expect(segments.length).toBeLessThanOrEqual(2);
    expect(existsSync(join(dir, 'snapshot.json'))).toBe(true);

    const after = reopen(dir, { segmentBytes: 2_000, snapshotState: () => state });
    expect((after.snapshot() as { incidents: string[] }).incidents.length).toBeGreaterThanOrEqual(30);
    // Only recent entries are read; the undelivered ones (36..40) are all there.
    expect(after.entries.length).toBeLessThan(20);
    expect(after.entries.filter((e) => e.undelivered.length > 0).map((e) => e.entry.seq)).toEqual([36, 37, 38, 39, 40]);
    expect((await after.journal.append(entry(41))).seq).toBe(41);
    await after.journal.close();
  });

  it('brings the incident index back from the snapshot after compaction: old deliveries are still redeliveries', async () => {
    const dir = newDir();
    const start = () => {
      const index = new IncidentIndex();
      const journal = new Journal(dir, {
        segmentBytes: 1_500,
        snapshotState: () => index.snapshot(),
        recover: { snapshot: (state) => index.restore(state as IndexSnapshot), entry: (e) => index.replay(e.deliveryId, e.routes) },
      });
      return { index, journal };
    };
    const first = start();
    for (let n = 1; n <= 30; n++) {
      const routes = first.index.assign(entry(n).routes).map((a) => a.route);
      const written = await first.journal.append({ ...entry(n), routes });
      first.index.recordDelivery(written.deliveryId, routes.map((r) => r.incident));
      first.journal.markDelivered(written.seq, [0]);
    }
    await first.journal.settled();
    await first.journal.close();
    expect(readdirSync(dir).filter((f) => f.startsWith('journal-')).length).toBeLessThan(5);

    const second = start();
    expect(second.index.delivery('d-1')).toEqual(['inc-1-0']);
    expect(second.index.assign([route('inc-2-0')])[0]!.isNew).toBe(false);
    expect(second.index.assign([route('inc-99-0')])[0]!.isNew).toBe(true);
    await second.journal.close();
  });

  // A mount namespace of its own (unshare -rm): the tmpfs exists only for this child and its script.
  // Where user namespaces are forbidden (some CI kernels) the test is reported skipped, never passed;
  // the seam test above covers the same sequence everywhere.
  const tmpfsProbe = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=16k tmpfs /mnt && echo ok'], { encoding: 'utf8' });
  const onTmpfs = tmpfsProbe.stdout?.trim() === 'ok' ? it : it.skip;
  onTmpfs('on a real 16 KiB tmpfs: a short write, ENOSPC, space again, restart: every acknowledged entry is back', () => {
    const script = `
      const { writeFileSync, unlinkSync } = require('node:fs');
      const { Journal } = require(${JSON.stringify(resolve(__dirname, '../dist/server/journal.js'))});
      const route = { workflow: 'watchIncidentWorkflow', incident: 'i', key: 'k', aliasKeys: [], report: { reportId: 'r' }, request: {} };
      (async () => {
        const dir = '/mnt/intake';
        const journal = new Journal(dir);
        const acknowledged = [];
        const ack = async (n) => { try { await journal.append({ deliveryId: 'd-' + n, source: 'g', receivedAt: 'x'.repeat(400), routes: [route] }); acknowledged.push(n); } catch {} };
        for (let n = 1; n <= 5; n++) await ack(n);
        // Fill the tmpfs but for a few hundred bytes of the journal's page: entry 6 is written short.
        let filler = 0;
        for (const size of [8192, 4096, 2048, 1024, 512, 256]) { try { writeFileSync('/mnt/fill-' + filler, Buffer.alloc(size)); filler++; } catch {} }
        for (let n = 6; n <= 8; n++) await ack(n);
        for (let i = 0; i < filler; i++) unlinkSync('/mnt/fill-' + i);
        for (let n = 9; n <= 11; n++) await ack(n);
        await journal.close();
        const recovered = [];
        const again = new Journal(dir, { recover: { snapshot() {}, entry(e) { recovered.push(Number(e.deliveryId.slice(2))); } } });
        await again.close();
        console.log(JSON.stringify({ acknowledged, recovered }));
      })();`;
    const run = spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=16k tmpfs /mnt && exec "${process.execPath}" -e "$0"`, script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const { acknowledged, recovered } = JSON.parse(run.stdout) as { acknowledged: number[]; recovered: number[] };
    // The disk did fill (some entries refused) and came back (later ones accepted).
    expect(acknowledged.length).toBeLessThan(11);
    expect(acknowledged).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 9, 10, 11]));
    expect(recovered).toEqual(acknowledged);
  });
});
