// The audit timeline view in a real browser (playwright-core driving Debian's chromium) on the real
// stack: `quarantine serve` in its own process, a worker, Temporal and the registry. A playbook incident
// whose report reason is an XSS payload waits for an approver; the list and the page show it, the page
// follows it live (a refusal by someone else appears without a reload), an approver approves from the
// page to verified, a non-approver cannot, and the payload is text that never runs.
import { startServe, type RunningServe } from './helpers/serve';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { compromiseId } from '../core/incident-id';
import { parsePolicy } from '../core/playbook/policy-file';
import type { PlaybookView } from '../core/playbook/view';
import { verifyChain } from '../core/timeline/chain';
import { hashUiPassword } from '../server/auth';
import { githubPublisher, seedTrustedPublishers } from '../stack/npmjs-standin';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';
import { playbookQuery } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { GITHUB_SECRETS, STANDARD_SECRETS } from './helpers/intake';
import { npmCli, pollUntil, runCli, startInProcessWorker, temporalAddress, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const OUTPUT = join(__dirname, '..', 'test-output');
const SECRET_KEY = randomBytes(32).toString('base64');
const PASSWORDS = { alice: 'correct horse battery staple', bob: 'bob-has-a-long-password', victor: 'victor-only-reads-here' };
// Alice may decide anything, Bob only tags and deprecations; Victor is no approver of the page at all.
const POLICY = parsePolicy({ version: 1, approvers: [{ name: 'alice', may: ['all'] }, { name: 'bob', may: ['deprecate', 'dist-tag'] }] });
const PAYLOAD = `<script>alert('xss')</script><img src=x onerror=alert('img')> stolen token`;


describe('the audit timeline view in a browser', () => {
  let registry: LocalRegistry;
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  let serve: RunningServe;
  let browser: Browser;
  let handle: WorkflowHandle<typeof playbookWorkflow>;
  let incident: string;
  let trustId: string;
  let waiting: PlaybookView['actions'];
  const dialogs: string[] = [];
  const taskQueue = uniqueTaskQueue('view');

  const pageAs = async (user: keyof typeof PASSWORDS): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ httpCredentials: { username: user, password: PASSWORDS[user] }, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    return { context, page };
  };
  const incidentUrl = () => `${serve.url}/incidents/${encodeURIComponent(incident)}`;

  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
    console.log(`browser: chromium ${browser.version()} (playwright-core ${require('playwright-core/package.json').version})`);
    registry = await testRegistry();
    worker = await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue, more: { QUARANTINE_SECRET_KEY: SECRET_KEY } });
    ({ client, close: closeClient } = await testClient());
    await seedTrustedPublishers(registry.url, registry.tokens.admin, '@acme/cli', [githubPublisher('acme/cli')]);
    serve = await startServe({
      TEMPORAL_ADDRESS: temporalAddress(),
      PORT: '0',
      QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-view-')),
      QUARANTINE_TASK_QUEUE: taskQueue,
      QUARANTINE_REGISTRY: registry.url,
      QUARANTINE_OWNED_PACKAGES: '@acme/*',
      GITHUB_WEBHOOK_SECRETS: GITHUB_SECRETS.join(','),
      QUARANTINE_WEBHOOK_SECRETS: STANDARD_SECRETS.join(','),
      QUARANTINE_SECRET_KEY: SECRET_KEY,
      QUARANTINE_UI_USERS: `alice:${await hashUiPassword(PASSWORDS.alice)},bob:${PASSWORDS.bob},victor:${PASSWORDS.victor}`,
      QUARANTINE_UI_APPROVERS: 'alice,bob',
    });
    const releases = [{ name: '@acme/cli', versions: ['2.0.1'] }];
    incident = compromiseId(registry.url, releases);
    handle = await client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: incident,
      taskQueue,
      args: [{
        compromise: { incident, registry: registry.url, trigger: 'malware', severity: 'critical', releases, advisories: ['MAL-2025-4242'], approvedReleases: [] },
        policy: POLICY,
        first: { report: { reportId: 'test:MAL-2025-4242', requestedBy: 'osv:MAL-2025-4242', reason: PAYLOAD, at: new Date().toISOString(), alert: { source: 'osv', sourceId: 'MAL-2025-4242', kind: 'malware', severity: 'critical', aliases: [], evidence: ['https://osv.dev/vulnerability/MAL-2025-4242', 'javascript:alert(3)'], withdrawn: false } }, releases },
      }],
    });
    const contained: PlaybookView = await pollUntil(() => handle.query(playbookQuery), (v) => ['contained', 'verified', 'failed'].includes(v.status));
    expect(contained.status).toBe('contained');
    waiting = contained.actions.filter((a) => a.status === 'waiting');
    trustId = waiting.find((a) => a.action.kind === 'revoke-trust')!.action.id;
  });
  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    await worker?.stop();
    await closeClient?.();
    await registry?.stop();
  });

  it('answers 401 with nothing of an incident to a visitor without credentials, on every route', async () => {
    const context = await browser.newContext();
    for (const path of ['/', '/incidents', `/incidents/${encodeURIComponent(incident)}`, `/incidents/${encodeURIComponent(incident)}.json`, `/incidents/${encodeURIComponent(incident)}/live.json`, `/incidents/${encodeURIComponent(incident)}/report.md`, '/assets/timeline.js']) {
      const response = await context.request.get(`${serve.url}${path}`);
      expect({ path, status: response.status(), challenge: response.headers()['www-authenticate'] }).toEqual({ path, status: 401, challenge: 'Basic realm="quarantine", charset="UTF-8"' });
      expect(await response.text()).not.toContain('acme');
    }
    // A browser that cannot log in shows nothing of the page.
    const page = await context.newPage();
    await expect(page.goto(`${serve.url}/incidents/${encodeURIComponent(incident)}`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await context.close();
  });

  it('lists the incident with its kind, status, packages, time to contain and what waits, filterable', async () => {
    const { context, page } = await pageAs('victor');
    const response = await page.goto(`${serve.url}/`);
    expect(response!.headers()['content-security-policy']).toMatch(/default-src 'self'/);
    const row = page.locator('tr.incident', { hasText: incident });
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual([incident, 'containment', 'contained', '@acme/cli', expect.stringMatching(/^\d+(\.\d)? m?s$/), String(waiting.length)]);
    await page.goto(`${serve.url}/incidents?q=no-such-package`);
    expect(await page.locator('#no-incidents').textContent()).toBe('No incident matches.');
    await page.goto(`${serve.url}/incidents?q=%40acme%2Fcli&status=contained`);
    await page.locator('tr.incident a', { hasText: incident }).click();
    await page.waitForURL(incidentUrl());
    expect(await page.locator('#status').textContent()).toMatch(/^contained/);
    await context.close();
  });

  it('shows the report reason as text: the <script> and onerror payload never runs', async () => {
    const { context, page } = await pageAs('victor');
    const violations: string[] = [];
    page.on('console', (m) => violations.push(m.text()));
    await page.goto(incidentUrl());
    const reason = page.locator('#reports td.reason');
    expect(await reason.textContent()).toBe(PAYLOAD);
    expect(await reason.innerHTML()).toContain('&lt;script&gt;alert(\'xss\')&lt;/script&gt;&lt;img src=x onerror=alert(\'img\')&gt;');
    expect(await page.locator('#reports img, #events img, #reports script').count()).toBe(0);
    // The javascript: evidence link is shown as text, not as a link.
    expect(await page.locator('#reports a.evidence-link').allTextContents()).toEqual(['https://osv.dev/vulnerability/MAL-2025-4242']);
    expect(await page.locator('#reports .evidence-text').allTextContents()).toEqual(['javascript:alert(3)']);
    // The payload is in the audit trail too, as text.
    expect(await page.locator('#events td.detail', { hasText: "<script>alert('xss')</script>" }).count()).toBe(1);
    await page.waitForTimeout(500);
    expect(dialogs).toEqual([]);
    await context.close();
  });

  it('offers a read-only user no decision, and refuses one forged from the page', async () => {
    const { context, page } = await pageAs('victor');
    await page.goto(incidentUrl());
    expect(await page.locator('#pending .read-only').textContent()).toMatch(/victor is not an approver here/);
    expect(await page.locator('#pending button').count()).toBe(0);
    const forged = await page.evaluate(async ([id, action]) => {
      // Runs in the page: the browser's document, which this project's Node types do not declare.
      const page = globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string } } };
      const csrf = page.document.querySelector('meta[name="csrf-token"]').getAttribute('content');
      const response = await fetch(`/api/incidents/${encodeURIComponent(id!)}/reject`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ actions: [action] }) });
      return { status: response.status, body: await response.text() };
    }, [incident, trustId]);
    expect(forged.status).toBe(403);
    expect(forged.body).toMatch(/victor is not an approver here/);
    await context.close();
  });

  it('follows the incident live: a refusal of another approver appears, then an approval from the page takes it to verified, without a reload', async () => {
    const alice = await pageAs('alice');
    await alice.page.goto(incidentUrl());
    await alice.page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true));
    expect(await alice.page.locator('#picture svg circle.mark').count()).toBeGreaterThan(3);
    expect(await alice.page.locator('#picture svg .span-contained').count()).toBe(1);

    // Bob is an approver of the page, but the policy does not let him revoke a trusted publisher.
    const bob = await pageAs('bob');
    await bob.page.goto(incidentUrl());
    await bob.page.locator(`tr.pending-action[data-action="${trustId}"] input[name="otp"]`).fill(REGISTRY_OTP);
    await bob.page.locator(`button.approve[data-action="${trustId}"]`).click();
    await bob.page.locator('#decision-status.decision-refused').waitFor();
    expect(await bob.page.locator('#decision-status').textContent()).toBe('refused (403): bob may not approve revoke-trust under the policy');
    await bob.context.close();
    // Alice's page shows the refusal on its trail by itself.
    await alice.page.locator('#events tr.result-failed', { hasText: 'bob may not approve revoke-trust' }).waitFor({ timeout: 15_000 });

    // A request with the session's credentials but without the page's token is refused.
    const noToken = await alice.page.evaluate(async (id) => (await fetch(`/api/incidents/${encodeURIComponent(id)}/approve`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, incident);
    expect(noToken).toBe(403);

    // Every waiting action, one by one, as a person would.
    for (const { action } of waiting) {
      const row = alice.page.locator(`tr.pending-action[data-action="${action.id}"]`);
      if (action.otp) await row.locator('input[name="otp"]').fill(REGISTRY_OTP);
      await row.locator('input[name="note"]').fill('the release workflow is compromised');
      await row.locator('button.approve').click();
      await alice.page.locator('#decision-status.decision-ok', { hasText: action.id }).waitFor();
    }
    await alice.page.locator('#status', { hasText: /^verified/ }).waitFor({ timeout: 30_000 });
    expect(await alice.page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    expect(await alice.page.locator('#picture svg .span-verified').count()).toBe(1);
    expect(await alice.page.locator('#events tr', { hasText: 'approved' }).first().textContent()).toContain('alice');
    expect(await alice.page.locator('#pending').textContent()).toContain('Nothing waits.');
    await alice.page.screenshot({ path: join(OUTPUT, 'timeline-view.png'), fullPage: true });
    expect((await npmCli(registry.url, registry.tokens.admin)(['trust', 'list', '@acme/cli', '--json'])).trim()).toBe('');
    expect(dialogs).toEqual([]);
    await alice.context.close();
  });

  it('exports the timeline hash-chained (checked by quarantine timeline verify), the report in Markdown and the blast radius as VEX', async () => {
    const auth = `Basic ${Buffer.from(`victor:${PASSWORDS.victor}`).toString('base64')}`;
    const get = async (suffix: string) => fetch(`${incidentUrl()}${suffix}`, { headers: { authorization: auth } });
    const exported = await get('.json');
    expect(exported.headers.get('content-type')).toMatch(/^application\/json/);
    const text = await exported.text();
    const document = JSON.parse(text) as { status: string; events: { hash: string; prev: string }[] };
    expect(document.status).toBe('verified');
    expect(verifyChain(document)).toMatchObject({ ok: true });

    const file = join(mkdtempSync(join(tmpdir(), 'quarantine-chain-')), 'timeline.json');
    writeFileSync(file, text);
    expect(await runCli(['timeline', 'verify', file])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^intact: \d+ events, head [0-9a-f]{64}/) });
    writeFileSync(file, text.replace('the release workflow is compromised', 'nothing to see here'));
    expect(await runCli(['timeline', 'verify', file])).toMatchObject({ code: 1, stdout: expect.stringMatching(/^BROKEN: event \d+ \(seq \d+\) was changed/) });
    // The CLI exports the same chain from the same read model.
    const fromCli = JSON.parse((await runCli(['timeline', incident, '--chained'])).stdout) as { chain: { head: string } };
    expect(fromCli.chain.head).toBe(document.events.at(-1)!.hash);

    const report = await (await get('/report.md')).text();
    expect(report).toMatch(/^- \*\*Approved by:\*\* alice$/m);
    expect(report).toMatch(/^- \*\*Status:\*\* verified$/m);
    expect(report).not.toMatch(/(?<!\\)<script/);

    const vex = JSON.parse(await (await get('/vex.json')).text()) as { vulnerabilities: { id: string }[]; components: { purl: string }[] };
    expect(vex.vulnerabilities[0]!.id).toBe('MAL-2025-4242');
    expect(vex.components.map((c) => c.purl)).toEqual(['pkg:npm/%40acme/cli@2.0.1']);
  });
});
