// `quarantine affected`: which of our releases an alert reaches, answered from the release index
// (SBOMs and provenance in QUARANTINE_DATA_DIR). Reads only; it never contains anything.
import { parseArgs } from 'node:util';
import sjson from 'secure-json-parse';
import * as semver from 'semver';
import validatePackageName from 'validate-npm-package-name';
import { parseOsvAlerts } from '../core/alerts/osv';
import { AlertRejection } from '../core/alert';
import { affectedByBuild, affectedByComponents, checkBuildQuery, publisherFindings, QueryError, type BlastRadius, type ComponentQuery } from '../core/blast-radius';
import { releaseKey } from '../core/release-index';
import { printable } from '../core/spec';
import { openReleaseIndex } from '../store/sqlite-store';
import { releaseIndexFile } from '../store/paths';
import { buildVex, type VexVulnerability } from '../core/vex';
import type { Output } from './contain';
import { FileInputError, readBoundedFile } from './files';
import { terminalSafe } from './render';

export const AFFECTED_USAGE = `usage:
  quarantine affected <name>@<version|range>      our releases that contain the package at those versions
  quarantine affected --osv <file>                 ... named by an OSV record (or an array of them)
  quarantine affected --run <id> --commit <sha> --workflow <path> --since <time> --until <time>
                                                   our releases built by a compromised build
  quarantine affected --publisher [--expect-repo owner/repo] [--expect-workflow path]
                                                   releases without provenance, or from an unexpected publisher
options: --json (an object whose releases array lists {name, version, reasons}); --vex [--id ID] (the
  answer as a CycloneDX VEX document, for the advisory); repeat --run/--commit/
  --workflow/--osv for alternatives. An over-broad answer is marked: a human decides, not the tool.
exit status: 0 answered (affected or not), 2 bad input, 4 over-broad`;

class UsageError extends Error {}

const MAX_OSV_BYTES = 16 * 1024 * 1024;

/** `name@range`: the last '@' that is not a scope's. */
export function componentQueryFromSpec(spec: string): ComponentQuery {
  const at = spec.lastIndexOf('@');
  if (at <= 0) throw new UsageError(`"${printable(spec)}" is not <name>@<version|range>`);
  const name = spec.slice(0, at);
  const range = spec.slice(at + 1).trim();
  if (!validatePackageName(name).validForOldPackages) throw new UsageError(`"${printable(name)}" is not an npm package name`);
  if (semver.valid(range) === range) return { name, versions: [range], ranges: [], osvRanges: [] };
  if (range === '' || semver.validRange(range, { includePrerelease: true }) === null) {
    throw new UsageError(`"${printable(range)}" is not a version or semver range`);
  }
  return { name, versions: [], ranges: [range], osvRanges: [] };
}

function componentQueriesFromOsv(file: string): { queries: ComponentQuery[]; ids: string[] } {
  const text = readBoundedFile(file, MAX_OSV_BYTES);
  let body: unknown;
  try {
    body = sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw new UsageError(`${printable(file)}: not JSON (${printable((err as Error).message)})`);
  }
  try {
    const parsed = parseOsvAlerts(body);
    if (parsed.outcome === 'ignored') throw new UsageError(`${printable(file)}: ${parsed.reason}`);
    return {
      queries: parsed.alerts.flatMap((a) => a.packages.map((p) => ({ name: p.name, versions: p.versions, ranges: p.ranges, osvRanges: p.osvRanges }))),
      ids: parsed.alerts.map((a) => a.sourceId),
    };
  } catch (err) {
    if (err instanceof AlertRejection) throw new UsageError(`${printable(file)}: ${err.message}`);
    throw err;
  }
}

