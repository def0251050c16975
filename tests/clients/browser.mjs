// Chromium (Debian's, through playwright-core) running web/cases.mjs: grpc-web (text, binary),
// @connectrpc/connect-web, HTTPS (h2 by ALPN) and ws/wss against Portico from another origin.
// Serves the page, node_modules and the descriptor set on PAGE_PORT itself (no bundler); the
// page's origin is the one run.sh's CORS policy and websocket.allowed_origins admit. Chromium
// ignores certificate errors (the runner's CA is not in its store).

import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PLAIN, Suite, TLS, main } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const suite = new Suite('browser');
const TYPES = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.pb': 'application/octet-stream' };

function serve(port) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = null;
    if (path === '/test.pb') file = process.env.DESCRIPTOR_SET;
    else if (/^\/(web|node_modules)\//.test(path) && !path.includes('..')) file = join(here, normalize(path));
    try {
      if (!file || !statSync(file).isFile()) throw new Error('not found');
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

main(async () => {
  const port = Number(process.env.PAGE_PORT);
  const server = await serve(port);
  const profile = mkdtempSync(join(tmpdir(), 'portico-clients-chromium-'));
  let context = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--ignore-certificate-errors',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] || await context.newPage();
    // CORS refusals and script errors show only in the console: kept to explain a failure.
    let consoleLines = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleLines.push(m.text()); });
    page.on('pageerror', (e) => consoleLines.push(`page error: ${e.message}`));
    const query = new URLSearchParams({ plain: `http://${PLAIN}`, tls: TLS ? `https://${TLS}` : '' });
    await page.goto(`http://127.0.0.1:${port}/web/index.html?${query}`, { timeout: 15_000 });
    await page.waitForFunction(() => window.ready === true, null, { timeout: 15_000 }).catch((e) => {
      throw new Error(`page did not load its modules: ${consoleLines.join(' | ') || e.message}`);
    });
    const names = await page.evaluate(() => Object.keys(window.cases));
    for (const name of names) {
      await suite.case(name, async () => {
        consoleLines = [];
        const error = await page.evaluate(async (n) => {
          try {
            await window.cases[n]();
            return null;
          } catch (e) {
            return `${e && e.message ? e.message : e}`;
          }
        }, name);
        if (error !== null) {
          throw new Error(consoleLines.length ? `${error} [console: ${consoleLines.slice(0, 3).join(' | ')}]` : error);
        }
      });
    }
  } finally {
    if (context) await context.close().catch(() => {});
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
  suite.finish();
});
