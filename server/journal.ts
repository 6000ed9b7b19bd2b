// The intake's durable queue: an append-only journal of accepted deliveries. A webhook is answered 2xx
// only once its entry is on disk (a write to a segment opened O_DSYNC), so a server killed right after
// answering loses nothing it acknowledged. Appends arriving while a write is in flight share the next
// one (group commit), and the write runs off the event loop: the acknowledgement costs a share of one disk sync,
// not one Temporal round trip per request.
//
// On disk (the intake folder):
//   journal-<first seq>.jsonl   segments of entries, one JSON line each; the last one takes appends
//   delivered                   what the drainer has put into Temporal: every seq up to `through`, and
//                               the routes delivered of the entries after it
//   snapshot.json               the incident index as of a compaction, replacing the segments it deleted
//   *.corrupt-<offset>          bytes found unreadable at start, set aside for a person
import {
  constants,
  closeSync,
  copyFileSync,
  existsSync,
  fdatasync,
  fsyncSync,
  ftruncate,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  write,
  writeSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Route } from '../core/intake';

export interface JournalEntry {
  seq: number;
  deliveryId: string;
  source: string;
  receivedAt: string;
  /** sha256 of the raw body, for senders whose delivery id is not signed (GitHub): a replay under a new id is recognised. */
  bodySha256?: string;
  routes: Route[];
}

// Appends go to a segment opened O_DSYNC: a write returns once its bytes are on disk, so a group
// commit is one trip through libuv's thread pool instead of a write and then an fdatasync (on two busy
// cores each trip can wait tens of milliseconds for a thread to be scheduled).
const APPEND_FLAGS = constants.O_RDWR | constants.O_DSYNC;
const NEW_SEGMENT_FLAGS = APPEND_FLAGS | constants.O_CREAT | constants.O_TRUNC;

/** The calls an append makes, at the syscall boundary: the one place a test can put a failing disk. */
export interface JournalDisk {
  write(fd: number, data: Buffer, offset: number, length: number, position: number): Promise<number>;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
}

export const NODE_DISK: JournalDisk = {
  write: (fd, data, offset, length, position) =>
    new Promise((resolve, reject) => write(fd, data, offset, length, position, (err, written) => (err ? reject(err) : resolve(written)))),
  fdatasync: promisify(fdatasync),
  ftruncate: promisify(ftruncate),
};

/** The journal cannot take entries (a failed write it could not undo yet): answer 503, nothing was kept. */
export class JournalUnavailable extends Error {}

export interface JournalRecovery {
  /** The state the last compaction saved (see JournalOptions.snapshotState), before any entry. */
  snapshot(state: unknown): void;
  /** Every entry still on disk, in seq order, with the indexes of its routes not yet delivered. */
  entry(entry: JournalEntry, undeliveredRoutes: number[]): void;
}

export interface JournalOptions {
  disk?: JournalDisk;
  /** A segment that reaches this size is sealed and appends go to a new one (default 64 MiB). */
  segmentBytes?: number;
  /** What a compaction keeps in place of the entries it deletes: the incident index's state. */
  snapshotState?: () => unknown;
  recover?: JournalRecovery;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface JournalState {
  acknowledging: boolean;
  /** Why not, while the last failed write is not undone. */
  error?: string;
  /** Every seq up to this one is in Temporal (or dead-lettered). */
  delivered: number;
  segments: number;
}

/** Group commits (write and fdatasync) kept for commitStatsSinceLastRead(); older ones are dropped. */
const COMMITS_REMEMBERED = 8192;

const SEGMENT = /^journal-(\d+)\.jsonl$/;
const LEGACY_FILE = 'journal.jsonl';
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
/** How often delivery progress is written: the window a crash can resend. */
const PROGRESS_INTERVAL_MS = 200;

interface Segment {
  file: string;
  /** The last seq it holds (0 when empty). */
  lastSeq: number;
}

interface Progress {
  /** Routes of an entry (by index) that are delivered, and how many it has. */
  count: number;
  done: Set<number>;
}

interface Pending {
  entry: JournalEntry;
  line: Buffer;
  resolve: (entry: JournalEntry) => void;
  reject: (err: Error) => void;
}

export class Journal {
  private readonly disk: JournalDisk;
  private readonly segmentBytes: number;
  private readonly log: NonNullable<JournalOptions['log']>;
  private readonly deliveredFile: string;
  private readonly snapshotFile: string;
  /** Sealed segments (oldest first), then the one taking appends. */
  private readonly segments: Segment[] = [];
  private fd: number;
  /** Where the last synced entry ends: after a failed write the file is cut back to it. */
  private durableEnd: number;
  private nextSeq: number;
  private lastDurableSeq: number;
  private buffer: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private damaged: Error | undefined;
  private through: number;
  /** Durable entries after `through`, in seq order, with their delivered routes. */
  private readonly outstanding = new Map<number, Progress>();
  private progressWrite: Promise<void> | undefined;
  private progressDirty = false;
  private compacting: Promise<void> | undefined;
  private readonly commitDurations: number[] = [];

