// The picture: one lane per package and per system, each event a mark on its lane at its time,
// coloured (by class, in the stylesheet) by how it came out, and the span from the first report to
// verified (or, before that, to contained) drawn across every lane. Pure layout over the read model.
import { durationText, type IncidentTimeline, type TimelineEvent } from '../../core/timeline/model';
import { h, type ViewNode } from './tree';

export const SVG_WIDTH = 960;
const LABEL_WIDTH = 200;
const PLOT_LEFT = LABEL_WIDTH + 12;
const PLOT_RIGHT = SVG_WIDTH - 16;
const AXIS_HEIGHT = 34;
const LANE_HEIGHT = 30;
const MAX_LABEL = 30;

const ms = (iso: string | undefined): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function markTitle(event: TimelineEvent): string {
  return `${event.at} ${event.actor}: ${event.action}${event.target ? ` ${event.target}` : ''}: ${clip(event.detail, 300)}`;
}

export interface TimeScale {
  start: number;
  end: number;
  x(t: number): number;
}

export function timeScale(timeline: IncidentTimeline): TimeScale {
  const times = timeline.events.map((e) => ms(e.at)).filter((t): t is number => t !== undefined);
  const start = Math.min(...[ms(timeline.firstReportAt), ms(timeline.startedAt), ...times].filter((t): t is number => t !== undefined));
  const end = Math.max(start + 1, ...[ms(timeline.verifiedAt), ms(timeline.containedAt), ...times].filter((t): t is number => t !== undefined));
  const width = PLOT_RIGHT - PLOT_LEFT;
  return { start, end, x: (t) => Number((PLOT_LEFT + ((t - start) / (end - start)) * width).toFixed(1)) };
}

export function timelineSvg(timeline: IncidentTimeline): ViewNode {
  const scale = timeScale(timeline);
  const laneY = new Map(timeline.lanes.map((lane, i) => [lane.id, AXIS_HEIGHT + i * LANE_HEIGHT + LANE_HEIGHT / 2]));
  const height = AXIS_HEIGHT + timeline.lanes.length * LANE_HEIGHT + 8;
  const bottom = height - 4;

  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const x = Number((PLOT_LEFT + f * (PLOT_RIGHT - PLOT_LEFT)).toFixed(1));
    return h('g', { class: 'tick' },
      h('line', { x1: String(x), x2: String(x), y1: String(AXIS_HEIGHT - 6), y2: String(bottom) }),
      h('text', { x: String(x), y: String(AXIS_HEIGHT - 10), 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle' }, f === 0 ? '0' : `+${durationText(f * (scale.end - scale.start))}`),
    );
  });

  const lanes = timeline.lanes.map((lane, i) => {
    const y = AXIS_HEIGHT + i * LANE_HEIGHT;
    return h('g', { class: `lane lane-${lane.kind}` },
      h('rect', { class: 'lane-band', x: '0', y: String(y), width: String(SVG_WIDTH), height: String(LANE_HEIGHT) }),
      h('text', { class: 'lane-label', x: '8', y: String(y + LANE_HEIGHT / 2), 'dominant-baseline': 'middle' }, h('title', undefined, lane.label), clip(lane.label, MAX_LABEL)),
    );
  });

  const first = ms(timeline.firstReportAt ?? timeline.startedAt) ?? scale.start;
  const verified = ms(timeline.verifiedAt);
  const contained = ms(timeline.containedAt);
  const spanEnd = verified ?? contained;
  const span = spanEnd === undefined
    ? undefined
    : h('g', { class: verified !== undefined ? 'span span-verified' : 'span span-contained' },
        h('rect', { x: String(scale.x(first)), y: String(AXIS_HEIGHT), width: String(Math.max(2, scale.x(spanEnd) - scale.x(first))), height: String(timeline.lanes.length * LANE_HEIGHT) }),
        h('title', undefined, `${verified !== undefined ? 'first report to verified' : 'first report to contained'}: ${durationText(spanEnd - first)}`),
      );
  const spanLabel = spanEnd === undefined ? undefined : h('text', { class: 'span-label', x: String(PLOT_LEFT), y: '12' }, `${verified !== undefined ? 'verified' : 'contained'} ${durationText(spanEnd - first)} after the first report`);

  const marks = timeline.events.map((event) => {
    const t = ms(event.at) ?? scale.start;
    return h('circle', { class: `mark result-${event.result}`, cx: String(scale.x(t)), cy: String(laneY.get(event.lane) ?? AXIS_HEIGHT), r: '6' }, h('title', undefined, markTitle(event)));
  });

  return h('svg', { id: 'timeline-svg', class: 'timeline', viewBox: `0 0 ${SVG_WIDTH} ${height}`, width: String(SVG_WIDTH), height: String(height), role: 'img', 'aria-label': `timeline of ${timeline.incident}: ${timeline.events.length} events on ${timeline.lanes.length} lanes` },
    ...lanes,
    span,
    spanLabel,
    ...ticks,
    h('g', { class: 'marks' }, ...marks),
  );
}
