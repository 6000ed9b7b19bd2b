// Where a process's CPU went, from the V8 CPU profiles a bench wrote (`--cpu-prof-dir`): self time per
// function and per package or source file, heaviest first. Enough to find what a tail is made of
// without opening DevTools on a machine that has none.
// Usage: node dist/bench/cpu-profile-summary.js DIR [--top N]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a frame's code lives: a package under node_modules, one of our files, or V8/node itself. */
function owner(url: string): string {
  if (url === '') return '(native, GC and idle)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node core';
  const ours = url.match(/\/dist\/(.+)$/);
  return ours ? ours[1]! : url;
}

/** Self time (ms) per key, from the profile's samples and the time between them. */
function selfTimes(profile: CpuProfile, keyOf: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    if (!node) continue;
    // A sample's time is the gap to the next one (the last sample gets the mean gap).
    const micros = deltas[i + 1] ?? (profile.endTime - profile.startTime) / Math.max(1, samples.length);
    const key = keyOf(node);
    totals.set(key, (totals.get(key) ?? 0) + micros / 1000);
  }
  return totals;
}

function table(totals: Map<string, number>, top: number, wall: number): string {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, ms]) => `${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / wall).toFixed(1).padStart(5)}%  ${key}`)
    .join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' } } });
  const dir = positionals[0];
  if (!dir) throw new Error('usage: cpu-profile-summary DIR [--top N]');
  const top = Number(values.top);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const wall = (profile.endTime - profile.startTime) / 1000;
    const idle = (n: ProfileNode) => n.callFrame.functionName === '(idle)';
    const busy = [...selfTimes(profile, (n) => (idle(n) ? 'idle' : 'busy'))].find(([k]) => k === 'busy')?.[1] ?? 0;
    console.log(`\n# ${file}: ${(wall / 1000).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s on CPU (${((100 * busy) / wall).toFixed(0)}%)`);
    const named = (n: ProfileNode) => (idle(n) ? '(idle)' : `${n.callFrame.functionName || '(anonymous)'}  ${owner(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`);
    console.log(`\n## by package or file\n${table(selfTimes(profile, (n) => (idle(n) ? '(idle)' : owner(n.callFrame.url))), top, wall)}`);
    console.log(`\n## by function\n${table(selfTimes(profile, named), top, wall)}`);
  }
}

main();
