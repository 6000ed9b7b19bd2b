// The `quarantine` command: one file per command beside this one; this file only dispatches.
import { parseArgs } from 'node:util';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY } from '../core/registry-url';
import { printable } from '../core/spec';
import type { IncidentRequest } from '../core/incident';
import { describeTemporalFailure, REFUSED_EXIT_CODE, TemporalRefusal, type TemporalTarget } from '../worker/temporal-refusal';
import type { Output } from './contain';

// Temporal's client is a large module graph (gRPC, protobuf): only the commands that talk to Temporal
// load it, below, so `affected`, `sbom` and `provenance` start as fast as the index they read.
const usage = (taskQueue: string) => `quarantine: contain a compromised npm release in seconds

usage:
  quarantine <name>@<version>... [--reason TEXT] [--registry URL] [--plan] [--json]
      one incident for the releases named (one package or many): deprecate them, move dist-tags off
      them, read the registry back; your command approves exactly these releases, and what else the
      policy gates (passwords, unpublish, revocations) waits for \`quarantine approve\`. --plan reads
      and prints the whole plan with its gates and the one-time passwords it needs, and writes nothing
  quarantine --osv <file|folder> [--reason TEXT] [--registry URL] [--plan] [--json]
      the same from OSV records (a file, or a folder of *.json): one incident, named by the records' ids
      as the intake names it, for the exact releases of ours (QUARANTINE_OWNED_PACKAGES) they name,
      bounded ranges resolved against the registry; a range that names no release in particular
      (introduced "0", no end) is shown and held for a person; packages not ours are listed, left alone
  quarantine <incident id>
      report on an incident opened before the playbook (incident-…): approves what it holds
  quarantine list [--status STATUS] [--json]
      the incidents, newest first: status, kind, packages, time to contain, what waits, id
  quarantine timeline <incident | name@version> [--registry URL] [--json | --chained]
      print the audit timeline of an incident (--chained: the hash-chained export the server serves)
  quarantine timeline verify <file> [--json]
      check the hash chain of an exported timeline: exit 0 intact, 1 broken
  quarantine approve <incident> [action id...] [--otp CODE] [--as NAME] [--note TEXT] [--hosts-swept]
      approve actions of a playbook incident that wait for a person (default: every one); --otp when
      npm asks a one-time password (trusted publishers, staged publishes, 2FA settings); --hosts-swept
      to revoke a token once the machines that held it were cleaned
  quarantine reject <incident> [action id...] [--as NAME] [--note TEXT]
  quarantine rollback <incident> [--otp CODE] [--as NAME] [--reason TEXT]
      undo what can be undone (deprecations, dist-tags, trusted publishers, 2FA settings) and list what
      cannot (an unpublish, a rejected staged publish, a revoked token)
  quarantine close <incident | name@version> [--reason TEXT] [--registry URL]
      close an incident: later reports start a new one (open incidents close after 7 quiet days)
  quarantine affected <name>@<range> | --osv FILE | --run ID | --commit SHA | --workflow PATH | --since/--until TIME | --publisher
      which of our releases an alert reaches, from the release index (quarantine affected --help)
  quarantine sbom ingest <file|folder>... [--release name@version]
      index our releases' CycloneDX SBOMs
  quarantine provenance sync <name>... [--registry URL]
      index our releases' npm provenance (verified offline): which repository, workflow, commit, run built each
  quarantine worker        run a worker (registry token from NPM_TOKEN)
  quarantine serve [--port N]
                           the alert intake: webhooks from GitHub, OSV feeds, npm audit, in-house scanners
  quarantine dev [--once]  run everything locally: Temporal dev server, worker, registry, a demo incident
                           (--once: stop after the demo instead of waiting for Ctrl-C)

environment:
  QUARANTINE_REGISTRY      registry URL (default ${PUBLIC_NPM_REGISTRY})
  NPM_TOKEN                the registry token, read by the worker only
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*   the Temporal connection
  QUARANTINE_TASK_QUEUE    task queue (default ${taskQueue})
  QUARANTINE_DATA_DIR      the release index, the intake journal and the secret key (default ~/.local/share/quarantine)
  QUARANTINE_SECRET_KEY    seals one-time passwords in Temporal (base64, 32 bytes; shared by CLI and worker;
                           default: a key file in the data directory)

options:
  --wait SECONDS           stop following after this long (the incident goes on; default 600)

  QUARANTINE_POLICY        the containment policy file (docs/policy.md; default: the safe built-in one)
  QUARANTINE_SERVER        report releases through quarantine serve at this URL instead of Temporal, with
                           QUARANTINE_SERVER_USER and QUARANTINE_SERVER_PASSWORD (a user of its QUARANTINE_UI_USERS)

exit status: 0 contained (or planned), 1 not contained, 2 bad input, 3 gave up waiting,
  ${REFUSED_EXIT_CODE} Temporal unreachable or refused (address, namespace, permission, search attributes)`;