  constructor(
    readonly dir: string,
    private readonly options: JournalOptions = {},
  ) {
    this.disk = options.disk ?? NODE_DISK;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.log = options.log ?? (() => undefined);
    const created = !existsSync(dir);
    mkdirSync(dir, { recursive: true });
    if (created) fsyncDirectory(join(dir, '..'));
    this.deliveredFile = join(dir, 'delivered');
    this.snapshotFile = join(dir, 'snapshot.json');

    const progress = readProgress(this.deliveredFile);
    this.through = progress.through;
    let maxSeq = this.through;
    if (existsSync(this.snapshotFile)) {
      const snapshot = JSON.parse(readFileSync(this.snapshotFile, 'utf8')) as { through: number; delivered: number; state: unknown };
      maxSeq = Math.max(maxSeq, snapshot.through);
      this.through = Math.max(this.through, snapshot.delivered);
      options.recover?.snapshot(snapshot.state);
    }

    const files = segmentFiles(dir);
    for (const file of files) {
      const lastSeq = this.recoverSegment(join(dir, file), progress.partial);
      maxSeq = Math.max(maxSeq, lastSeq);
      this.segments.push({ file: join(dir, file), lastSeq });
    }
    // Seqs only grow, even past entries compacted away: the delivered mark never covers a new entry.
    this.nextSeq = maxSeq + 1;
    this.lastDurableSeq = maxSeq;
    const current = this.segments.at(-1);
    if (current && statSync(current.file).size < this.segmentBytes) {
      this.fd = openSync(current.file, APPEND_FLAGS);
      this.durableEnd = statSync(current.file).size;
    } else {
      const file = join(dir, segmentName(this.nextSeq));
      this.fd = openSync(file, NEW_SEGMENT_FLAGS);
      fsyncDirectory(dir);
      this.segments.push({ file, lastSeq: 0 });
      this.durableEnd = 0;
    }
    this.advance();
  }

  get deliveredSeq(): number {
    return this.through;
  }

  get state(): JournalState {
    return { acknowledging: !this.damaged, ...(this.damaged ? { error: this.damaged.message } : {}), delivered: this.through, segments: this.segments.length };
  }

  /** How long group commits took since the last call, in ms: the disk's share of an acknowledgement. */
  commitStatsSinceLastRead(): { commits: number; p50: number; p99: number; max: number } {
    const sorted = this.commitDurations.splice(0).sort((a, b) => a - b);
    const at = (p: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0).toFixed(1));
    return { commits: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
  }

