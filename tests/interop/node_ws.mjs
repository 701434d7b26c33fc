// Interop: the Node.js `ws` client (npm, 8.x), as browsers' server-side peers
// and Node applications use it, against the real wsd binary: text, binary,
// 1 MiB, fragmented, ping, close codes both ways, subprotocol; with
// permessage-deflate on and off; over ws:// or (--tls) wss://.
//
//   node tests/interop/node_ws.mjs --wsd build/daemon/wsd --plugins build/plugins \
//        --modules build/npm [--tls]
//
// `ws` is installed into --modules by tests/setup_npm.sh; without it the test
// exits 77 (skipped). Every wait is bounded; wsd listens on 127.0.0.1:0.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const args = { tls: false };
for (let i = 2; i < process.argv.length; ++i) {
  const a = process.argv[i];
  if (a === '--tls') args.tls = true;
  else args[a.replace(/^--/, '')] = process.argv[++i];
}
for (const need of ['wsd', 'plugins', 'modules']) {
  if (!args[need]) throw new Error(`--${need} is required`);
}

const wsPackage = path.join(args.modules, 'node_modules', 'ws', 'package.json');
if (!fs.existsSync(wsPackage)) {
  console.log(`SKIP: the ws package is not in ${args.modules} (interop_npm_setup installs it with npm)`);
  process.exit(77);
}
const WebSocket = createRequire(path.join(path.resolve(args.modules), 'index.js'))('ws');
const wsVersion = JSON.parse(fs.readFileSync(wsPackage, 'utf8')).version;

const TIMEOUT_MS = 10000;

function within(promise, what, ms = TIMEOUT_MS) {
  let timer;
  const expire = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expire]).finally(() => clearTimeout(timer));
}

// A throw-away CA and a certificate for 127.0.0.1 signed by it, as the
// integration tests make them (nothing private is committed).
function makeCertificates(dir) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: 'pipe', timeout: 30000 });
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=wsd interop CA',
          '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'server.ext'),
                   'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', '0x1001',
          '-days', '2', '-out', 'server.pem', '-extfile', 'server.ext');
  return fs.readFileSync(path.join(dir, 'ca.pem'));
}

// wsd with the probe plugin on / and the echo plugin on /echo.
async function startWsd(dir) {
  const config = [
    'host: 127.0.0.1', 'port: 0', `plugin_dir: ["${path.resolve(args.plugins)}"]`,
    'websocket_compression: true', 'websocket_subprotocol: chat.v1',
    args.tls ? 'ssl_cert_file: server.pem\nssl_key_file: server.key' : '',
    'plugins:',
    '  - {name: probe, file: probe.so, default: true, paths: ["/"]}',
    '  - {name: echo, file: echo.so, paths: ["/echo"]}', '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'server.yaml'), config);
  const proc = spawn(args.wsd, ['--config', path.join(dir, 'server.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const port = /listening on [^ ]*:(\d+)/.exec(log);
      if (port && log.includes('wsd ready')) resolve(Number(port[1]));
    });
    exited.then((status) => reject(new Error(`wsd exited at start (${JSON.stringify(status)}):\n${log}`)));
  });
  const port = await within(ready, 'wsd ready');
  return { port, exited, proc, log: () => log };
}

function connect(url, protocols, options) {
  const ws = new WebSocket(url, protocols, options);
  return within(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_, res) => reject(new Error(`HTTP ${res.statusCode} instead of 101`)));
  }), `open of ${url}`);
}

function nextMessage(ws) {
  return within(new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('close', (code) => reject(new Error(`closed (${code}) instead of a message`)));
  }), 'message');
}

function closed(ws) {
  return within(new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
                'close');
}

