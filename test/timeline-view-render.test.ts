// The timeline view's pure rendering: escaping into HTML, the SVG's lanes, marks and span, the pages'
// decisions by role, and how a path names an incident and its exports.
import { playbookTimeline } from '../core/timeline/model';
import { parseIncidentPath } from '../server/timeline-view';
import { incidentPage, incidentPath, listPage, pendingSection } from '../server/view/pages';
import { timelineSvg } from '../server/view/svg';
import { escapeHtml, h, safeHref, toHtml, type ViewNode } from '../server/view/tree';
import { HOSTILE_REASON, samplePlaybookView } from './helpers/playbook-view';

const approver = { user: 'alice', approver: true, csrf: 'token-a' };
const reader = { user: 'victor', approver: false, csrf: 'token-v' };

function all(node: ViewNode, tag: string): ViewNode[] {
  return [...(node.t === tag ? [node] : []), ...(node.c ?? []).flatMap((c) => (typeof c === 'string' ? [] : all(c, tag)))];
}

describe('escaping into HTML', () => {
  it('turns markup characters into entities and shows control and bidi characters as escapes', () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe('&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;');
    expect(escapeHtml('a\u001b[31mb\u202ec')).toBe('a\\u001b[31mb\\u202ec');
  });

  it('writes a hostile reason as text and a javascript: link as a harmless one, and refuses event-handler attributes', () => {
    const html = toHtml(incidentPage(playbookTimeline(samplePlaybookView()), approver, 'v1'));
    expect(html).not.toMatch(/<script>|<img/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;');
    expect(html).not.toContain('href="javascript:');
    expect(html).toContain('<script src="/assets/timeline.js" defer="defer"></script>');
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/ style=/);
    expect(toHtml(h('a', { href: 'javascript:alert(1)' }, 'x'))).toBe('<a href="#">x</a>');
    expect(() => h('div', { onclick: 'alert(1)' })).toThrow(/not one the pages may use/);
    expect([safeHref('/incidents/x'), safeHref('//evil.example/'), safeHref('https://osv.dev/a'), safeHref('data:text/html,x')]).toEqual(['/incidents/x', undefined, 'https://osv.dev/a', undefined]);
    expect(HOSTILE_REASON).toContain('<script>');
  });
});

describe('the SVG timeline', () => {
  const timeline = playbookTimeline(samplePlaybookView());
  const svg = timelineSvg(timeline);

  it('draws a lane per package and per system, a mark per event coloured by its result, on its lane', () => {
    const labels = all(svg, 'text').filter((t) => t.a?.class === 'lane-label').map((t) => t.c!.at(-1));
    expect(labels).toEqual(['reports and plan', '@acme/core', '@acme/cli', 'npm registry (account)', 'GitHub']);
    const marks = all(svg, 'circle');
    expect(marks.map((m) => m.a!.class)).toEqual(timeline.events.map((e) => `mark result-${e.result}`));
    const laneY = (i: number) => String(34 + i * 30 + 15);
    expect(marks.map((m) => m.a!.cy)).toEqual([laneY(0), laneY(0), laneY(1), laneY(1), laneY(2), laneY(1), laneY(0), laneY(3)]);
    // Time runs left to right: later events never sit left of earlier ones.
    const xs = marks.map((m) => Number(m.a!.cx));
    expect([...xs].sort((a, b) => a - b)).toEqual(xs);
  });

  it('marks the span from the first report to contained, and to verified once verified', () => {
    const contained = all(svg, 'g').find((g) => g.a?.class?.startsWith('span'))!;
    expect(contained.a!.class).toBe('span span-contained');
    expect(all(contained, 'title')[0]!.c).toEqual(['first report to contained: 800 ms']);
    const verified = timelineSvg(playbookTimeline(samplePlaybookView({ status: 'verified', verifiedAt: '2025-01-01T10:00:01.100Z' })));
    const span = all(verified, 'g').find((g) => g.a?.class?.startsWith('span'))!;
    expect(span.a!.class).toBe('span span-verified');
    expect(Number(all(span, 'rect')[0]!.a!.width)).toBeGreaterThan(Number(all(contained, 'rect')[0]!.a!.width));
  });
});

describe('decisions on the page', () => {
  it('gives an approver approve and reject (with a one-time password field where npm asks one), and a reader none', () => {
    const timeline = playbookTimeline(samplePlaybookView());
    const forApprover = pendingSection(timeline, approver);
    expect(all(forApprover, 'button').map((b) => [b.a!['data-decision'], b.a!['data-action']])).toEqual([['approve', 'revoke-trust:@acme/cli:t1'], ['reject', 'revoke-trust:@acme/cli:t1']]);
    expect(all(forApprover, 'input').map((i) => i.a!.name)).toEqual(['otp', 'note']);
    const forReader = pendingSection(timeline, reader);
    expect(all(forReader, 'button')).toEqual([]);
    expect(toHtml(forReader)).toContain('victor is not an approver here');
    expect(toHtml(incidentPage(timeline, approver, 'v1'))).toContain('<meta name="csrf-token" content="token-a">');
  });

  it('lists incidents with a link to each page, whatever characters the id holds', () => {
    const html = toHtml(listPage([{ incident: 'compromise-@acme/core@1.2.3-0a1b2c3d', kind: 'containment', status: 'contained', packages: '@acme/core', running: true, startedAt: '2025-01-01T10:00:00.000Z', timeToContainMs: 812, pendingApprovals: 2 }], {}, reader));
    expect(html).toContain(`<a href="${incidentPath('compromise-@acme/core@1.2.3-0a1b2c3d')}">compromise-@acme/core@1.2.3-0a1b2c3d</a>`);
    expect(html).toContain('<td>812 ms</td><td class="waiting">2</td>');
  });
});

describe('incident paths', () => {
  it('reads the id (slashes encoded or not) and the export it asks for', () => {
    const id = 'compromise-@acme/core@1.2.3-0a1b2c3d';
    const enc = encodeURIComponent(id);
    expect(parseIncidentPath(`/incidents/${enc}`)).toEqual({ incident: id, want: 'page' });
    expect(parseIncidentPath(`/incidents/${enc}.json`)).toEqual({ incident: id, want: 'json' });
    expect(parseIncidentPath(`/incidents/${enc}/report.md`)).toEqual({ incident: id, want: 'report' });
    expect(parseIncidentPath(`/incidents/${enc}/vex.json?x=1`)).toEqual({ incident: id, want: 'vex' });
    expect(parseIncidentPath(`/incidents/${enc}/live.json`)).toEqual({ incident: id, want: 'live' });
    expect(parseIncidentPath(`/incidents/${id}/report.md`)).toEqual({ incident: id, want: 'report' });
    expect(parseIncidentPath(`/incidents/${id}`)).toEqual({ incident: id, want: 'page' });
    expect(parseIncidentPath('/incidents/%E0%A4%A')).toBeUndefined();
    expect(parseIncidentPath('/incidents/<script>')).toBeUndefined();
    expect(parseIncidentPath(`/incidents/${encodeURIComponent('compromise-a\nb')}`)).toBeUndefined();
  });
});
