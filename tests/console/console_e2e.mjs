// Browser end-to-end test of the web console through a running Portico:
//   TOKEN=<admin token> GREETER_PID=<pid> ARTIFACTS=<dir> ROOT=<repo> node console_e2e.mjs http://127.0.0.1:<admin port>
// tests/console/run.sh starts greeter_server, chat_server and Portico (chat.proto loaded from the
// config, greeter.proto not; backends greeter with a fast health check, chat; policy hello-limit)
// and passes these. Drives Debian's /usr/bin/chromium with playwright-core.
//
// Checks, in order: login with the token; an upload refused with the compiler's errors listed,
// then greeter.proto uploaded and its service shown; SayHello called from the form; StreamHellos
// messages shown as they arrive, and Stop; chat.v1.Chat/Join over the mux WebSocket with a
// message both ways and Half-close; a policy edit refused with the validation error shown, then
// fixed; the metrics charts; greeter_server killed and its endpoint shown unhealthy; the session
// banner after the cookie is gone; at 360x740: no horizontal overflow in any view, Tab reaching
// the main controls with a visible focus, then Log out. A screenshot per step goes to ARTIFACTS.
// No script error and no CSP violation may occur. Prints "N passed, M failed" last; exits 1 on
// any failure.

import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 10_000;
const TOTAL_TIMEOUT_MS = 150_000;
const TOKEN = process.env.TOKEN || '';
const ROOT = process.env.ROOT || join(import.meta.dirname, '..', '..');
const ARTIFACTS = process.env.ARTIFACTS || join(tmpdir(), 'portico-console-artifacts');
const GREETER_PID = Number(process.env.GREETER_PID || 0);

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\/[^/]+$/.test(base) || !TOKEN) {
  console.error('usage: TOKEN=... node console_e2e.mjs <admin base URL, e.g. http://127.0.0.1:9901>');
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

let passed = 0;
let failed = 0;
let browser = null;

function finish() {
  console.log(`${passed} passed, ${failed} failed; screenshots in ${ARTIFACTS}`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: the run took longer than ${TOTAL_TIMEOUT_MS / 1000} s; giving up`);
  failed += 1;
  finish();
  if (browser) browser.close().catch(() => {});
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
    return true;
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e && e.message ? e.message.split('\n').slice(0, 3).join(' / ') : e}`);
    return false;
  }
}

