// The incident page's script, served as /assets/timeline.js (the Content-Security-Policy allows no
// inline script). It keeps the page live and sends decisions:
// - every 2 s while the incident runs, it reads /incidents/<id>/live.json and, when the chain's head or
//   the status moved, rebuilds the page's sections from the trees the server sends (server/view/tree.ts)
//   with createElement and textContent: no markup is ever parsed, so no text can become an element;
// - Approve and Reject post to /api/incidents/<id>/approve|reject (the approvals API, the same Temporal
//   updates and validators as the CLI) with this login's CSRF token, and show the answer or the refusal.
//
// A script, not a module (no import or export): tsc emits it as is for the browser. The browser's types
// are declared here, for this file only (the project's own lib is Node's).
(function timelinePage(): void {
  interface Node_ { textContent: string | null }
  interface Element_ extends Node_ {
    setAttribute(name: string, value: string): void;
    getAttribute(name: string): string | null;
    appendChild(child: Node_): void;
    replaceWith(node: Node_): void;
    closest(selector: string): Element_ | null;
    querySelector(selector: string): Element_ | null;
    querySelectorAll(selector: string): Iterable<Element_>;
    focus(): void;
    addEventListener(type: string, listener: (event: { target: unknown }) => void): void;
    value?: string;
    disabled?: boolean;
  }
  interface Document_ {
    getElementById(id: string): Element_ | null;
    querySelector(selector: string): Element_ | null;
    createElement(tag: string): Element_;
    createElementNS(ns: string, tag: string): Element_;
    createTextNode(text: string): Node_;
    activeElement: Element_ | null;
    addEventListener(type: string, listener: (event: { target: unknown }) => void): void;
    title: string;
  }
  interface ViewNode { t: string; a?: Record<string, string>; c?: (ViewNode | string)[] }
  interface Live { running: boolean; version: string; title: string; sections: Record<string, ViewNode> }

  const browser = globalThis as unknown as { document: Document_; location: { pathname: string }; setTimeout(f: () => void, ms: number): void };
  const doc = browser.document;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const SVG_TAGS = ['svg', 'g', 'rect', 'circle', 'line', 'text', 'title'];
  // What a live update may build: the page's own vocabulary, nothing that loads or runs anything.
  const TAGS = ['section', 'div', 'p', 'span', 'h1', 'h2', 'dl', 'dt', 'dd', 'ul', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a', 'code', 'br', 'input', 'button', ...SVG_TAGS];
  const ATTRIBUTES = ['id', 'class', 'href', 'title', 'type', 'name', 'value', 'placeholder', 'for', 'role', 'colspan', 'datetime', 'autocomplete', 'inputmode', 'aria-label', 'aria-live', 'data-action', 'data-decision', 'data-otp', 'data-version', 'viewBox', 'width', 'height', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'r', 'cx', 'cy', 'rx', 'text-anchor', 'dominant-baseline'];

  const match = /^\/incidents\/([^/]+)$/.exec(browser.location.pathname);
  const incident = match ? decodeURIComponent(match[1]!) : undefined;
  const csrf = doc.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  const base = incident === undefined ? '' : `/incidents/${encodeURIComponent(incident)}`;

  function safeHref(href: string): string {
    if (/^\/(?!\/)/.test(href) || /^https?:\/\//i.test(href)) return href;
    return '#';
  }

  function build(node: ViewNode | string, svg: boolean): Node_ {
    if (typeof node === 'string') return doc.createTextNode(node);
    const inSvg = svg || node.t === 'svg';
    if (!TAGS.includes(node.t)) return doc.createTextNode('');
    const element = inSvg && SVG_TAGS.includes(node.t) ? doc.createElementNS(SVG_NS, node.t) : doc.createElement(node.t);
    for (const [name, value] of Object.entries(node.a ?? {})) {
      if (!ATTRIBUTES.includes(name)) continue;
      element.setAttribute(name, name === 'href' ? safeHref(value) : value);
    }
    for (const child of node.c ?? []) element.appendChild(build(child, inSvg));
    return element;
  }

  // What the server rendered: the chain's summary hash, which changes with any event or status.
  let version = doc.getElementById('live')?.getAttribute('data-version') ?? '';

  function say(text: string, kind: 'ok' | 'refused' | 'info'): void {
    const out = doc.getElementById('decision-status');
    if (!out) return;
    out.textContent = text;
    out.setAttribute('class', `decision-${kind}`);
  }

  /** Which field an input is: its action's row and its name. */
  function fieldKey(input: Element_): string {
    return `${input.closest('[data-action]')?.getAttribute('data-action') ?? ''}\u0000${input.getAttribute('name') ?? ''}`;
  }

  /**
   * Puts a section's new rendering in place, with what the person typed into its fields (a password, a
   * note) and the focus carried over: a live update must not eat a one-time password half typed.
   */
  function replaceSection(id: string, tree: ViewNode): void {
    const old = doc.getElementById(id);
    if (!old) return;
    const typed = new Map<string, string>();
    for (const input of old.querySelectorAll('input')) if (input.value) typed.set(fieldKey(input), input.value);
    const focused = doc.activeElement && [...old.querySelectorAll('input')].includes(doc.activeElement) ? fieldKey(doc.activeElement) : undefined;
    const built = build(tree, false);
    if (!('querySelectorAll' in built)) return old.replaceWith(built);
    const fresh = built as Element_;
    let refocus: Element_ | undefined;
    for (const input of fresh.querySelectorAll('input')) {
      const key = fieldKey(input);
      const value = typed.get(key);
      if (value !== undefined) input.value = value;
      if (key === focused) refocus = input;
    }
    old.replaceWith(fresh);
    refocus?.focus();
  }

  async function refresh(): Promise<boolean> {
    const response = await fetch(`${base}/live.json`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
    if (!response.ok) throw new Error(`${response.status}`);
    const live = (await response.json()) as Live;
    if (live.version !== version) {
      version = live.version;
      for (const [id, tree] of Object.entries(live.sections)) replaceSection(id, tree);
      doc.title = live.title;
    }
    const indicator = doc.getElementById('live');
    if (indicator) indicator.textContent = live.running ? `live: following the incident (last read ${new Date().toLocaleTimeString()})` : 'the incident has ended: this is its final record';
    return live.running;
  }

  function poll(): void {
    refresh().then(
      (running) => { if (running) browser.setTimeout(poll, 2000); },
      () => browser.setTimeout(poll, 5000),
    );
  }

  async function decide(button: Element_): Promise<void> {
    const decision = button.getAttribute('data-decision');
    const action = button.getAttribute('data-action');
    if ((decision !== 'approve' && decision !== 'reject') || !action) return;
    const row = button.closest('tr');
    const otp = row?.querySelector('input[name="otp"]')?.value?.trim();
    const note = row?.querySelector('input[name="note"]')?.value?.trim();
    const body: Record<string, unknown> = { actions: [action] };
    if (note) body.note = note;
    if (decision === 'approve' && otp) body.otp = otp;
    button.disabled = true;
    say(`${decision === 'approve' ? 'approving' : 'rejecting'} ${action} …`, 'info');
    try {
      const response = await fetch(`/api${base}/${decision}`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify(body),
      });
      const answer = (await response.json().catch(() => ({}))) as { error?: string; status?: string };
      if (response.ok) say(`${decision === 'approve' ? 'approved' : 'rejected'} ${action}: the incident is ${answer.status ?? 'updated'}`, 'ok');
      else say(`refused (${response.status}): ${answer.error ?? 'no reason given'}`, 'refused');
    } catch (err) {
      say(`not sent: ${(err as Error).message}`, 'refused');
    } finally {
      button.disabled = false;
    }
    await refresh().catch(() => undefined);
  }

  doc.addEventListener('click', (event) => {
    const target = event.target as Element_ | null;
    const button = target?.closest?.('button[data-decision]');
    if (button) void decide(button);
  });
  if (incident !== undefined) poll();
})();
