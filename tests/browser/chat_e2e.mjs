// Browser end-to-end test of the chat example through a running Portico:
//   node tests/browser/chat_e2e.mjs http://127.0.0.1:8080
// The gateway must serve examples/chat/web at /chat/ and route chat.v1.Chat to a chat_server
// (tests/browser/run.sh starts both). Drives Debian's /usr/bin/chromium with playwright-core.
//
// Checks: the page loads without script errors; two pages join room "e2e" over the WebSocket
// bridge and one sees the other's message; Leave half-closes and the call ends with close 1000;
// an EventSource on /v1/rooms/e2e/events receives a message POSTed to /v1/rooms/e2e/messages.
// Prints "N passed, M failed" last; exits 1 on any failure, 2 on bad usage. Every wait is bounded.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const STEP_TIMEOUT_MS = 10_000;   // one wait: a page load, a join, a message
const TOTAL_TIMEOUT_MS = 120_000; // the whole run, browser start included
const ROOM = 'e2e';

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error('usage: node chat_e2e.mjs <gateway base URL, e.g. http://127.0.0.1:8080>');
  process.exit(2);
}

let passed = 0;
let failed = 0;
let browserContext = null;
let profileDir = null;

function cleanupProfile() {
  if (profileDir) {
    rmSync(profileDir, { recursive: true, force: true });
    profileDir = null;
  }
}

function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
}

// The last line of defence: whatever hangs, the run ends.
const watchdog = setTimeout(() => {
  console.error(`FAIL: the run took longer than ${TOTAL_TIMEOUT_MS / 1000} s; giving up`);
  failed += 1;
  finish();
  if (browserContext) browserContext.close().catch(() => {});
  cleanupProfile();
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
    console.log(`FAIL ${name}: ${e && e.message ? e.message.split('\n')[0] : e}`);
    return false;
  }
}

function skip(name, why) {
  failed += 1;
  console.log(`FAIL ${name}: not run: ${why}`);
}