// Page errors, console errors and CSP violations: none may happen.
function watchPage(page, label, problems) {
  page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // Expected: the 401 the session test provokes, and the refused uploads/edits (4xx answers
    // of the admin API are logged by Chromium as failed resources).
    if (/status of (400|401)/.test(text)) return;
    problems.push(`${label}: console error: ${text}`);
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function login(page) {
  const response = await page.goto(`${base}/console/`, { waitUntil: 'load' });
  if (!response) throw new Error('no answer for /console/');
  const token = page.locator('input[name="token"]');
  if (await token.count() === 0) throw new Error(`no login form at /console/ (HTTP ${response.status()})`);
  await token.fill(TOKEN);
  await Promise.all([page.waitForURL(/\/console\/?(#.*)?$/), token.press('Enter')]);
  await page.locator('nav.tabs').waitFor();
}

async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

async function expectText(locator, needle, what) {
  try {
    await locator.filter({ hasText: needle }).first().waitFor({ timeout: STEP_TIMEOUT_MS });
  } catch {
    const seen = await locator.allTextContents().catch(() => []);
    throw new Error(`${what}: no "${needle}" within ${STEP_TIMEOUT_MS / 1000} s (seen: ${seen.join(' | ').slice(0, 400) || 'nothing'})`);
  }
}

async function noHorizontalOverflow(page, what) {
  const sizes = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
    widest: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 &&
                     !e.closest('.table-wrap'))
      .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
  }));
  if (sizes.scroll > sizes.client) {
    throw new Error(`${what}: page is ${sizes.scroll}px wide in a ${sizes.client}px window (${sizes.widest.join(', ')})`);
  }
}

async function run() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-timer-throttling', '--disable-renderer-backgrounding'],
  });
  const problems = [];
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  watchPage(page, 'desktop', problems);

  const loggedIn = await test('log in with the admin token', async () => {
    await login(page);
    await expectText(page.locator('.service h3'), 'chat.v1.Chat', 'services view');
    if (await page.locator('.service h3', { hasText: 'greeter.v1.Greeter' }).count() !== 0) {
      throw new Error('greeter.v1.Greeter is listed before its upload');
    }
    await shot(page, '01-login-services');
  });
  if (!loggedIn) return problems;

  await test('upload: compiler errors listed, nothing registered', async () => {
    await go(page, '#/upload');
    await page.setInputFiles('#upload-files', [
      { name: 'broken.proto', mimeType: 'text/plain', buffer: Buffer.from('syntax = "proto3";\nmessage A { int32 a = 1 }\n') },
    ]);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expectText(page.locator('.error-list li'), 'broken.proto:2:', 'compiler errors');
    await expectText(page.locator('.upload-result'), 'Error:', 'error notice');
    await shot(page, '02-upload-errors');
  });

  await test('upload greeter.proto and see its service', async () => {
    // Two files at once: greeter.proto and a scratch file deleted again below.
    await page.setInputFiles('#upload-files', [
      { name: 'greeter.proto', mimeType: 'text/plain', buffer: readFileSync(join(ROOT, 'examples/greeter/greeter.proto')) },
      { name: 'scratch.proto', mimeType: 'text/plain', buffer: Buffer.from('syntax = "proto3";\npackage scratch;\nmessage M {}\n') },
    ]);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await expectText(page.locator('.upload-services li'), 'greeter.v1.Greeter', 'upload result');
    await expectText(page.locator('.descriptor-files th'), 'greeter.proto', 'registered files');
    await expectText(page.locator('.descriptor-files th'), 'scratch.proto', 'registered files');
    await shot(page, '03-upload-ok');
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Delete scratch.proto' }).click();
    await expectText(page.locator('.notice'), 'Deleted scratch.proto', 'delete');
    await page.locator('.descriptor-files tr[data-file="scratch.proto"]').waitFor({ state: 'detached' });
    await go(page, '#/services');
    await expectText(page.locator('.service h3'), 'greeter.v1.Greeter', 'services view');
    const service = page.locator('.service', { has: page.locator('h3', { hasText: 'greeter.v1.Greeter' }) });
    await expectText(service.locator('.method'), 'StreamHellos', 'methods');
    await expectText(service.locator('.routes code'), 'GET /v1/hello/{name}', 'routes');
    // A schema opens on demand with its fields.
    await service.locator('details.schema summary', { hasText: 'greeter.v1.HelloRequest' }).first().click();
    await expectText(service.locator('.schema-body th'), 'times', 'request schema');
    // A nested type ($ref) opens inside the field's row: ChatEvent's enum Kind.
    const chat = page.locator('.service', { has: page.locator('h3', { hasText: 'chat.v1.Chat' }) });
    const joinMethod = chat.locator('.method', { has: page.locator('.method-name', { hasText: /^Join$/ }) });
    await joinMethod.locator('details.schema > summary', { hasText: 'chat.v1.ChatEvent' }).first().click();
    await joinMethod.locator('.schema-body details.schema > summary', { hasText: 'chat.v1.ChatEvent.Kind' }).first().click();
    await expectText(joinMethod.locator('.schema-body p'), 'JOINED', 'enum values');
    await shot(page, '04-services');
  });

  await test('call SayHello from the form', async () => {
    await go(page, '#/call/greeter.v1.Greeter/SayHello');
    await page.locator('.call-form').getByLabel('name', { exact: true }).fill('console');
    await page.getByRole('button', { name: 'Call', exact: true }).click();
    await expectText(page.locator('.reply'), 'Hello, console!', 'unary reply');
    await expectText(page.locator('.call-status'), 'HTTP 200', 'status');
    // The JSON view is the form's value.
    await page.getByRole('button', { name: 'Edit as JSON' }).click();
    const json = JSON.parse(await page.locator('.json-box textarea').inputValue());
    if (json.name !== 'console') throw new Error(`JSON view holds ${JSON.stringify(json)}`);
    await page.locator('.json-box textarea').fill('{"name": "json"}');
    await page.getByRole('button', { name: 'Edit as form' }).click();
    const name = await page.locator('.call-form').getByLabel('name', { exact: true }).inputValue();
    if (name !== 'json') throw new Error(`form shows name=${name} after the JSON edit`);
    await page.locator('.call-form').getByLabel('name', { exact: true }).fill('console');
    await page.getByRole('button', { name: 'Call', exact: true }).click();
    await expectText(page.locator('.reply'), 'Hello, console!', 'unary reply');
    await shot(page, '05-call-unary');
  });

  await test('StreamHellos: messages shown as they arrive, then the end', async () => {
    await go(page, '#/call/greeter.v1.Greeter/StreamHellos');
    const form = page.locator('.call-form');
    await form.getByLabel('name', { exact: true }).fill('stream');
    await form.getByLabel('times', { exact: true }).fill('6');
    await page.getByRole('button', { name: 'Start stream' }).click();
    // Live: the first message is on the page while the stream is still open (Stop shown).
    await page.locator('.stream-log .log-received').first().waitFor();
    const stopVisible = await page.getByRole('button', { name: 'Stop' }).isVisible();
    const countThen = await page.locator('.stream-log .log-received').count();
    if (!stopVisible || countThen >= 6) throw new Error(`not live: ${countThen} messages shown when the first appeared`);
    await expectText(page.locator('.call-status'), 'Stream ended OK after 6 message(s)', 'stream end');
    await shot(page, '06-call-server-stream');
  });

  await test('StreamHellos: Stop aborts a running stream', async () => {
    const form = page.locator('.call-form');
    await form.getByLabel('times', { exact: true }).fill('50');
    await page.getByRole('button', { name: 'Start stream' }).click();
    await page.locator('.stream-log .log-received').nth(1).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await expectText(page.locator('.call-status'), 'Stopped', 'stop');
  });

  await test('chat.v1.Chat/Join over the mux WebSocket: messages both ways, Half-close', async () => {
    await go(page, '#/call/chat.v1.Chat/Join');
    const form = page.locator('.call-form');
    await form.getByLabel('room', { exact: true }).fill('console');
    await form.getByLabel('user', { exact: true }).fill('ada');
    await page.getByRole('button', { name: 'Open stream' }).click();
    await expectText(page.locator('.stream-log .log-received'), 'JOINED', 'joined event');
    await form.getByLabel('room', { exact: true }).fill('');
    await form.getByLabel('user', { exact: true }).fill('');
    await form.getByLabel('text', { exact: true }).fill('hello from the console');
    await page.getByRole('button', { name: 'Send message' }).click();
    await expectText(page.locator('.stream-log .log-sent'), 'hello from the console', 'sent message');
    await expectText(page.locator('.stream-log .log-received'), 'hello from the console', 'echoed message');
    await shot(page, '07-call-bidi');
    await page.getByRole('button', { name: 'Half-close' }).click();
    await expectText(page.locator('.call-status'), 'Call ended OK', 'final status');
  });

  await test('policy edit: validation error shown, then fixed', async () => {
    await go(page, '#/policies');
    const card = page.locator('.entry[data-name="hello-limit"]');
    await card.waitFor();
    await card.getByRole('button', { name: /Edit/ }).click();
    const area = page.locator('.editor textarea');
    const value = JSON.parse(await area.inputValue());
    value.rate_limit.rate = -1;
    await area.fill(JSON.stringify(value, null, 2));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expectText(page.locator('.editor-errors li'), 'rate_limit.rate', 'validation error');
    await expectText(page.locator('.editor-errors'), 'Not saved', 'error notice text');
    await shot(page, '08-policy-error');
    value.rate_limit.rate = 7;
    await area.fill(JSON.stringify(value, null, 2));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expectText(page.locator('.editor-errors'), 'Saved policy "hello-limit"', 'saved');
    await expectText(card.locator('pre'), '"rate": 7', 'list shows the new rate');
    await shot(page, '09-policy-saved');
  });

  await test('metrics: charts drawn from /metrics', async () => {
    await go(page, '#/metrics');
    // Some traffic over a few polls, so the lines have points to join.
    await page.evaluate(async () => {
      for (let i = 0; i < 24; i += 1) {
        await fetch('/console/call/greeter.v1.Greeter/SayHello', {
          method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: `m${i}` }) });
        await new Promise((ok) => setTimeout(ok, 250));
      }
    });
    await expectText(page.locator('.chart-legend'), '/s', 'rate legend');
    await expectText(page.locator('section[aria-labelledby="metrics-heading"] table th'), '/greeter.v1.Greeter', 'per-route table');
    await shot(page, '11-metrics');
  });

  await test('backends: greeter turns unhealthy when its server dies', async () => {
    await go(page, '#/backends');
    const row = page.locator('.entry[data-name="greeter"] tbody tr');
    await expectText(row, 'healthy', 'greeter endpoint healthy');
    if (!GREETER_PID) throw new Error('GREETER_PID not set');
    process.kill(GREETER_PID, 'SIGTERM');  // it exits at once (and bash prints no "Killed")
    await expectText(row, 'UNHEALTHY', 'greeter endpoint unhealthy');
    await shot(page, '10-backends-unhealthy');
  });


  await test('session gone: the 401 banner links to the login', async () => {
    await context.clearCookies();
    await go(page, '#/backends');
    await page.locator('#session').waitFor({ state: 'visible' });
    await expectText(page.locator('#session'), 'Log in again', 'banner');
    await shot(page, '12-session-expired');
  });

  await test('360x740: no horizontal overflow, Tab reaches the controls, Log out', async () => {
    const small = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: false });
    const p = await small.newPage();
    p.setDefaultTimeout(STEP_TIMEOUT_MS);
    watchPage(p, 'mobile', problems);
    await login(p);
    for (const view of ['#/services', '#/call/greeter.v1.Greeter/SayHello', '#/upload', '#/backends',
                        '#/policies', '#/aggregates', '#/metrics']) {
      await go(p, view);
      await p.waitForTimeout(300);
      await noHorizontalOverflow(p, view);
    }
    await go(p, '#/call/chat.v1.Chat/Join');
    await p.locator('.call-form').getByLabel('room', { exact: true }).waitFor();
    await noHorizontalOverflow(p, 'Join form');
    await shot(p, '13-mobile-call');
    // Tab from the top: the skip link first, then the sections, then the form and its button.
    await p.reload();
    await p.locator('.call-form').getByLabel('room', { exact: true }).waitFor();
    const seen = [];
    for (let i = 0; i < 40; i += 1) {
      await p.keyboard.press('Tab');
      seen.push(await p.evaluate(() => {
        const e = document.activeElement;
        const outline = getComputedStyle(e).outlineStyle;
        return { text: (e.textContent || e.getAttribute('aria-label') || e.id || e.tagName).trim().slice(0, 40),
                 tag: e.tagName, visible: outline !== 'none' };
      }));
    }
    if (seen[0].text !== 'Skip to content') throw new Error(`first Tab stop is "${seen[0].text}"`);
    for (const want of ['Services', 'Call', 'Backends', 'Metrics', 'Open stream', 'Add metadata']) {
      if (!seen.some((s) => s.text === want)) {
        throw new Error(`Tab never reached "${want}" (reached: ${seen.map((s) => s.text).join(', ')})`);
      }
    }
    // (BODY: the focus left the page after the last control and came back.)
    const invisible = seen.filter((s) => !s.visible && s.tag !== 'BODY');
    if (invisible.length) throw new Error(`no visible focus on ${invisible.map((s) => s.text).join(', ')}`);
    await shot(p, '14-mobile-tab');
    await go(p, '#/backends');
    await p.waitForTimeout(500);
    await shot(p, '15-mobile-backends');
    // Log out: the server's login form again.
    await Promise.all([p.waitForURL(/\/console\//), p.getByRole('button', { name: 'Log out' }).click()]);
    await p.goto(`${base}/console/`);
    await p.locator('input[name="token"]').waitFor();
    await small.close();
  });
  return problems;
}

try {
  const problems = await run();
  await test('no script errors, console errors or CSP violations', async () => {
    if (problems.length) throw new Error(problems.join(' / '));
  });
} catch (e) {
  failed += 1;
  console.log(`FAIL setup: ${e && e.message ? e.message : e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  finish();
}