async function cases(base, options, deflate) {
  const results = [];
  // Each case on a connection of its own: to the echo plugin unless it says
  // otherwise (the probe on / obeys commands).
  const test = async (name, fn, { path = '/echo', protocols } = {}) => {
    const ws = await connect(base + path, protocols, options);
    try {
      if (deflate) assert.match(ws.extensions, /^permessage-deflate/, 'permessage-deflate negotiated');
      else assert.equal(ws.extensions, '', 'no extension');
      await fn(ws);
      results.push(name);
    } finally {
      ws.terminate();
    }
  };

  await test('text', async (ws) => {
    const text = 'héllo wsd ✓ '.repeat(3);
    ws.send(text);
    const m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString('utf8'), text);
  });
  await test('binary', async (ws) => {
    const bytes = crypto.randomBytes(1000);
    ws.send(bytes);
    const m = await nextMessage(ws);
    assert.equal(m.isBinary, true);
    assert.ok(bytes.equals(m.data), 'binary echo differs');
  });
  await test('1 MiB binary and text', async (ws) => {
    const bytes = crypto.randomBytes(1 << 20);
    ws.send(bytes);
    let m = await nextMessage(ws);
    assert.equal(m.isBinary, true);
    assert.ok(bytes.equals(m.data), '1 MiB binary echo differs');
    const text = '{"seq":12345,"msg":"hello"}\n'.repeat(40000).slice(0, 1 << 20);
    ws.send(text);
    m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.length, 1 << 20);
    assert.equal(m.data.toString('utf8'), text);
  });
  await test('fragmented', async (ws) => {
    // One message in three frames: text, continuation, continuation (FIN).
    ws.send('frag-1 ', { fin: false });
    ws.send('frag-2 ', { fin: false });
    ws.send('frag-3', { fin: true });
    const m = await nextMessage(ws);
    assert.equal(m.isBinary, false);
    assert.equal(m.data.toString(), 'frag-1 frag-2 frag-3');
  });
  await test('ping', async (ws) => {
    const payload = Buffer.from('are you there?');
    const pong = within(new Promise((resolve) => ws.once('pong', resolve)), 'pong');
    ws.ping(payload);
    assert.ok(payload.equals(await pong), 'pong payload differs');
  });
  await test('close by client 4000', async (ws) => {
    const done = closed(ws);
    ws.close(4000, 'client done');
    assert.equal((await done).code, 4000);
  });
  await test('close by client 1000', async (ws) => {
    const done = closed(ws);
    ws.close(1000);
    assert.equal((await done).code, 1000);
  });
  await test('close by server 4001', async (ws) => {
    const done = closed(ws);
    ws.send('disconnect 4001 server done');
    assert.deepEqual(await done, { code: 4001, reason: 'server done' });
  }, { path: '/' });
  await test('subprotocol', async (ws) => {
    assert.equal(ws.protocol, 'chat.v1');
    ws.send('with a subprotocol');
    assert.equal((await nextMessage(ws)).data.toString(), 'with a subprotocol');
  }, { protocols: ['nope', 'chat.v1'] });
  await test('no subprotocol offered', async (ws) => {
    assert.equal(ws.protocol, '');
  });
  await test('tls flag', async (ws) => {
    // The probe's "info": the server saw TLS exactly on wss://.
    ws.send('info');
    const info = (await nextMessage(ws)).data.toString().split(' ');
    assert.equal(info[7], args.tls ? '1' : '0', `info: ${info.join(' ')}`);
  }, { path: '/' });
  return results;
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsd-node-ws-'));
  let server;
  try {
    const ca = args.tls ? makeCertificates(dir) : undefined;
    server = await startWsd(dir);
    const base = `${args.tls ? 'wss' : 'ws'}://127.0.0.1:${server.port}`;
    for (const deflate of [true, false]) {
      // threshold 0: every message is compressed when deflate is on.
      const options = { perMessageDeflate: deflate ? { threshold: 0 } : false, maxPayload: 4 << 20, ca };
      const passed = await cases(base, options, deflate);
      console.log(`ws ${wsVersion} ${base} permessage-deflate ${deflate ? 'on' : 'off'}: ${passed.join(', ')}: ok`);
    }
    server.proc.kill('SIGTERM');
    const status = await within(server.exited, 'wsd exit after SIGTERM');
    assert.deepEqual(status, { code: 0, signal: null }, 'wsd stops cleanly');
    server = null;
  } catch (e) {
    if (server) console.log(`wsd log:\n${server.log()}`);
    throw e;
  } finally {
    if (server) server.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
