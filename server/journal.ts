// The intake's durable queue: an append-only journal of accepted deliveries. A webhook is answered 2xx
// only once its entry is on disk (fdatasync), so a server killed right after answering loses nothing it
// acknowledged. Appends arriving while a sync is in flight share the next write and sync (group
// commit), and the sync runs off the event loop: the acknowledgement costs a share of one disk sync,
// not one Temporal round trip per request.
import { closeSync, existsSync, fdatasync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, write, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
import type { Route } from '../core/intake';

export interface JournalEntry {
  seq: number;
  deliveryId: string;
  source: string;
  receivedAt: string;
  routes: Route[];
}

export class Journal {
  private readonly file: string;
  private readonly deliveredFile: string;
  private fd: number;
  private nextSeq: number;
  private delivered: number;
  private buffer: { line: string; resolve: () => void; reject: (err: Error) => void }[] = [];
  private flushing: Promise<void> | undefined;
  /** The entries found on disk at start, until takeRecovered() hands them over. */
  private recovered: JournalEntry[];

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'journal.jsonl');
    this.deliveredFile = join(dir, 'delivered');
    this.delivered = existsSync(this.deliveredFile) ? Number(readFileSync(this.deliveredFile, 'utf8')) || 0 : 0;
    const { entries, validBytes } = existsSync(this.file) ? readJournal(this.file) : { entries: [], validBytes: 0 };
    this.fd = openSync(this.file, existsSync(this.file) ? 'r+' : 'w+');
    // A crash mid-write can leave a torn last line: it was never acknowledged, so drop it.
    ftruncateSync(this.fd, validBytes);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a');
    this.recovered = entries;
    this.nextSeq = (entries.at(-1)?.seq ?? this.delivered) + 1;
  }

  /** What the journal held at start, once: the caller rebuilds its index and backlog from it. */
  takeRecovered(): JournalEntry[] {
    const entries = this.recovered;
    this.recovered = [];
    return entries;
  }

  get deliveredSeq(): number {
    return this.delivered;
  }

  /** Resolves once the entry is durable. */
  append(entry: Omit<JournalEntry, 'seq'>): Promise<JournalEntry> {
    const full: JournalEntry = { seq: this.nextSeq++, ...entry };
    return new Promise((resolve, reject) => {
      this.buffer.push({ line: `${JSON.stringify(full)}\n`, resolve: () => resolve(full), reject });
      this.flushing ??= this.flush().finally(() => {
        this.flushing = undefined;
      });
    });
  }

  private async flush(): Promise<void> {
    // Let the requests of this tick join the first batch.
    await new Promise((r) => setImmediate(r));
    while (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      try {
        await writeAsync(this.fd, batch.map((b) => b.line).join(''));
        await fdatasyncAsync(this.fd);
      } catch (err) {
        for (const b of batch) b.reject(err as Error);
        continue;
      }
      for (const b of batch) b.resolve();
    }
  }

  /** Records that every entry up to seq is in Temporal; written atomically. */
  markDelivered(seq: number): void {
    if (seq <= this.delivered) return;
    this.delivered = seq;
    const partial = `${this.deliveredFile}.partial`;
    writeFileSync(partial, String(seq));
    renameSync(partial, this.deliveredFile);
  }

  async close(): Promise<void> {
    await this.flushing;
    if (this.buffer.length > 0) {
      writeSync(this.fd, this.buffer.map((b) => b.line).join(''));
      fdatasyncSync(this.fd);
      for (const b of this.buffer) b.resolve();
      this.buffer = [];
    }
    closeSync(this.fd);
  }
}

function readJournal(file: string): { entries: JournalEntry[]; validBytes: number } {
  const text = readFileSync(file);
  const entries: JournalEntry[] = [];
  let start = 0;
  let validBytes = 0;
  for (let end = text.indexOf(10); end !== -1; end = text.indexOf(10, start)) {
    try {
      entries.push(JSON.parse(text.subarray(start, end).toString('utf8')) as JournalEntry);
    } catch {
      break;
    }
    start = end + 1;
    validBytes = start;
  }
  return { entries, validBytes };
}
