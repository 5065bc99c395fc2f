/**
 * The ops console in a real browser: Debian's chromium (/usr/bin/chromium, or CHROMIUM_PATH), headless, driven by
 * playwright-core, against the service started in this process on a fresh data folder. One local subscriber, a
 * handler that fails while `subscriberDown` is true, makes dead letters in milliseconds (fast delivery loops).
 * Screenshots go to test/browser/screenshots/ (git-ignored).
 */
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@aws-lambda-powertools/logger';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startService, type RunningService } from '../../local/service.js';
import { listDeadLetters } from '../../local/eventbridge/events-database.js';
import { orderAcceptedPattern } from '../../src/events/order-accepted.js';
import { newDataDir, removeDataDir, SERVICE_START_TIMEOUT_MS } from '../e2e/support/local-service.js';
import { eventually } from '../support/eventually.js';
import { ACCEPTED_STATE_PATH } from '../support/order-samples.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const ORDER = { customerId: 'CUST-7Q2K9M4X', items: [{ sku: 'SKU-00012345', quantity: 3 }] };
const HOSTILE = '<script>alert(1)</script>';

let dataDir: string;
let service: RunningService;
let browser: Browser;
let consoleUrl: string;
let subscriberDown = false;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  dataDir = await newDataDir();
  const launching = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium's sandbox refuses to run as root (CI containers).
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
  service = await startService({
    dataDir,
    port: 0,
    retryIntervalMs: 0,
    logger: new Logger({ serviceName: 'order-intake', ...(process.env.LOG_LEVEL ? {} : { logLevel: 'SILENT' }) }),
    subscribers: [
      {
        kind: 'handler',
        name: 'flaky',
        ruleName: 'subscriber-flaky',
        eventPattern: orderAcceptedPattern,
        handler: async () => {
          if (subscriberDown) throw new Error('the flaky subscriber is down');
        },
      },
    ],
    delivery: { pollMs: 20, backoffMs: 5, maxBackoffMs: 20 },
  });
  browser = await launching;
  // The name the start line prints; the console also answers on 127.0.0.1.
  consoleUrl = `http://localhost:${service.port}/console`;
}, SERVICE_START_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  if (dataDir) await removeDataDir(dataDir);
});

