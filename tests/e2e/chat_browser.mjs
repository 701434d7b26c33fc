// End to end, as users meet it: the chat demo (plugins/chat) in Debian's
// Chromium, headless, driven by playwright-core. Two pages join a room and
// each sees the other's message; the server is reloaded (SIGHUP) and the
// pages go on without reconnecting; then it is restarted and the pages
// reconnect and join again by themselves. Screenshots of both pages are saved
// under --out (the paths are printed).
//
//   node tests/e2e/chat_browser.mjs --wsd build/daemon/wsd --plugins build/plugins \
//        --modules build/e2e/npm --out build/e2e
//
// playwright-core is installed into --modules by tests/setup_npm.sh; without
// it the test exits 77 (skipped). wsd listens on 127.0.0.1 only; every wait
// is bounded, and so is the whole run.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 15000;      // one step: a page update, a reload, a reconnect
const RUN_MS = 180000;      // the whole test

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const need of ['wsd', 'plugins', 'modules', 'out']) {
  if (!args[need]) throw new Error(`--${need} is required`);
}
const playwrightDir = path.join(path.resolve(args.modules), 'node_modules', 'playwright-core');
if (!fs.existsSync(playwrightDir)) {
  console.log(`SKIP: playwright-core is not in ${args.modules} (e2e_npm_setup installs it with npm)`);
  process.exit(77);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log(`FAIL: ${CHROMIUM} is missing: scripts/install-deps.sh installs Debian's chromium`);
  process.exit(1);
}
const { chromium } = createRequire(path.join(path.resolve(args.modules), 'index.js'))('playwright-core');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-e2e-'));
let server = null;
let browser = null;

// wsd with the chat plugin and two workers, as config/chat.yaml runs it.
function startWsd(port) {
  const config = path.join(work, 'server.yaml');
  fs.writeFileSync(config, [
    'host: 127.0.0.1', `port: ${port}`, `plugin_dir: ["${path.resolve(args.plugins)}"]`,
    'mode: process', 'worker_num: 2',
    'plugins:', '  - {name: chat, file: chat.so, default: true, paths: ["/"]}', '',
  ].join('\n'));
  const proc = spawn(args.wsd, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  const s = { proc, log: '', port: 0 };
  s.exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  proc.stderr.on('data', (chunk) => { s.log += chunk; });
  return s;
}

async function until(what, check, ms = WAIT_MS) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function ready(s) {
  await until('"wsd ready" in the log', () => {
    if (s.proc.exitCode !== null) throw new Error(`wsd exited at start:\n${s.log}`);
    return s.log.includes('wsd ready');
  });
  s.port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(s.log)[1]);
  return s;
}

async function stopWsd(s) {
  s.proc.kill('SIGTERM');
  const { code } = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r({ code: 'timeout' }), WAIT_MS))]);
  if (code === 'timeout') s.proc.kill('SIGKILL');
  return code;
}

const texts = (page, selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent));

async function seesMembers(page, want) {
  await page.waitForFunction((w) => [...document.querySelectorAll('#members li')].map((li) => li.textContent).join(',') === w,
    want.join(','), { timeout: WAIT_MS });
}

async function seesLine(page, text) {
  await page.waitForFunction((t) => [...document.querySelectorAll('#messages li')].some((li) => li.textContent.includes(t)),
    text, { timeout: WAIT_MS });
}

async function online(page) {
  await page.waitForSelector('#state[data-state="online"]', { timeout: WAIT_MS });
}

async function joinAs(page, nick, room) {
  await page.goto(`http://127.0.0.1:${server.port}/`);
  await online(page);
  await page.fill('#nick', nick);
  await page.fill('#room', room);
  await page.click('#join-form button');
  await page.waitForSelector('#chat', { state: 'visible', timeout: WAIT_MS });
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// Each page sends a line; both pages must show both.
async function talk(pages, tag) {
  for (const [name, page] of pages) await send(page, `${tag} from ${name}`);
  for (const [, page] of pages) {
    for (const [name] of pages) await seesLine(page, `${name}: ${tag} from ${name}`);
  }
}

async function main() {
  server = await ready(startWsd(0));
  const profile = fs.mkdtempSync(path.join(work, 'profile-'));
  // A persistent context is how playwright takes a --user-data-dir: a fresh one.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 900, height: 560 },
  });
  const pages = [['ann', await browser.newPage()], ['bob', await browser.newPage()]];
  const pageErrors = [];
  for (const [name, page] of pages) {
    page.on('pageerror', (e) => pageErrors.push(`${name}'s page: ${e.message}`));
    await joinAs(page, name, 'lobby');
  }
  for (const [, page] of pages) await seesMembers(page, ['ann', 'bob']);
  await talk(pages, 'hello');
  console.log('two pages joined lobby and see each other\'s messages');

  // Reload: the workers are replaced, the connections stay.
  server.proc.kill('SIGHUP');
  await until('"reload complete" in the log', () => server.log.includes('reload complete'));
  await talk(pages, 'after reload');
  for (const [name, page] of pages) {
    const lines = await texts(page, '#messages li');
    assert.ok(!lines.some((l) => l.includes('connection lost')), `${name}'s page lost its connection in the reload`);
    assert.equal(await page.$eval('#state', (e) => e.dataset.state), 'online');
  }
  await seesMembers(pages[0][1], ['ann', 'bob']);
  console.log('after SIGHUP both pages go on without reconnecting');

  // Restart on the same port: the pages reconnect (with back-off) and join again.
  const port = server.port;
  assert.equal(await stopWsd(server), 0, 'wsd did not stop cleanly');
  for (const [, page] of pages) await seesLine(page, 'connection lost');
  server = await ready(startWsd(port));
  for (const [, page] of pages) {
    await online(page);
    await seesMembers(page, ['ann', 'bob']);
  }
  for (const [, page] of pages) await seesLine(page, 'reconnected: back in lobby');
  await talk(pages, 'after restart');
  console.log('after a restart both pages reconnected, joined again and talk');

  assert.deepEqual(pageErrors, [], 'the page threw');
  fs.mkdirSync(args.out, { recursive: true });
  for (const [name, page] of pages) {
    const file = path.resolve(args.out, `chat-${name}.png`);
    await page.screenshot({ path: file });
    console.log(`screenshot: ${file}`);
  }
}

const guard = setTimeout(() => {
  console.log(`FAIL: the test did not finish within ${RUN_MS} ms`);
  if (server) server.proc.kill('SIGKILL');
  process.exit(1);
}, RUN_MS);

let failed = false;
try {
  await main();
  console.log('e2e chat: ok');
} catch (e) {
  failed = true;
  console.log(`FAIL: ${e.stack || e}`);
  if (server) console.log(`wsd log:\n${server.log}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.proc.exitCode === null) await stopWsd(server);
  fs.rmSync(work, { recursive: true, force: true });
  clearTimeout(guard);
}
process.exit(failed ? 1 : 0);
