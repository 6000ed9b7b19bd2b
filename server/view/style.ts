// The timeline pages' stylesheet, served as /assets/timeline.css (the Content-Security-Policy allows no
// inline style). Results are told apart by shape of the table row too, not by colour alone.
export const TIMELINE_CSS = `
:root { color-scheme: light; --ok: #1a7f37; --unchanged: #6e7781; --waiting: #bf8700; --failed: #cf222e; --declined: #8250df; --info: #0969da; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1f2328; background: #fff; }
header.top { display: flex; justify-content: space-between; padding: 8px 16px; background: #24292f; color: #fff; }
header.top a { color: #fff; font-weight: 600; text-decoration: none; }
main { padding: 8px 16px 32px; max-width: 1200px; }
h1 { font-size: 20px; word-break: break-all; }
h2 { font-size: 16px; margin-top: 24px; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 3px 6px; border-bottom: 1px solid #eaeef2; }
td.json, td.detail, td.reason { word-break: break-word; max-width: 360px; }
td.json { font: 12px ui-monospace, monospace; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
dt { color: #57606a; }
dd { margin: 0; }
.status { font-weight: 600; }
.status-verified, .status-contained { color: var(--ok); }
.status-failed { color: var(--failed); }
.status-held, .status-running, .status-recorded { color: var(--waiting); }
.picture { overflow-x: auto; border: 1px solid #d0d7de; border-radius: 6px; }
svg.timeline { display: block; font: 11px system-ui, sans-serif; }
.lane-band { fill: #fff; }
.lane:nth-child(even) .lane-band { fill: #f6f8fa; }
.lane-label { fill: #1f2328; }
.lane-github .lane-label, .lane-registry .lane-label, .lane-incident .lane-label { fill: #57606a; font-style: italic; }
.tick line { stroke: #d0d7de; stroke-dasharray: 2 3; }
.tick text, .span-label { fill: #57606a; }
.span rect { fill: var(--ok); fill-opacity: 0.10; stroke: var(--ok); stroke-opacity: 0.5; }
.span-contained rect { fill: var(--waiting); stroke: var(--waiting); stroke-dasharray: 4 3; }
.mark { stroke: #fff; stroke-width: 1.5; }
.result-ok.mark { fill: var(--ok); } .result-unchanged.mark { fill: var(--unchanged); } .result-waiting.mark { fill: var(--waiting); }
.result-failed.mark { fill: var(--failed); } .result-declined.mark { fill: var(--declined); } .result-info.mark { fill: var(--info); }
tr.event td.result { font-weight: 600; }
tr.result-ok td.result { color: var(--ok); } tr.result-waiting td.result { color: var(--waiting); } tr.result-failed td.result { color: var(--failed); }
tr.result-declined td.result { color: var(--declined); } tr.result-info td.result { color: var(--info); } tr.result-unchanged td.result { color: var(--unchanged); }
ul.legend { list-style: none; padding: 0; display: flex; gap: 16px; flex-wrap: wrap; }
ul.legend li::before { content: "\\25CF  "; }
.legend-ok::before { color: var(--ok); } .legend-unchanged::before { color: var(--unchanged); } .legend-waiting::before { color: var(--waiting); }
.legend-failed::before { color: var(--failed); } .legend-declined::before { color: var(--declined); } .legend-info::before { color: var(--info); }
.decision-ok { color: var(--ok); font-weight: 600; } .decision-refused { color: var(--failed); font-weight: 600; }
td.decide input { width: 130px; margin-right: 4px; }
button.approve { background: var(--ok); color: #fff; border: 0; padding: 3px 10px; border-radius: 4px; }
button.reject { background: #fff; color: var(--failed); border: 1px solid var(--failed); padding: 2px 10px; border-radius: 4px; margin-left: 4px; }
.read-only, .live { color: #57606a; }
.evidence-text { font-family: ui-monospace, monospace; color: #57606a; }
form.filter input { margin-right: 6px; }
`;
