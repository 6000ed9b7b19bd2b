// `quarantine dev` (what `npm start` runs): its own Temporal dev server, registry and worker, a demo
// incident contained, the places to look printed, and Ctrl-C stops everything it started.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, jsonOf, npmCli, runCli } from './helpers/stack';

async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

describe('quarantine dev', () => {
  it('contains the demo release, says where to look, and stops everything on Ctrl-C', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-dev-')) };
    delete env.TEMPORAL_ADDRESS;
    delete env.TEMPORAL_NAMESPACE;
    // The printed commands name the dev server's address and nothing else: run them in a shell like that.
    const asPrinted = { TEMPORAL_NAMESPACE: undefined };
    const child = spawn(process.execPath, [CLI, 'dev'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // stdout and stderr are two pipes: their chunks arrive in either order, so wait for both.
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (stderr.includes('press Ctrl-C') && stdout.includes('suspect publishers')) resolve();
      };
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        check();
      });
      child.stdout.on('data', check);
      void exited.then((code) => reject(new Error(`quarantine dev exited (${code}) early:\n${stderr}\n${stdout}`)));
    });

    expect(stdout).toMatch(/releases {2}@acme\/core@1\.2\.3 on http/);
    expect(stdout).toMatch(/status {4}contained: contained, read back; some actions wait for a person/);
    const registry = /registry {10}(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
    const ui = /Temporal Web UI {3}(http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)?.[1];
    expect(registry).toBeDefined();
    expect(ui).toBeDefined();
    expect(stdout).toContain(`npm view @acme/core@1.2.3 deprecated --registry ${registry}`);

    // The printed command, run as printed, shows the deprecation.
    const npm = npmCli(registry!);
    expect((await npm(['view', '@acme/core@1.2.3', 'deprecated'])).trim()).toMatch(/^SECURITY: this release is compromised/);
    expect((await npm(['dist-tag', 'ls', '@acme/core'])).trim()).toBe('latest: 1.2.2');
    expect(await answers(ui!)).toBe(true);

    // The incident's page in the timeline view: nothing without the login, the incident with the printed one.
    const page = /incident timeline (http:\/\/127\.0\.0\.1:\d+\/incidents\/\S+) {3}\(log in as (\S+), password (\S+): made up for this run\)/.exec(stdout);
    expect(page).not.toBeNull();
    expect((await fetch(page![1]!)).status).toBe(401);
    const shown = await fetch(page![1]!, { headers: { authorization: `Basic ${Buffer.from(`${page![2]}:${page![3]}`).toString('base64')}` } });
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('@acme/core');

    // So does the blast-radius command: dev indexed the demo packages' provenance.
    const blast = /blast radius {6}(QUARANTINE_DATA_DIR=\S+) npx quarantine (affected --run \d+)/.exec(stdout);
    expect(blast).not.toBeNull();
    const affected = await runCli([...blast![2]!.split(' '), '--json'], { QUARANTINE_DATA_DIR: blast![1]!.slice('QUARANTINE_DATA_DIR='.length) });
    expect(jsonOf<{ releases: { name: string; version: string }[] }>(affected).releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.3']);

    // What waits for a person (2FA for publishing) is approved with the printed command, as printed.
    const approve = /approve the rest {2}TEMPORAL_ADDRESS=(\S+) QUARANTINE_DATA_DIR=(\S+) npx quarantine (approve \S+ --otp \d+)/.exec(stdout);
    expect(approve).not.toBeNull();
    const approved = await runCli([...approve![3]!.split(' '), '--json'], { ...asPrinted, TEMPORAL_ADDRESS: approve![1]!, QUARANTINE_DATA_DIR: approve![2]! });
    expect(approved.code).toBe(0);
    expect(jsonOf<{ status: string; actions: { action: { id: string }; status: string }[] }>(approved)).toMatchObject({
      status: 'verified',
      actions: expect.arrayContaining([expect.objectContaining({ action: expect.objectContaining({ id: 'require-2fa:@acme/core' }), status: 'done' })]),
    });

    // The on-call path through the server, run as printed: it reaches no Temporal itself.
    const viaServer = /via the server {4}QUARANTINE_SERVER=(\S+) QUARANTINE_SERVER_USER=(\S+) QUARANTINE_SERVER_PASSWORD=(\S+) npx quarantine (\S+)/.exec(stdout);
    expect(viaServer).not.toBeNull();
    const reported = await runCli([viaServer![4]!, '--json'], { QUARANTINE_SERVER: viaServer![1]!, QUARANTINE_SERVER_USER: viaServer![2]!, QUARANTINE_SERVER_PASSWORD: viaServer![3]!, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(reported.code).toBe(0);
    const throughServer = jsonOf<{ incident: string; status: string }>(reported);
    expect(throughServer.status).toMatch(/^(contained|verified)$/);
    expect((await npm(['view', '@acme/utils@1.2.0', 'deprecated'])).trim()).toMatch(/^SECURITY: this release is compromised/);
    // The server's incidents run under the demo's policy too: you may approve what waits in them.
    const otp = approve![3]!.split(' ').at(-1)!;
    const approvedThere = await runCli(['approve', throughServer.incident, '--otp', otp, '--json'], { ...asPrinted, TEMPORAL_ADDRESS: approve![1]!, QUARANTINE_DATA_DIR: approve![2]! });
    expect(approvedThere.stderr).toBe('');
    expect(jsonOf<{ status: string }>(approvedThere).status).toBe('verified');

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(await answers(registry!)).toBe(false);
    expect(await answers(ui!)).toBe(false);
    expect(await answers(page![1]!)).toBe(false);
  });
});