// fetch with a deadline; errors name the URL and the cause (ECONNREFUSED, ...).
async function fetchWithTimeout(url, options = {}) {
  try {
    return await fetch(url, { ...options, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  } catch (e) {
    const cause = e.cause && (e.cause.code || e.cause.message);
    throw new Error(`cannot fetch ${url}: ${cause || e.message}`);
  }
}

// Records uncaught page errors and console errors, so a failure can show them.
function watchPage(page, label) {
  const log = { errors: [], console: [] };
  page.on('pageerror', (e) => log.errors.push(`${label}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') log.console.push(`${label}: ${m.text()}`);
  });
  return log;
}

async function openChat(label) {
  const page = await browserContext.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  const log = watchPage(page, label);
  const response = await page.goto(`${base}/chat/`, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
  if (!response || !response.ok()) {
    throw new Error(`${label}: GET ${base}/chat/ answered ${response ? response.status() : 'nothing'}`);
  }
  return { page, log };
}

// Joins and waits until the page has received its own JOINED event (or reports the error).
async function joinRoom({ page }, room, user) {
  await page.fill('#room', room);
  await page.fill('#user', user);
  await page.click('#join');
  const handle = await page
    .waitForFunction(
      () => {
        const s = document.querySelector('#status');
        return ['joined', 'error', 'closed'].includes(s.dataset.state) && s.dataset.state;
      },
      null,
      { timeout: STEP_TIMEOUT_MS, polling: 100 },  // rAF polling stalls in background pages
    )
    .catch(async () => null);
  const state = handle ? await handle.jsonValue() : 'timeout';
  const text = await page.textContent('#status');
  if (state !== 'joined') throw new Error(`${user} did not join ${room} (${state}): ${text}`);
}

async function waitForText({ page }, selector, needle, what) {
  try {
    await page.waitForFunction(
      ([sel, want]) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(want)),
      [selector, needle],
      { timeout: STEP_TIMEOUT_MS, polling: 100 },
    );
  } catch (e) {
    const seen = await page
      .$$eval('#messages > *', (els) => els.map((e) => e.textContent).join(' | '))
      .catch(() => '?');
    const status = await page.textContent('#status').catch(() => '?');
    throw new Error(`${what}: no ${selector} with "${needle}" within ${STEP_TIMEOUT_MS / 1000} s ` +
                    `(status: ${status}; messages: ${seen || 'none'})`);
  }
}

async function main() {
  // Preflight: without a gateway serving the page there is nothing to drive a browser at.
  const served = await test(`GET ${base}/chat/ serves the chat page`, async () => {
    const r = await fetchWithTimeout(`${base}/chat/`);
    if (!r.ok) throw new Error(`GET ${base}/chat/ answered ${r.status}`);
    const body = await r.text();
    if (!body.includes('id="messages"')) throw new Error('the page has no #messages element');
  });
  const names = [
    'two pages chat over the WebSocket bridge',
    'Leave half-closes and the call ends with close 1000',
    'EventSource on /v1/rooms/e2e/events receives a POSTed message',
  ];
  if (!served) {
    for (const name of names) skip(name, 'the gateway does not serve the page');
    return;
  }

  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    for (const name of names) skip(name, `playwright-core is not installed (run npm ci in tests/browser): ${e.message.split('\n')[0]}`);
    return;
  }
  profileDir = mkdtempSync(join(tmpdir(), 'portico-chromium-'));
  try {
    browserContext = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             // Two pages share the window; the one in the background must not be throttled.
             '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
             '--disable-backgrounding-occluded-windows'],
    });
  } catch (e) {
    for (const name of names) skip(name, `cannot start ${CHROMIUM}: ${e.message.split('\n')[0]}`);
    return;
  }

  let ann = null;
  let bob = null;
  await test(names[0], async () => {
    ann = await openChat('ann');
    bob = await openChat('bob');
    await joinRoom(ann, ROOM, 'ann');
    await joinRoom(bob, ROOM, 'bob');
    await waitForText(ann, '#messages .event', '* bob joined', 'ann sees bob join');
    await ann.page.fill('#text', 'hello from ann');
    await ann.page.click('#send');
    await waitForText(bob, '#messages .msg', 'ann: hello from ann', "bob sees ann's message");
    await waitForText(ann, '#messages .msg', 'ann: hello from ann', 'ann sees her own message');
    const errors = [...ann.log.errors, ...bob.log.errors];
    if (errors.length) throw new Error(`script errors: ${errors.join('; ')}`);
  });

  if (ann && bob) {
    await test(names[1], async () => {
      const state = await bob.page.getAttribute('#status', 'data-state');
      if (state !== 'joined') throw new Error(`bob is not in the room (status ${state})`);
      await bob.page.click('#leave');
      await waitForText(ann, '#messages .event', '* bob left', 'ann sees bob leave');
      try {
        await bob.page.waitForSelector('#status[data-state="closed"]', { timeout: STEP_TIMEOUT_MS });
      } catch (e) {
        throw new Error(`bob's call did not end OK: ${await bob.page.textContent('#status')}`);
      }
    });
  } else {
    skip(names[1], 'the pages did not open');
  }

  await test(names[2], async () => {
    const { page, log } = ann || (await openChat('sse'));
    const result = await page.evaluate(
      async ({ base, room, stepMs }) => {
        const timeout = (ms, what) =>
          new Promise((_, reject) => setTimeout(() => reject(new Error(what)), ms));
        const es = new EventSource(`${base}/v1/rooms/${room}/events`);
        try {
          await Promise.race([
            new Promise((resolve, reject) => {
              es.onopen = resolve;
              es.onerror = () => reject(new Error(`EventSource failed before opening (readyState ${es.readyState})`));
            }),
            timeout(stepMs, `EventSource did not open within ${stepMs / 1000} s`),
          ]);
          const received = new Promise((resolve, reject) => {
            es.onmessage = (e) => {
              let m;
              try {
                m = JSON.parse(e.data);
              } catch {
                reject(new Error(`not JSON: ${e.data}`));
                return;
              }
              if (m.text === 'via sse') resolve(m);
            };
            // "event: error" from Portico carries the gRPC status as data.
            es.onerror = (e) => {
              if (e.data) reject(new Error(`stream error: ${e.data}`));
            };
          });
          received.catch(() => {});
          // The subscription is in place once the stream is open, but a POST racing it would
          // be missed, so a message that does not show up within a second is posted again.
          const deadline = Date.now() + stepMs;
          let posts = 0;
          let delivered = null;
          while (Date.now() < deadline) {
            const r = await fetch(`${base}/v1/rooms/${room}/messages`, {
              method: 'POST',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify({ user: 'sse', text: 'via sse' }),
            });
            posts += 1;
            if (!r.ok) throw new Error(`POST /v1/rooms/${room}/messages answered ${r.status}: ${await r.text()}`);
            delivered = (await r.json()).delivered;
            const got = await Promise.race([received, new Promise((res) => setTimeout(() => res(null), 1000))]);
            if (got) return { event: got, posts, delivered };
          }
          throw new Error(`no "via sse" event within ${stepMs / 1000} s (${posts} POSTs, last delivered=${delivered})`);
        } finally {
          es.close();
        }
      },
      { base, room: ROOM, stepMs: STEP_TIMEOUT_MS },
    );
    if (result.event.user !== 'sse') throw new Error(`event user is ${JSON.stringify(result.event.user)}`);
    if (result.event.kind !== undefined && result.event.kind !== 'MESSAGE') {
      throw new Error(`event kind is ${JSON.stringify(result.event.kind)}`);
    }
    if (log.errors.length) throw new Error(`script errors: ${log.errors.join('; ')}`);
    if (result.posts > 1) console.log(`     (needed ${result.posts} POSTs)`);
  });
}

try {
  await main();
} catch (e) {
  failed += 1;
  console.log(`FAIL unexpected: ${e && e.stack ? e.stack : e}`);
} finally {
  if (browserContext) await browserContext.close().catch(() => {});
  cleanupProfile();
  clearTimeout(watchdog);
  finish();
}
