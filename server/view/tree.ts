// The timeline pages as a tree of plain data ({t: tag, a: attributes, c: children}), written out two
// ways: as HTML text by the server (toHtml, escaping every text and attribute value), and as DOM by the
// page's script (server/view/client.ts), which builds it with createElement and textContent and never
// parses markup. One renderer, so a live update shows exactly what a reload would.
export interface ViewNode {
  t: string;
  a?: Record<string, string>;
  c?: ViewChild[];
}
export type ViewChild = ViewNode | string;

/** Attributes the pages use; the script refuses any other (no event handlers, no style). */
export const ALLOWED_ATTRIBUTES = new Set([
  'id', 'class', 'href', 'title', 'type', 'name', 'value', 'placeholder', 'for', 'method', 'action', 'role', 'colspan', 'datetime', 'autocomplete', 'inputmode',
  'lang', 'charset', 'content', 'rel', 'src', 'defer',
  'aria-label', 'aria-live', 'data-action', 'data-decision', 'data-otp', 'data-version',
  'viewBox', 'width', 'height', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'r', 'cx', 'cy', 'rx', 'text-anchor', 'dominant-baseline',
]);

/** What the page's script may build from a live update: no script, frame, link, form target or source attribute. */
export const LIVE_ATTRIBUTES = [...ALLOWED_ATTRIBUTES].filter((a) => !['src', 'rel', 'content', 'charset', 'defer', 'action', 'method'].includes(a));

export const SVG_TAGS = new Set(['svg', 'g', 'rect', 'circle', 'line', 'text', 'title']);

export function h(t: string, a: Record<string, string | undefined> | undefined, ...c: (ViewChild | undefined | false | ViewChild[])[]): ViewNode {
  const attributes = Object.fromEntries(Object.entries(a ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
  for (const name of Object.keys(attributes)) if (!ALLOWED_ATTRIBUTES.has(name)) throw new Error(`attribute ${name} is not one the pages may use`);
  const children = c.flat().filter((x): x is ViewChild => x !== undefined && x !== false);
  return { t, ...(Object.keys(attributes).length > 0 ? { a: attributes } : {}), ...(children.length > 0 ? { c: children } : {}) };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Text for HTML content or a quoted attribute: markup characters as entities, control and bidi characters shown as \u escapes. */
export function escapeHtml(text: string): string {
  return text
    .replace(INVISIBLE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);
}

/** Only links of our own (a path) or to http(s) pages: never javascript:, data: or the like. */
export function safeHref(href: string): string | undefined {
  if (/^\/(?!\/)/.test(href)) return href;
  try {
    const url = new URL(href);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

const VOID = new Set(['meta', 'link', 'input', 'br']);

export function toHtml(node: ViewChild): string {
  if (typeof node === 'string') return escapeHtml(node);
  const attributes = Object.entries(node.a ?? {})
    .map(([name, value]) => ` ${name}="${escapeHtml(name === 'href' ? (safeHref(value) ?? '#') : value)}"`)
    .join('');
  if (VOID.has(node.t)) return `<${node.t}${attributes}>`;
  return `<${node.t}${attributes}>${(node.c ?? []).map(toHtml).join('')}</${node.t}>`;
}
