// 10,000 requests, most of them hostile, mixed with valid alerts: every request is answered, every
// valid alert lands in exactly one incident, and no rejected request starts anything.
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { signStandardWebhook } from '../core/alerts/signatures';
import { startIntake, type RunningIntake } from '../server/index';
import { watchQuery } from '../workflows/watch-incident';
import { STANDARD_SECRETS, incidentsOn, intakeConfig, sendGithub, sendStandard, type Answer } from './helpers/intake';
import { startInProcessWorker, testClient, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

/** A small seeded generator: a failing run can be replayed with the same seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const TOTAL = 10_000;
// About 30 s alone; the whole suite runs another file beside it on the same two cores, which can double that.
jest.setTimeout(240_000);
const VALID_SHARE = 0.2;

interface Case {
  label: string;
  send(url: string): Promise<Answer>;
  /** The report id a valid alert becomes, or undefined for a hostile request. */
  validReport?: string;
  expect: (status: number) => boolean;
}

const alertBody = (id: string, name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id, kind: 'malware', severity: 'high', title: `fuzz ${id}`, package: { name, versions: ['1.0.0'] }, ...extra });
const rejected = (status: number) => status >= 400 && status < 500;

function hostile(random: () => number, n: number): Case {
  const id = `hostile-${n}`;
  const body = alertBody(id, `hostile-dep-${n % 50}`);
  const now = Math.floor(Date.now() / 1000);
  const kinds: [string, (url: string) => Promise<Answer>][] = [
    ['forged signature', (url) => sendStandard(url, '/v1/alerts', body, { id, secret: `whsec_${randomBytes(24).toString('base64')}` })],
    ['no signature', (url) => sendStandard(url, '/v1/alerts', body, { id, signature: null })],
    ['garbage signature', (url) => sendStandard(url, '/v1/alerts', body, { id, signature: `v1,${randomBytes(32).toString('base64')}` })],
    ['stale timestamp', (url) => sendStandard(url, '/v1/alerts', body, { id, timestamp: now - 3_600 })],
    ['future timestamp', (url) => sendStandard(url, '/v1/alerts', body, { id, timestamp: now + 3_600 })],
    ['signed invalid JSON', (url) => sendStandard(url, '/v1/alerts', body.slice(0, Math.floor(random() * body.length)), { id })],
    ['signed bad name', (url) => sendStandard(url, '/v1/alerts', alertBody(id, '../../etc/passwd'), { id })],
    ['signed bad version', (url) => sendStandard(url, '/v1/alerts', body.replace('"1.0.0"', '"1.0.0; rm -rf /"'), { id })],
    ['signed bad range', (url) => sendStandard(url, '/v1/alerts', JSON.stringify({ id, kind: 'malware', title: 't', package: { name: 'x', ranges: ['>>1'] } }), { id })],
    ['signed javascript: evidence', (url) => sendStandard(url, '/v1/alerts', alertBody(id, 'hostile-x', { evidence: ['javascript:alert(1)'] }), { id })],
    ['signed unknown kind', (url) => sendStandard(url, '/v1/alerts', body.replace('"malware"', '"rootkit"'), { id })],
    ['signed prototype pollution', (url) => sendStandard(url, '/v1/alerts', `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"id":"${id}"}`, { id })],
    ['signed control characters in id', (url) => sendStandard(url, '/v1/alerts', alertBody(`${id}\u001b[2J`, 'hostile-y'), { id })],
    ['wrong content type', (url) => sendStandard(url, '/v1/alerts', body, { id, contentType: 'text/plain' })],
    ['random bytes', (url) => sendStandard(url, '/v1/alerts', randomBytes(1 + Math.floor(random() * 512)), { id, signature: null })],
    ['signature for another body', async (url) => {
      const signature = signStandardWebhook(Buffer.from(body), id, now, STANDARD_SECRETS[0]!);
      return sendStandard(url, '/v1/alerts', alertBody(id, 'hostile-swapped'), { id, timestamp: now, signature });
    }],
    ['GitHub endpoint, forged', (url) => sendGithub(url, 'dependabot_alert', JSON.parse(body), { delivery: id, secret: 'guess' })],
    ['unknown path', async (url) => {
      const response = await fetch(`${url}/v1/alerts/../../admin`, { method: 'POST', body });
      return { status: response.status, body: {} };
    }],
  ];
  if (n % 400 === 0) kinds.push(['oversized', (url) => sendStandard(url, '/v1/alerts', alertBody(id, 'hostile-big', { title: 'x'.repeat(300_000) }), { id })]);
  const [label, send] = kinds[Math.floor(random() * kinds.length)]!;
  return { label, send, expect: rejected };
}