  /** Resolves once the entry is durable; rejects (JournalUnavailable or the disk's error) when it is not. */
  append(entry: Omit<JournalEntry, 'seq'>): Promise<JournalEntry> {
    const full: JournalEntry = { seq: this.nextSeq++, ...entry };
    return new Promise((resolve, reject) => {
      this.buffer.push({ entry: full, line: Buffer.from(`${JSON.stringify(full)}\n`), resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    // Let the requests of this tick join the first batch.
    await new Promise((r) => setImmediate(r));
    for (;;) {
      const batch = this.buffer;
      if (batch.length === 0) {
        // Cleared before the last batch's awaiters resume: an append they make starts the next flush.
        this.flushing = undefined;
        return;
      }
      this.buffer = [];
      if (this.damaged && !(await this.repair())) {
        const refusal = new JournalUnavailable(`journal not writable: ${this.damaged.message}`);
        for (const b of batch) b.reject(refusal);
        continue;
      }
      if (this.durableEnd >= this.segmentBytes) await this.rotate(batch[0]!.entry.seq);
      const data = Buffer.concat(batch.map((b) => b.line));
      const began = performance.now();
      try {
        for (let offset = 0; offset < data.length; ) {
          const written = await this.disk.write(this.fd, data, offset, data.length - offset, this.durableEnd + offset);
          if (written <= 0) throw new Error(`write made no progress at byte ${this.durableEnd + offset}`);
          offset += written;
        }
      } catch (err) {
        // Whatever part of the batch reached the file is not acknowledged: cut it off before anything
        // is appended after it, or no later entry is accepted.
        this.damaged = err as Error;
        this.log('intake journal: write failed; refusing alerts until the file is back to its last durable end', { error: (err as Error).message });
        await this.repair();
        for (const b of batch) b.reject(err as Error);
        continue;
      }
      this.durableEnd += data.length;
      if (this.commitDurations.length < COMMITS_REMEMBERED) this.commitDurations.push(performance.now() - began);
      for (const b of batch) {
        this.lastDurableSeq = b.entry.seq;
        this.outstanding.set(b.entry.seq, { count: b.entry.routes.length, done: new Set() });
      }
      this.segments.at(-1)!.lastSeq = this.lastDurableSeq;
      this.advance();
      for (const b of batch) b.resolve(b.entry);
    }
  }

  private async repair(): Promise<boolean> {
    try {
      await this.disk.ftruncate(this.fd, this.durableEnd);
      await this.disk.fdatasync(this.fd);
    } catch (err) {
      this.damaged = err as Error;
      return false;
    }
    if (this.damaged) this.log('intake journal: cut back to its last durable end; accepting alerts again', { bytes: this.durableEnd });
    this.damaged = undefined;
    return true;
  }

  private async rotate(firstSeq: number): Promise<void> {
    closeSync(this.fd);
    const file = join(this.dir, segmentName(firstSeq));
    this.fd = openSync(file, NEW_SEGMENT_FLAGS);
    await syncDirectory(this.dir);
    this.segments.push({ file, lastSeq: 0 });
    this.durableEnd = 0;
    this.compactSoon();
  }

  /**
   * Records that these routes of entry `seq` are in Temporal (or dead-lettered): they are never sent
   * again, across restarts. Written in the background, coalesced; `settled()` waits for it.
   */
  markDelivered(seq: number, routeIndexes: Iterable<number>): void {
    const progress = this.outstanding.get(seq);
    if (!progress) return;
    for (const i of routeIndexes) progress.done.add(i);
    this.advance();
    this.progressDirty = true;
    this.progressWrite ??= this.writeProgress();
  }

  private advance(): void {
    for (const [seq, progress] of this.outstanding) {
      if (progress.done.size < progress.count) break;
      this.through = seq;
      this.outstanding.delete(seq);
    }
    if (this.outstanding.size === 0) this.through = Math.max(this.through, this.lastDurableSeq);
  }

  private async writeProgress(): Promise<void> {
    try {
      // Progress lost in a crash is a resend the workflows take once; a sync per delivered group
      // would compete with the acknowledgements' syncs for the disk.
      await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS));
      while (this.progressDirty) {
        this.progressDirty = false;
        const partial = [...this.outstanding].filter(([, p]) => p.done.size > 0).map(([seq, p]) => [seq, [...p.done]]);
        await writeDurably(this.deliveredFile, JSON.stringify({ through: this.through, partial }));
      }
    } catch (err) {
      // Progress lost is a resend after a restart, which the workflows take once: log, keep going.
      this.log('intake journal: could not record delivery progress', { error: (err as Error).message });
    } finally {
      this.progressWrite = undefined;
    }
    this.compactSoon();
  }

  /** Sealed segments whose every entry is delivered give way to a snapshot of the index. */
  private compactSoon(): void {
    const sealed = this.segments.slice(0, -1);
    if (this.compacting || !this.options.snapshotState || sealed.length === 0 || sealed[0]!.lastSeq > this.through) return;
    this.compacting = this.compact().finally(() => {
      this.compacting = undefined;
    });
  }

  private async compact(): Promise<void> {
    try {
      const through = this.lastDurableSeq;
      const delivered = this.through;
      await writeDurably(this.snapshotFile, JSON.stringify({ through, delivered, state: this.options.snapshotState!() }));
      while (this.segments.length > 1 && this.segments[0]!.lastSeq <= Math.min(through, delivered)) {
        const [removed] = this.segments.splice(0, 1);
        await unlink(removed!.file);
      }
      await syncDirectory(this.dir);
    } catch (err) {
      this.log('intake journal: compaction failed; segments kept', { error: (err as Error).message });
    }
  }

  /** Resolves when the delivery progress and any compaction so far are on disk. */
  async settled(): Promise<void> {
    while (this.progressWrite || this.compacting) {
      await this.progressWrite;
      await this.compacting;
    }
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    await this.settled();
    closeSync(this.fd);
  }

  /**
   * Reads one segment in chunks (a segment can be larger than memory allows as one string), hands
   * each entry to the recovery, and sets aside what cannot be read: a torn last line (a crash in the
   * middle of a write that was never acknowledged) is cut off; unreadable bytes in the middle are
   * copied to a file next to it, logged, and the entries after them kept.
   */
  private recoverSegment(file: string, partial: Map<number, Set<number>>): number {
    let lastSeq = 0;
    const good: [number, number][] = [];
    const bad: [number, number][] = [];
    scanLines(file, (line, start, end) => {
      const entry = parseEntry(line);
      if (!entry) {
        bad.push([start, end]);
        return;
      }
      const last = good.at(-1);
      if (last && last[1] === start) last[1] = end;
      else good.push([start, end]);
      lastSeq = Math.max(lastSeq, entry.seq);
      const done = entry.seq <= this.through ? undefined : (partial.get(entry.seq) ?? new Set<number>());
      const undelivered = done ? entry.routes.map((_, i) => i).filter((i) => !done.has(i)) : [];
      // Kept while an earlier entry is outstanding even if done itself, so the mark never skips a gap.
      if (done) this.outstanding.set(entry.seq, { count: entry.routes.length, done });
      this.options.recover?.entry(entry, undelivered);
    });
    if (bad.length === 0) return lastSeq;
    for (const [start, end] of bad) {
      const aside = `${file}.corrupt-${start}`;
      copyRange(file, start, end, aside);
      this.log('intake journal: unreadable bytes set aside', { file, from: start, to: end, copiedTo: aside });
    }
    const goodEnd = good.at(-1)?.[1] ?? 0;
    if (bad.every(([start]) => start >= goodEnd)) {
      const fd = openSync(file, 'r+');
      ftruncateSync(fd, goodEnd);
      fsyncSync(fd);
      closeSync(fd);
    } else {
      // The entries after the damage stay; the damage itself leaves the segment (it is in the copy).
      const rewritten = `${file}.rewrite`;
      const out = openSync(rewritten, 'w');
      for (const [start, end] of good) copyRangeInto(file, start, end, out);
      fsyncSync(out);
      closeSync(out);
      renameSync(rewritten, file);
      fsyncDirectory(this.dir);
    }
    return lastSeq;
  }
}

function segmentName(firstSeq: number): string {
  return `journal-${String(firstSeq).padStart(16, '0')}.jsonl`;
}

/** Segments in seq order; the single-file journal of earlier versions is read first. */
function segmentFiles(dir: string): string[] {
  const names = readdirSync(dir);
  const segments = names.filter((n) => SEGMENT.test(n)).sort();
  return names.includes(LEGACY_FILE) ? [LEGACY_FILE, ...segments] : segments;
}

function parseEntry(line: Buffer): JournalEntry | undefined {
  try {
    const entry = JSON.parse(line.toString('utf8')) as JournalEntry;
    return Number.isSafeInteger(entry?.seq) && typeof entry.deliveryId === 'string' && Array.isArray(entry.routes) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Calls back with each line (without its newline) and its byte range; a last line with no newline is passed too. */
function scanLines(file: string, onLine: (line: Buffer, start: number, end: number) => void): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    let carry: Buffer[] = [];
    let lineStart = 0;
    let position = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, position);
      if (read === 0) break;
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl !== -1 && nl < read; nl = chunk.indexOf(10, from)) {
        const line = carry.length > 0 ? Buffer.concat([...carry, chunk.subarray(from, nl)]) : chunk.subarray(from, nl);
        carry = [];
        const end = position + nl + 1;
        onLine(line, lineStart, end);
        lineStart = end;
        from = nl + 1;
      }
      if (from < read) carry.push(Buffer.from(chunk.subarray(from, read)));
      position += read;
    }
    // Bytes after the last newline: a line whose write never completed.
    if (carry.length > 0) onLine(Buffer.from('\u0000'), lineStart, position);
  } finally {
    closeSync(fd);
  }
}

