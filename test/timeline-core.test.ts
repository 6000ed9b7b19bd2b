// The timeline's pure parts: the read model every view shares, the hash chain and its check, the
// Markdown report and the VEX export, each with the hostile report reason an attacker controls.
import { createHash } from 'node:crypto';
import { chainTimeline, verifyChain } from '../core/timeline/chain';
import { markdownText, incidentReportMarkdown } from '../core/timeline/markdown';
import { durationText, playbookTimeline, targetPackage } from '../core/timeline/model';
import { incidentVex } from '../core/timeline/vex';
import { HOSTILE_REASON, samplePlaybookView } from './helpers/playbook-view';

describe('the read model', () => {
  it('puts each event on the lane of its package or system, coloured by how it came out, and lists what waits', () => {
    const timeline = playbookTimeline(samplePlaybookView());
    expect(timeline.lanes.map((l) => l.id)).toEqual(['incident', 'package:@acme/core', 'package:@acme/cli', 'registry', 'github']);
    expect(timeline.events.map((e) => [e.seq, e.lane, e.result])).toEqual([
      [1, 'incident', 'info'],
      [2, 'incident', 'info'],
      [3, 'package:@acme/core', 'ok'],
      [4, 'package:@acme/core', 'ok'],
      [5, 'package:@acme/cli', 'waiting'],
      [6, 'package:@acme/core', 'ok'],
      [7, 'incident', 'failed'],
      [8, 'registry', 'failed'],
    ]);
    expect(timeline.pending).toEqual([{ actionId: 'revoke-trust:@acme/cli:t1', kind: 'revoke-trust', description: 'revoke the github trusted publisher t1 of @acme/cli', target: 'npm:@acme/cli', otp: true, rule: 'malware.revoke-trust=approval' }]);
    expect(timeline.timeToContainMs).toBe(800);
    expect(timeline.reports[0]).toMatchObject({ source: 'osv:MAL-2025-1', reason: HOSTILE_REASON, ids: ['MAL-2025-1', 'GHSA-vm4q-9x8h-5w7q'] });
    expect(timeline.blastRadius.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.3', '@acme/cli@2.0.1']);
  });

  it('reads the package of every target form', () => {
    expect(['npm:@acme/core', 'npm:@acme/core#latest', 'npm:@acme/core@1.2.3', 'npm:lodash@4.0.0', 'npm:lodash#next', 'npm-token:abc', 'github:acme/core', undefined].map(targetPackage)).toEqual([
      '@acme/core', '@acme/core', '@acme/core', 'lodash', 'lodash', undefined, undefined, undefined,
    ]);
  });

  it('words durations for people', () => {
    expect([812, 4_200, 190_000, 7_500_000].map(durationText)).toEqual(['812 ms', '4.2 s', '3 min 10 s', '2 h 5 min']);
  });
});

describe('the hash chain', () => {
  const exported = () => JSON.parse(JSON.stringify(chainTimeline(playbookTimeline(samplePlaybookView())))) as ReturnType<typeof chainTimeline>;

  it('links each event to the sha256 of the one before over its canonical JSON, and checks as exported', () => {
    const doc = exported();
    expect(doc.events[0]!.prev).toBe(createHash('sha256').update(doc.chain.genesis).digest('hex'));
    for (let i = 1; i < doc.events.length; i++) expect(doc.events[i]!.prev).toBe(doc.events[i - 1]!.hash);
    expect(doc.chain.head).toBe(doc.events.at(-1)!.hash);
    expect(verifyChain(doc)).toEqual({ ok: true, events: 8, head: doc.chain.head });
    // Key order is not content: the same events re-serialised in another order still check.
    const reordered = JSON.parse(JSON.stringify(doc, Object.keys(doc).sort().concat(Object.keys(doc.events[0]!).reverse(), ['before', 'after', 'deprecated', '1.2.3', 'format', 'algorithm', 'genesis', 'head', 'summary', 'advisories', 'releases', 'name', 'version', 'reason', 'id', 'kind', 'label', 'source', 'ids', 'severity', 'evidence', 'withdrawn', 'actionId', 'description', 'status', 'gate', 'otp', 'rule', 'target', 'error'])));
    expect(verifyChain(reordered).ok).toBe(true);
  });

  it('finds an edited, a removed, an inserted and a reordered event, a cut tail and an edited summary', () => {
    const edited = exported();
    edited.events[3]!.actor = 'mallory';
    expect(verifyChain(edited)).toMatchObject({ ok: false, index: 3, problem: expect.stringMatching(/seq 4\) was changed/) });

    const removed = exported();
    removed.events.splice(2, 1);
    expect(verifyChain(removed)).toMatchObject({ ok: false, index: 2, problem: expect.stringMatching(/does not follow/) });

    const inserted = exported();
    inserted.events.splice(1, 0, { ...inserted.events[1]!, detail: 'nothing happened' });
    expect(verifyChain(inserted)).toMatchObject({ ok: false, index: 1 });

    const swapped = exported();
    [swapped.events[4], swapped.events[5]] = [swapped.events[5]!, swapped.events[4]!];
    expect(verifyChain(swapped)).toMatchObject({ ok: false, index: 4 });

    const cut = exported();
    cut.events.pop();
    expect(verifyChain(cut)).toMatchObject({ ok: false, problem: expect.stringMatching(/head/) });

    const summary = exported();
    summary.status = 'verified';
    expect(verifyChain(summary)).toMatchObject({ ok: false, problem: expect.stringMatching(/beside the events/) });

    expect(verifyChain([1, 2])).toMatchObject({ ok: false, problem: 'not a JSON object' });
    expect(verifyChain({ incident: 'x', events: [] })).toMatchObject({ ok: false, problem: expect.stringMatching(/no chain/) });
  });

  it('gives an event the same hash in a later export, where more events follow', () => {
    const early = chainTimeline(playbookTimeline(samplePlaybookView({ events: samplePlaybookView().events.slice(0, 4) })));
    const later = chainTimeline(playbookTimeline(samplePlaybookView()));
    expect(later.events.slice(0, 4).map((e) => e.hash)).toEqual(early.events.map((e) => e.hash));
  });
});