export function renderBlastRadius(radius: BlastRadius): string {
  const lines = [`${radius.query}: ${radius.releases.length} of ${radius.indexedReleases} indexed releases`];
  if (radius.overBroad) lines.push(`OVER-BROAD, a human decides: ${radius.overBroad}`);
  if (radius.pathsOmitted) lines.push(`(${radius.pathsOmitted})`);
  for (const release of radius.releases) {
    lines.push(`  ${releaseKey(release)}`);
    for (const reason of release.reasons) {
      if (reason.kind === 'component') lines.push(`    ${reason.direct ? 'direct' : 'transitive'}: ${reason.path.length > 0 ? reason.path.join(' > ') : `${reason.component.name}@${reason.component.version}`}`);
      else if (reason.kind === 'build') lines.push(`    built by ${reason.matched.join(', ')} (provenance ${reason.provenance.status})`);
      else lines.push(`    ${reason.finding}`);
    }
  }
  for (const w of radius.warnings) lines.push(`warning: ${w}`);
  return lines.map(terminalSafe).join('\n');
}

export async function affectedCommand(argv: string[], output: Output, env: NodeJS.ProcessEnv): Promise<number> {
  let radius: BlastRadius;
  let json = false;
  let vex: VexVulnerability | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        osv: { type: 'string', multiple: true },
        run: { type: 'string', multiple: true },
        commit: { type: 'string', multiple: true },
        workflow: { type: 'string', multiple: true },
        since: { type: 'string' },
        until: { type: 'string' },
        publisher: { type: 'boolean', default: false },
        'expect-repo': { type: 'string', multiple: true },
        'expect-workflow': { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        vex: { type: 'boolean', default: false },
        id: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      output.out(AFFECTED_USAGE);
      return 0;
    }
    json = values.json;
    if (values.vex && json) throw new UsageError('--vex and --json are two outputs: choose one');
    const byComponent = positionals.length > 0 || (values.osv?.length ?? 0) > 0;
    const byBuild = [values.run, values.commit, values.workflow].some((l) => (l?.length ?? 0) > 0) || values.since !== undefined || values.until !== undefined;
    const kinds = [byComponent, byBuild, values.publisher].filter(Boolean).length;
    if (kinds !== 1) throw new UsageError(kinds === 0 ? 'say what to look for' : 'ask one kind of question at a time: a component, a build, or --publisher');
    // Inputs are checked before the index is opened: bad input changes nothing, not even a new empty file.
    const osv = (values.osv ?? []).map(componentQueriesFromOsv);
    const componentQueries = byComponent ? [...positionals.map(componentQueryFromSpec), ...osv.flatMap((o) => o.queries)] : [];
    if (values.vex) {
      const ids = osv.flatMap((o) => o.ids);
      const id = values.id ?? (ids.length === 1 ? ids[0] : undefined);
      if (id === undefined) throw new UsageError('--vex needs the vulnerability it is about: --id <id> (or one --osv record)');
      vex = { id, aliases: ids.filter((other) => other !== id), source: { name: 'quarantine' } };
    }
    const buildQuery = { runIds: values.run, commits: values.commit, workflows: values.workflow, since: values.since, until: values.until };
    if (byBuild) checkBuildQuery(buildQuery);
    const index = openReleaseIndex(releaseIndexFile(env));
    try {
      if (byComponent) radius = affectedByComponents(index, componentQueries);
      else if (byBuild) radius = affectedByBuild(index, buildQuery);
      else radius = publisherFindings(index, { repositories: values['expect-repo'], workflows: values['expect-workflow'] });
    } finally {
      index.close();
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof FileInputError || err instanceof QueryError || (err instanceof TypeError && 'code' in err)) {
      output.err(`quarantine affected: ${terminalSafe(err.message)}\n${AFFECTED_USAGE}`);
      return 2;
    }
    throw err;
  }
  if (vex) output.out(buildVex(radius, vex, { now: new Date() }).json);
  else output.out(json ? JSON.stringify(radius, null, 2) : renderBlastRadius(radius));
  return radius.overBroad ? 4 : 0;
}