describe('intake under hostile traffic', () => {
  const taskQueue = uniqueTaskQueue('fuzz');
  let worker: RunningWorker;
  let intake: RunningIntake;
  let client: Client;
  let closeClient: () => Promise<void>;

  beforeAll(async () => {
    worker = await startInProcessWorker({ registry: process.env.QUARANTINE_TEST_REGISTRY_URL!, taskQueue });
    ({ client, close: closeClient } = await testClient());
    intake = await startIntake(intakeConfig({ registry: process.env.QUARANTINE_TEST_REGISTRY_URL!, taskQueue }), { client });
  });
  afterAll(async () => {
    await intake?.close();
    await worker?.stop();
    await closeClient?.();
  });

  it(`answers ${TOTAL} mixed requests and lands every valid alert in exactly one incident`, async () => {
    const random = prng(SEED);
    const cases: Case[] = [];
    for (let n = 0; n < TOTAL; n++) {
      if (random() < VALID_SHARE) {
        const id = `valid-${n}`;
        const body = alertBody(`scanner-${n}`, `fuzz-dep-${n % 40}`);
        cases.push({ label: 'valid', send: (url) => sendStandard(url, '/v1/alerts', body, { id }), validReport: `generic:webhook:${id}/0:0`, expect: (s) => s === 202 || s === 200 });
        // A redelivery racing its original: whichever arrives second is answered as a duplicate.
        if (random() < 0.1) cases.push({ label: 'redelivery', send: (url) => sendStandard(url, '/v1/alerts', body, { id }), expect: (s) => s === 200 || s === 202 });
      } else {
        cases.push(hostile(random, n));
      }
    }

    const answers: Answer[] = new Array(cases.length);
    let next = 0;
    const sender = async () => {
      while (next < cases.length) {
        const i = next++;
        answers[i] = await cases[i]!.send(intake.url);
      }
    };
    await Promise.all(Array.from({ length: 32 }, sender));

    const wrong = cases.map((c, i) => ({ c, a: answers[i]! })).filter(({ c, a }) => !c.expect(a.status));
    expect(wrong.map(({ c, a }) => `${c.label}: ${a.status} ${JSON.stringify(a.body).slice(0, 120)}`)).toEqual([]);
    expect(answers.filter(Boolean)).toHaveLength(cases.length);

    await intake.drainer.idle();
    const expected = new Map<string, string>();
    cases.forEach((c, i) => {
      if (c.validReport) expected.set(c.validReport, answers[i]!.body.incidents![0]!.incident);
    });
    const incidents = [...new Set(expected.values())].sort();
    let listed = await incidentsOn(client, taskQueue);
    for (let i = 0; i < 50 && listed.length < incidents.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      listed = await incidentsOn(client, taskQueue);
    }
    // Nothing a rejected request named was started: the incidents are exactly the valid alerts' ones.
    expect(listed).toEqual(incidents);

    // A watch incident lists its latest reports and counts them all; the ids of its latest 1,000
    // are kept to take each once, and say which ones landed.
    const landed = new Map<string, number>();
    let counted = 0;
    for (const incident of incidents) {
      const view = await client.workflow.getHandle(incident).query(watchQuery);
      counted += view.reportCount ?? 0;
      for (const id of view.recentReportIds ?? []) landed.set(id, (landed.get(id) ?? 0) + 1);
    }
    expect([...landed.values()].every((count) => count === 1)).toBe(true);
    expect([...landed.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(counted).toBe(expected.size);
  });
});