describe('the Markdown report', () => {
  it('says what happened, when, who approved and the time to contain', () => {
    const approved = samplePlaybookView();
    approved.events.push({ seq: 9, at: '2025-01-01T10:00:02.000Z', actor: 'alice', phase: 'approved', actionId: 'revoke-trust:@acme/cli:t1', target: 'npm:@acme/cli', detail: 'approved' });
    const md = incidentReportMarkdown(playbookTimeline(approved), '2025-01-02T00:00:00.000Z');
    expect(md).toMatch(/^# Post\\-incident report: compromise\\-MAL\\-2025\\-1\\-abcdef12$/m);
    expect(md).toContain('- **Time to contain:** 800 ms');
    expect(md).toContain('- **Approved by:** alice');
    expect(md).toContain('- **First report:** 2025\\-01\\-01 10\\:00\\:00 UTC');
    expect(md).toMatch(/^## Audit trail$/m);
  });

  it('gives attacker text no Markdown or HTML structure: no raw tag, no new line, no heading, cell, link or code span', () => {
    const md = incidentReportMarkdown(playbookTimeline(samplePlaybookView()), '2025-01-02T00:00:00.000Z');
    expect(md).not.toMatch(/(?<!\\)<(script|img)/i);
    expect(md).not.toContain('\u001b');
    const escaped = markdownText(HOSTILE_REASON);
    expect(escaped).not.toContain('\n');
    // Every punctuation character is preceded by a backslash: nothing of it is syntax.
    expect(escaped.replace(/\\[!-/:-@[-`{-~]/g, '')).toMatch(/^[A-Za-z0-9 ]*$/);
    expect(md.split('\n').filter((line) => /^#/.test(line)).every((line) => /^#{1,2} [A-Z]/.test(line))).toBe(true);
    const rows = md.split('\n').filter((l) => l.startsWith('| 2025'));
    // A table row keeps exactly its six cells: the reason's pipes are escaped.
    for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(8);
  });
});

describe('the VEX export', () => {
  it('names the releases of the incident as affected under its advisory, with the aliases', () => {
    const vex = JSON.parse(incidentVex({ type: 'playbook', view: samplePlaybookView() }, '2025-01-02T00:00:00.000Z').json) as { components: { purl: string }[]; vulnerabilities: { id: string; references?: { id: string }[]; analysis: { state: string }; affects: { ref: string }[] }[] };
    expect(vex.components.map((c) => c.purl).sort()).toEqual(['pkg:npm/%40acme/cli@2.0.1', 'pkg:npm/%40acme/core@1.2.3']);
    expect(vex.vulnerabilities[0]).toMatchObject({ id: 'MAL-2025-1', references: [{ id: 'GHSA-vm4q-9x8h-5w7q' }], analysis: { state: 'exploitable' } });
    expect(vex.vulnerabilities[0]!.affects).toHaveLength(2);
  });

  it('never takes free text for the vulnerability id: the incident id instead', () => {
    const view = samplePlaybookView();
    view.compromise.advisories = ['<script>alert(1)</script>'];
    const vex = JSON.parse(incidentVex({ type: 'playbook', view }, '2025-01-02T00:00:00.000Z').json) as { vulnerabilities: { id: string }[] };
    expect(vex.vulnerabilities[0]!.id).toBe(view.incident);
  });
});
