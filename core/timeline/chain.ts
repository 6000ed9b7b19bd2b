// The exported timeline as a hash chain: each event carries `prev`, the sha256 of the event before it
// (the first, of a genesis value derived from the incident id), and `hash`, the sha256 of its own
// canonical JSON (core/canonical-json.ts) with `prev` in it and `hash` left out. Changing, removing,
// inserting or reordering an event breaks every link after it; `summary` seals the rest of the
// document (status, reports, blast radius) to the chain's head.
//
// The incident's events are append-only, so an event's hash is the same in every export: an auditor
// who noted a head hash can check that a later export still begins with the same chain.
// Pure (core/sha256.ts, no node:crypto), so the CLI, the server and a test compute it alike.
import { canonicalJson } from '../canonical-json';
import { sha256Hex } from '../sha256';
import type { IncidentTimeline, TimelineEvent } from './model';

export const CHAIN_FORMAT = 'quarantine-timeline-chain/1';

export type ChainedEvent = TimelineEvent & { prev: string; hash: string };

export interface ChainSeal {
  format: typeof CHAIN_FORMAT;
  algorithm: 'sha256';
  /** canonical JSON of {format, incident}: what the first event's `prev` is the hash of. */
  genesis: string;
  /** The last event's hash (the genesis hash with no events). */
  head: string;
  /** sha256 of the canonical JSON of the document without `chain` and `events`, plus `head`. */
  summary: string;
}

export type ChainedTimeline = Omit<IncidentTimeline, 'events'> & { events: ChainedEvent[]; chain: ChainSeal };

export function genesisHash(incident: string): string {
  return sha256Hex(canonicalJson({ format: CHAIN_FORMAT, incident }));
}

export function eventHash(event: Record<string, unknown>): string {
  const hashed = { ...event };
  delete hashed.hash;
  // Through JSON first: the hash is over what a reader of the file sees (undefined fields are not there).
  return sha256Hex(canonicalJson(JSON.parse(JSON.stringify(hashed))));
}

function summaryHash(rest: Record<string, unknown>, head: string): string {
  return sha256Hex(canonicalJson(JSON.parse(JSON.stringify({ ...rest, head }))));
}

export function chainTimeline(timeline: IncidentTimeline): ChainedTimeline {
  const { events, ...rest } = timeline;
  let prev = genesisHash(timeline.incident);
  const chained = events.map((event) => {
    const link = { ...event, prev };
    const hash = eventHash(link);
    prev = hash;
    return { ...link, hash };
  });
  return { ...rest, events: chained, chain: { format: CHAIN_FORMAT, algorithm: 'sha256', genesis: canonicalJson({ format: CHAIN_FORMAT, incident: timeline.incident }), head: prev, summary: summaryHash(rest, prev) } };
}

export type ChainCheck = { ok: true; events: number; head: string } | { ok: false; problem: string; index?: number; seq?: unknown };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks an exported timeline (parsed JSON): every link, the head and the summary. Says where it breaks first. */
export function verifyChain(document: unknown): ChainCheck {
  if (!isRecord(document)) return { ok: false, problem: 'not a JSON object' };
  const { events, chain, ...rest } = document;
  if (!isRecord(chain) || chain.format !== CHAIN_FORMAT) return { ok: false, problem: `no chain of format ${CHAIN_FORMAT}` };
  if (typeof document.incident !== 'string') return { ok: false, problem: 'no incident id' };
  if (!Array.isArray(events)) return { ok: false, problem: 'no events list' };
  let prev = genesisHash(document.incident);
  for (const [index, event] of events.entries()) {
    if (!isRecord(event)) return { ok: false, problem: `event ${index + 1} is not an object`, index };
    const seq = event.seq;
    if (event.prev !== prev) return { ok: false, problem: `event ${index + 1} (seq ${String(seq)}) does not follow the one before: prev is not its hash (an event before it was changed, removed or inserted)`, index, seq };
    const hash = eventHash(event);
    if (event.hash !== hash) return { ok: false, problem: `event ${index + 1} (seq ${String(seq)}) was changed: its content does not hash to its hash`, index, seq };
    prev = hash;
  }
  if (chain.head !== prev) return { ok: false, problem: 'the head is not the last event\'s hash (events were removed from the end)' };
  if (chain.summary !== summaryHash(rest, prev)) return { ok: false, problem: 'the document beside the events (status, reports, blast radius, times) was changed' };
  return { ok: true, events: events.length, head: prev };
}