function copyRangeInto(file: string, start: number, end: number, out: number): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, end - start)));
    for (let position = start; position < end; ) {
      const read = readSync(fd, chunk, 0, Math.min(chunk.length, end - position), position);
      if (read === 0) break;
      for (let off = 0; off < read; ) off += writeSync(out, chunk, off, read - off);
      position += read;
    }
  } finally {
    closeSync(fd);
  }
}

function copyRange(file: string, start: number, end: number, to: string): void {
  if (start === 0 && end === statSync(file).size) {
    copyFileSync(file, to);
  } else {
    const out = openSync(to, 'w');
    copyRangeInto(file, start, end, out);
    fsyncSync(out);
    closeSync(out);
  }
}

function readProgress(file: string): { through: number; partial: Map<number, Set<number>> } {
  if (!existsSync(file)) return { through: 0, partial: new Map() };
  const text = readFileSync(file, 'utf8').trim();
  // Earlier versions wrote the bare seq.
  if (/^\d+$/.test(text)) return { through: Number(text), partial: new Map() };
  const parsed = JSON.parse(text) as { through: number; partial: [number, number[]][] };
  return { through: parsed.through, partial: new Map(parsed.partial.map(([seq, done]) => [seq, new Set(done)])) };
}

/** Replaces `file` atomically: the new content is synced before the rename, and the rename before returning. */
async function writeDurably(file: string, content: string): Promise<void> {
  const partial = `${file}.partial`;
  const handle = await open(partial, 'w');
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, file);
  await syncDirectory(join(file, '..'));
}

/** fsync of a directory off the event loop: acknowledgements do not wait behind it. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