async function postOrder(
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; requestId: string }> {
  const response = await fetch(`${service.url}/orders`, {
    method: 'POST',
    body: Buffer.from(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
  return {
    status: response.status,
    json: (await response.json()) as Record<string, unknown>,
    requestId: response.headers.get('x-amzn-requestid') ?? '',
  };
}

/** A fresh page that fails the test on any dialog (an alert would be an injected script running). */
async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('dialog', (dialog) => {
    throw new Error(`a dialog opened: ${dialog.message()}`);
  });
  return page;
}

const shoot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe('the ops console in a browser', () => {
  let accepted: { orderId: string; requestId: string };

  it('shows a new order in the list as it is taken, without a reload', async () => {
    const page = await newPage();
    await page.goto(consoleUrl);
    await page.getByText('Live: new executions appear here').waitFor();
    await page.evaluate(() => Object.assign(globalThis, { notReloaded: true }));

    const body = JSON.stringify({ ...ORDER, clientReference: `browser-${Date.now()}` });
    const answer = await postOrder(body);
    expect(answer.status).toBe(202);
    accepted = { orderId: String(answer.json.orderId), requestId: answer.requestId };

    const row = page.locator('#executions tbody tr', { hasText: accepted.orderId });
    await row.waitFor();
    await expect(row.locator('td').nth(3).textContent()).resolves.toBe('accepted');
    await expect(row.locator('td').nth(4).textContent()).resolves.toBe('202');
    await expect(page.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).resolves.toBe(true);
    await shoot(page, '1-live-list');
    await page.close();
  });

  it('opens the order and shows every state it passed, its items, both events and their deliveries', async () => {
    const page = await newPage();
    await page.goto(consoleUrl);
    // The orderId opens the order; the request id its execution.
    const row = page.locator('#executions tbody tr', { hasText: accepted.orderId });
    await expect(row.locator('a.open').getAttribute('href')).resolves.toBe(`/console/executions/${accepted.requestId}`);
    await row.locator('a.order', { hasText: accepted.orderId }).click();
    await page.waitForURL(`**/console/orders/${accepted.orderId}`);
    await expect(page.locator('ol.path').first().locator('li').allTextContents()).resolves.toEqual(ACCEPTED_STATE_PATH);
    for (const state of ACCEPTED_STATE_PATH) {
      await expect(page.locator('ol.timeline .title', { hasText: new RegExp(`^${state} \\(`) }).count()).resolves.toBe(
        1,
      );
    }
    // The relay's copy and the archive object arrive after the answer: the page shows them once they are there.
    await eventually(
      'the relay’s event and the archive object are on the order page',
      async () => {
        await page.reload();
        const text = (await page.locator('ol.timeline').textContent()) ?? '';
        return text.includes('published by the outbox relay') && text.includes('written');
      },
      { intervalMs: 250 },
    );
    const timeline = (await page.locator('ol.timeline').textContent()) ?? '';
    expect(timeline).toContain('POST /orders');
    expect(timeline).toContain('answered 202');
    expect(timeline).toContain(`item ORDER#${accepted.orderId} stored`);
    // The lock lives 15 s: stored, or expired and removed on a slow run.
    expect(timeline).toMatch(/item IDEMPOTENCY#[0-9a-f]{64}( stored|: not in the table)/);
    expect(timeline).toContain('published by the workflow’s Publish state (fast path)');
    expect(timeline).toMatch(/order-accepted-to-archive: delivered/);
    expect(timeline).toMatch(/subscriber-flaky: delivered/);
    await shoot(page, '2-order-timeline');
    await page.close();
  });

  it('opens a duplicate and a rejection (hostile body and header shown as text)', async () => {
    const copy = JSON.stringify({ ...ORDER, clientReference: `copy-${Date.now()}` });
    expect((await postOrder(copy)).status).toBe(202);
    const duplicate = await postOrder(copy);
    expect(duplicate.status).toBe(409);
    const rejected = await postOrder(JSON.stringify({ customerId: HOSTILE, items: [] }), { 'X-Note': HOSTILE });
    expect(rejected.status).toBe(400);

    const page = await newPage();
    await page.goto(`${consoleUrl}?outcome=duplicate`);
    await page.locator('#executions tbody tr', { hasText: duplicate.requestId }).waitFor();
    await page.goto(`${consoleUrl}/executions/${duplicate.requestId}`);
    await expect(page.locator('dl.summary').textContent()).resolves.toContain('duplicate');
    await expect(page.locator('ol.path li').allTextContents()).resolves.toContain('ReadLock');
    await shoot(page, '3-duplicate');

    await page.goto(`${consoleUrl}?outcome=rejected`);
    await page.locator('#executions tbody tr', { hasText: rejected.requestId }).locator('a.open').click();
    await page.waitForURL(`**/console/executions/${rejected.requestId}`);
    await expect(page.locator('ol.path li').allTextContents()).resolves.toEqual([
      'Validate',
      'IsValid',
      'RespondRejected',
    ]);
    // The hostile text is on the page as text: no element was made of it, no script ran.
    for (const details of await page.locator('details').all())
      await details.evaluate((node) => node.setAttribute('open', ''));
    await expect(page.locator('ol.timeline').textContent()).resolves.toContain(HOSTILE);
    await expect(page.locator('main script').count()).resolves.toBe(0);
    await shoot(page, '3-rejection');
    await page.close();
  });

  it('finds executions by the start of an orderId and by customerId, a page at a time, with the total', async () => {
    const customerId = `CUST-${Date.now().toString(36).toUpperCase()}`;
    const answers = [];
    for (let i = 0; i < 3; i += 1) {
      answers.push(await postOrder(JSON.stringify({ ...ORDER, customerId, clientReference: `find-${i}` })));
    }
    const page = await newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(consoleUrl);
    await page.locator('input[name="q"]').fill(customerId);
    await page.locator('form.filters button[type="submit"]').click();
    await page.waitForURL(/q=CUST-/);
    await expect(page.locator('#total strong').textContent()).resolves.toBe('3');
    await expect(page.locator('#executions tbody tr').count()).resolves.toBe(3);
    // Usable on a phone: the page itself never scrolls sideways (wide tables scroll inside their own box).
    await expect(
      page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
            .scrollWidth,
      ),
    ).resolves.toBeLessThanOrEqual(390);
    await shoot(page, '5-customer-search-390px');

    const orderId = String(answers[1]?.json.orderId);
    await page.goto(`${consoleUrl}?q=${orderId.slice(0, 20)}`);
    await expect(page.locator('#executions tbody tr', { hasText: orderId }).count()).resolves.toBe(1);

    // Two at a time: three pages, each older than the one before, none repeated.
    await page.goto(`${consoleUrl}?q=${customerId}&limit=2`);
    const seen = await page
      .locator('#executions tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-name')));
    expect(seen).toHaveLength(2);
    await page.locator('a.older').click();
    await page.waitForURL(/before=/);
    await expect(page.locator('#total strong').textContent()).resolves.toBe('3');
    const older = await page
      .locator('#executions tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-name')));
    expect(older).toEqual([answers[0]?.requestId]);
    await expect(page.locator('a.older').count()).resolves.toBe(0);
    await shoot(page, '5-older-page');
    await page.close();
  });

  it('finds the executions of a client’s Idempotency-Key by its start, and shows the key on their pages', async () => {
    const clientKey = `app-${Date.now().toString(36)}-retry`;
    const body = JSON.stringify({ ...ORDER, clientReference: `keyed-${Date.now()}` });
    const first = await postOrder(body, { 'Idempotency-Key': clientKey });
    // The same key quoted (RFC 8941) is the same key: the replay is found by the same search.
    const replay = await postOrder(body, { 'Idempotency-Key': `"${clientKey}"` });
    expect([first.status, replay.status, replay.json.orderId]).toEqual([202, 202, first.json.orderId]);

    const page = await newPage();
    await page.goto(consoleUrl);
    await expect(page.locator('input[name="q"]').getAttribute('placeholder')).resolves.toContain('client key');
    await page.goto(`${consoleUrl}?q=${clientKey.slice(0, 12)}`);
    await expect(page.locator('#total strong').textContent()).resolves.toBe('2');
    await page.goto(`${consoleUrl}/executions/${replay.requestId}`);
    await expect(page.locator('dl.summary dd.client-key').textContent()).resolves.toBe(clientKey);
    await page.goto(`${consoleUrl}/orders/${String(first.json.orderId)}`);
    await expect(page.locator('table.executions-of-order td.client-key').allTextContents()).resolves.toEqual([
      clientKey,
      clientKey,
    ]);
    await page.close();
  });

  it('finds a request API Gateway answered itself (415), which has no execution', async () => {
    const response = await fetch(`${service.url}/orders`, {
      method: 'POST',
      body: 'not json',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(response.status).toBe(415);
    const requestId = response.headers.get('x-amzn-requestid') ?? '';
    const page = await newPage();
    await page.goto(`${consoleUrl}?q=${requestId.slice(0, 12)}`);
    await page.locator('#gateway-exchanges a', { hasText: requestId }).click();
    await page.waitForURL(`**/console/executions/${requestId}`);
    await expect(page.locator('dl.summary').textContent()).resolves.toContain('415');
    await page.close();
  });

  it('puts a failed execution’s error, cause and HTTP answer in a banner, and its failing state in red on the graph', async () => {
    service.setFault('validate', true);
    let failed;
    try {
      failed = await postOrder(JSON.stringify({ ...ORDER, clientReference: `fail-${Date.now()}` }));
    } finally {
      service.setFault('validate', false);
    }
    expect(failed.status).toBe(500);
    const page = await newPage();
    await page.goto(`${consoleUrl}?outcome=failed`);
    const row = page.locator('#executions tbody tr', { hasText: failed.requestId });
    await expect(row.locator('td.http').textContent()).resolves.toBe('500');
    await row.locator('a.open').click();
    await page.waitForURL(`**/console/executions/${failed.requestId}`);

    const banner = page.locator('.banner.failure');
    // First on the page, before the heading.
    await expect(page.locator('main > *').first().getAttribute('class')).resolves.toContain('banner');
    await expect(banner.textContent()).resolves.toContain('Validate failed (fault switch validate)');
    await expect(banner.locator('.client-answer').textContent()).resolves.toMatch(/HTTP 500[\s\S]*internal-error/);
    await expect(page.locator('ol.timeline').textContent()).resolves.not.toContain('{}');

    const validate = page.locator('svg.state-graph g[data-state="Validate"]');
    await expect(validate.getAttribute('class')).resolves.toBe('state failed');
    await expect(
      page
        .locator('svg.state-graph g[data-state="Validate"] rect')
        .evaluate(
          (rect) =>
            (globalThis as unknown as { getComputedStyle(node: unknown): { stroke: string } }).getComputedStyle(rect)
              .stroke,
        ),
    ).resolves.toBe('rgb(207, 34, 46)');
    await expect(page.locator('svg.state-graph g[data-state="Persist"]').getAttribute('class')).resolves.toBe(
      'state not-visited',
    );
    await shoot(page, '6-failed-execution');
    // A state on the graph opens its visit: input and what it changed.
    await validate.locator('a').click();
    await page.waitForURL(/#state-Validate$/);
    await page.locator('#state-Validate details[open]').first().waitFor();

    // Sent again, after a confirmation, as a new request labelled with this one's id (the fault is off now: accepted).
    await page.locator('a.send-again').click();
    await page.waitForURL(`**/console/executions/${failed.requestId}/send-again`);
    await page.locator('form.confirm-send-again button').click();
    await page.waitForURL(/\/console\/actions\/\d+$/);
    const sentAgain = page.locator('.sent-again a');
    const newRequestId = (await sentAgain.textContent()) ?? '';
    expect(newRequestId).not.toBe(failed.requestId);
    expect(service.console?.exchange(newRequestId)?.requestHeaders).toMatchObject({
      'X-Console-Sent-Again-From': failed.requestId,
    });
    await shoot(page, '6-sent-again');
    await page.close();
  });

  it('shows counts by outcome, p50/p95 and a per-minute chart at the top of the list', async () => {
    const page = await newPage();
    await page.goto(consoleUrl);
    const quarter = page.locator('#stats tr[data-window="last 15 min"]');
    // Every execution this file made is in the last 15 minutes: the accepted ones and the failed one at least.
    const accepted = Number(await quarter.locator('td[data-outcome="accepted"]').textContent());
    expect(accepted).toBeGreaterThanOrEqual(5);
    await expect(quarter.locator('td[data-outcome="failed"]').textContent()).resolves.toMatch(/[1-9]/);
    await expect(quarter.locator('td').nth(-2).textContent()).resolves.toMatch(/≤ \d+ ms/);
    // This file's executions fall in the last minute or two (a minute may have turned since): bars that high.
    const heights = await page
      .locator('#minute-chart rect.bar-accepted')
      .evaluateAll((rects) => rects.map((rect) => Number(rect.getAttribute('height'))));
    expect(heights.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...heights)).toBeGreaterThan(0);
    await shoot(page, '7-stats-chart');
    await page.close();
  });

  describe('dead letters', () => {
    let attacker: Server;
    let orderId: string;
    let letterId: number;

    beforeAll(async () => {
      subscriberDown = true;
      const answer = await postOrder(JSON.stringify({ ...ORDER, clientReference: `dead-${Date.now()}` }));
      orderId = String(answer.json.orderId);
      await eventually(
        'both copies of the order are dead-lettered by the flaky subscriber',
        () => listDeadLetters(service.events.database, { containing: orderId }).length === 2,
      );
      subscriberDown = false;
      letterId = listDeadLetters(service.events.database, { containing: orderId })[0]?.id ?? 0;
    });
    afterAll(async () => {
      attacker?.closeAllConnections();
      attacker?.close();
    });

    const redriveAttempts = (): number =>
      Number(
        service.events.database
          .prepare("SELECT COUNT(*) AS n FROM delivery_attempts WHERE detail LIKE 'redrive of dead letter%'")
          .get()?.n,
      );

    it('cannot be redriven by a page of another origin open in the same browser', async () => {
      const target = `${consoleUrl}/dead-letters/${letterId}/redrive`;
      // A page on another origin that tries both: a no-cors fetch, then a form that submits itself.
      attacker = createServer((_request, response) => {
        response.writeHead(200, { 'Content-Type': 'text/html' });
        response.end(`<!doctype html><form id="f" method="post" action="${target}"></form>
          <script>
            fetch(${JSON.stringify(target)}, { method: 'POST', mode: 'no-cors' })
              .finally(() => document.getElementById('f').submit());
          </script>`);
      });
      attacker.listen(0, '127.0.0.1');
      await once(attacker, 'listening');
      const page = await newPage();
      const refused = page.waitForResponse(
        (response) => response.url() === target && response.request().isNavigationRequest(),
      );
      await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      const answer = await refused;
      expect(answer.status()).toBe(403);
      await page.waitForLoadState();
      await expect(page.locator('h1').textContent()).resolves.toContain('Refused');
      await shoot(page, '4-cross-site-refused');
      await page.close();

      expect(listDeadLetters(service.events.database, { containing: orderId })).toHaveLength(2);
      expect(redriveAttempts()).toBe(0);
    });

    it('redrives one from the console: delivered again, recorded, the letter gone', async () => {
      const page = await newPage();
      await page.goto(`${consoleUrl}/dead-letters`);
      await expect(page.locator('.note').first().textContent()).resolves.toContain('Redrive is safe');
      await shoot(page, '4-dead-letters');
      await page.locator(`#dead-letters tr[data-id="${letterId}"] button`, { hasText: 'Redrive' }).click();
      // POST-redirect-GET: the browser lands on the action's record.
      await page.waitForURL(/\/console\/actions\/\d+$/);
      await expect(page.locator('.redrive-results').textContent()).resolves.toMatch(/delivered[\s\S]*removed/);
      await shoot(page, '4-redriven');
      expect(redriveAttempts()).toBe(1);
      // A reload shows the result again and redrives nothing.
      await page.reload();
      await expect(page.locator('.action-done').textContent()).resolves.toMatch(/does\s+not\s+repeat\s+it/);
      await page.close();

      const left = listDeadLetters(service.events.database, { containing: orderId });
      expect(left.map((letter) => letter.id)).not.toContain(letterId);
      expect(left).toHaveLength(1);
      expect(redriveAttempts()).toBe(1);
    });

    it('discards one only after a confirmation that names what is lost, and keeps it in the audit', async () => {
      const [last] = listDeadLetters(service.events.database, { containing: orderId });
      if (!last) throw new Error('no dead letter left to discard');
      const page = await newPage();
      await page.goto(`${consoleUrl}/dead-letters`);
      await page.locator(`#dead-letters tr[data-id="${last.id}"] button`, { hasText: 'Discard' }).click();
      await page.waitForURL(`**/console/dead-letters/${last.id}/discard`);
      await expect(page.locator('.consequence').textContent()).resolves.toContain(
        'rule subscriber-flaky never gets this event',
      );
      expect(listDeadLetters(service.events.database, { containing: orderId })).toHaveLength(1);
      await shoot(page, '8-discard-confirmation');
      await page.locator('form.confirm-discard button').click();
      await page.waitForURL(/\/console\/actions\/\d+$/);
      await expect(page.locator('.discarded').textContent()).resolves.toContain(orderId);
      expect(listDeadLetters(service.events.database, { containing: orderId })).toHaveLength(0);
      await page.reload();
      await page.goto(`${consoleUrl}/actions`);
      await expect(page.locator('ol.actions li', { hasText: 'discard' }).count()).resolves.toBe(1);
      await shoot(page, '8-audit');
      await page.close();
    });
  });
});