export async function main(argv: string[], output: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  // These only read and write the local release index: their own options, no Temporal.
  if (argv[0] === 'affected') return (await import('./affected')).affectedCommand(argv.slice(1), output, env);
  if (argv[0] === 'sbom') return (await import('./sbom')).sbomCommand(argv.slice(1), output, env);
  if (argv[0] === 'provenance') return (await import('./provenance')).provenanceCommand(argv.slice(1), output, env);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        reason: { type: 'string' },
        registry: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        plan: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        wait: { type: 'string' },
        once: { type: 'boolean', default: false },
        port: { type: 'string' },
        otp: { type: 'string' },
        as: { type: 'string' },
        note: { type: 'string' },
        'hosts-swept': { type: 'boolean', default: false },
        status: { type: 'string' },
        osv: { type: 'string' },
        chained: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    output.err(`quarantine: ${printable((err as Error).message)}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const osvPath = values.osv;
  if (osvPath !== undefined && positionals.length > 0) {
    output.err('quarantine: --osv takes the releases from the records: name no release or command beside it');
    return 2;
  }
  const { TASK_QUEUE } = await import('../core/task-queue');
  if (values.help || (command === undefined && osvPath === undefined) || command === 'help') {
    (command === undefined && !values.help ? output.err : output.out)(usage(TASK_QUEUE));
    return command === undefined && !values.help ? 2 : 0;
  }
  const taskQueue = env.QUARANTINE_TASK_QUEUE || TASK_QUEUE;

  let registry: string;
  let waitMs: number;
  try {
    registry = normalizeRegistryUrl(values.registry ?? (env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY));
    waitMs = values.wait === undefined ? 10 * 60_000 : Number(values.wait) * 1000;
    if (!Number.isFinite(waitMs) || waitMs <= 0) throw new Error('--wait takes a number of seconds');
  } catch (err) {
    output.err(`quarantine: ${(err as Error).message}`);
    return 2;
  }

  if (command === 'worker') {
    try {
      // Bad settings are bad input, said before anything connects.
      (await import('../worker/config')).workerConfigFromEnv(env);
    } catch (err) {
      output.err(`quarantine worker: ${printable((err as Error).message)}`);
      return 2;
    }
    const { runWorker } = await import('../worker/index');
    try {
      await runWorker(env, output.err);
    } catch (err) {
      return refused(err, output, 'quarantine worker');
    }
    return 0;
  }
  if (command === 'serve') {
    const { runServe } = await import('./serve');
    const port = values.port === undefined ? undefined : Number(values.port);
    return runServe(env, port, output);
  }
  if (command === 'dev') {
    const { runDev } = await import('./dev');
    return runDev(output, { once: values.once });
  }

  if (command === 'list') {
    const { checkStatusFilter, list } = await import('./list');
    try {
      if (rest.length > 0) throw new Error('list takes no argument (filter with --status)');
      checkStatusFilter(values.status);
    } catch (err) {
      output.err(`quarantine list: ${(err as Error).message}`);
      return 2;
    }
    let connected;
    try {
      connected = await (await import('./client')).connectClient();
    } catch (err) {
      return refused(err, output, 'quarantine list');
    }
    try {
      return await list(connected.client, { json: values.json, colour: colourOutput(env), ...(values.status ? { status: values.status } : {}) }, output);
    } catch (err) {
      return refused(err, output, 'quarantine list', connected.target);
    } finally {
      await connected.close();
    }
  }

  if (command === 'approve' || command === 'reject' || command === 'rollback') {
    const { decisionInput, decide } = await import('./decide');
    let input;
    try {
      input = decisionInput(command, rest, values);
    } catch (err) {
      output.err(`quarantine ${command}: ${(err as Error).message}`);
      return 2;
    }
    let connected;
    try {
      // A one-time password leaves this process sealed: the worker holds the same key.
      const codecs = input.otp ? [new (await import('../worker/secret-codec')).SealedSecretCodec(await cliSecretKey(env))] : undefined;
      connected = await (await import('./client')).connectClient(codecs ? { payloadCodecs: codecs } : {});
    } catch (err) {
      return refused(err, output, `quarantine ${command}`);
    }
    try {
      return await decide(connected.client, input, values.json, output);
    } catch (err) {
      if (err instanceof Error && err.name === 'WorkflowNotFoundError') {
        output.err(`quarantine: no such incident: ${printable(input.incident)}`);
        return 2;
      }
      return refused(err, output, `quarantine ${command}`, connected.target);
    } finally {
      await connected.close();
    }
  }

  if (command === 'timeline' && rest[0] === 'verify') {
    if (rest.length !== 2) {
      output.err('quarantine timeline verify takes one file: a timeline exported from /incidents/<id>.json or `quarantine timeline <id> --chained`');
      return 2;
    }
    return (await import('./timeline')).verifyTimelineFile(rest[1]!, values.json, output);
  }
  const takesIncident = command === 'timeline' || command === 'close';
  if (takesIncident && rest.length !== 1) {
    output.err(`quarantine: ${command} takes one incident id or name@version`);
    return 2;
  }
  // Validate everything before connecting anywhere: bad input must not reach Temporal.
  let incident: string;
  let candidates: string[] = [];
  let legacy: IncidentRequest | undefined;
  let onCall: import('./report').OnCallRequest | undefined;
  try {
    if (osvPath !== undefined) {
      const { policyFromEnv } = await import('../app/policy');
      const prepared = await (await import('./osv')).osvOnCallRequest({ path: osvPath, env, registry, reason: values.reason, planOnly: values.plan || values['dry-run'], policy: policyFromEnv(env) });
      if (!values.json) output.out(prepared.text);
      if (!prepared.built) {
        // Nothing of ours named exactly: nothing starts. A held range still needs a person: not contained.
        const held = prepared.containment.overBroad.length > 0;
        if (values.json) output.out(JSON.stringify({ incident: null, status: 'nothing to contain', contained: !held, osv: { ...prepared.containment, skipped: prepared.skipped } }));
        return held ? 1 : 0;
      }
      onCall = prepared.built;
      incident = onCall.incident;
    } else if (takesIncident) {
      candidates = (await import('./timeline')).incidentIdsFromArgument(rest[0]!, registry);
      incident = candidates[0]!;
    } else if (command !== undefined && rest.length === 0 && (await import('./on-call-output')).isLegacyIncidentId(command)) {
      // An incident of the containment type that came before the playbook: reporting its id approves it, as it always did.
      legacy = (await import('./contain')).incidentRequestFor({ spec: command, reason: values.reason, registry, dryRun: values['dry-run'] });
      incident = legacy.incident;
    } else {
      const server = (await import('./remote')).serverFromEnv(env);
      if (server) {
        const planOnly = values.plan || values['dry-run'];
        const named = values.registry ?? env.QUARANTINE_REGISTRY;
        return await (await import('./remote')).reportViaServer(server, { specs: positionals, ...(values.reason !== undefined ? { reason: values.reason } : {}), plan: planOnly, ...(named ? { registry: named } : {}), waitMs, json: values.json }, output);
      }
      const { policyFromEnv } = await import('../app/policy');
      onCall = (await import('./report')).onCallRequestFor({ specs: positionals, reason: values.reason, registry, planOnly: values.plan || values['dry-run'], policy: policyFromEnv(env) });
      incident = onCall.incident;
    }
  } catch (err) {
    output.err(`quarantine: ${(err as Error).message}`);
    return 2;
  }

  let connected;
  try {
    connected = await (await import('./client')).connectClient();
  } catch (err) {
    return refused(err, output);
  }
  const { client, target, close: disconnect } = connected;
  try {
    // A release names the playbook incident the on-call command opens, or one of the type before it.
    for (const candidate of candidates.slice(1)) {
      const found = await client.workflow.getHandle(incident).describe().then(() => true, (err: Error) => (err.name === 'WorkflowNotFoundError' ? false : Promise.reject(err)));
      if (found) break;
      incident = candidate;
    }
    if (command === 'close') return await (await import('./close')).close(client, incident, values.reason, output);
    if (onCall) return await (await import('./report')).reportOnCall(client, onCall, { json: values.json, taskQueue, waitMs }, output);
    if (legacy) return await (await import('./contain')).contain(client, legacy, { json: values.json, taskQueue, waitMs }, output);
    return await (await import('./timeline')).timeline(client, incident, { json: values.json, chained: values.chained, colour: colourOutput(env) }, output);
  } catch (err) {
    if (err instanceof Error && err.name === 'WorkflowNotFoundError') {
      output.err(`quarantine: no such incident: ${printable(incident)}`);
      return 2;
    }
    return refused(err, output, 'quarantine', target);
  } finally {
    await disconnect();
  }
}

/** Colour only for a person at a terminal, and never with NO_COLOR set (no-color.org). */
function colourOutput(env: NodeJS.ProcessEnv): boolean {
  return Boolean(process.stdout.isTTY) && !env.NO_COLOR;
}

async function cliSecretKey(env: NodeJS.ProcessEnv): Promise<Buffer> {
  const { secretCodecKey } = await import('../worker/secret-codec');
  const { secretKeyFile } = await import('../store/paths');
  return secretCodecKey(env, secretKeyFile(env));
}

/**
 * Temporal's refusals as one line (worded where they happened, or by describeTemporalFailure), exit
 * status REFUSED_EXIT_CODE; anything else is rethrown (a bug of ours says what it is).
 */
function refused(err: unknown, output: Output, prefix = 'quarantine', target?: TemporalTarget): number {
  const line = err instanceof TemporalRefusal ? err.message : target && describeTemporalFailure(err, target);
  if (line === undefined) throw err;
  output.err(`${prefix}: ${line}`);
  return REFUSED_EXIT_CODE;
}
