"""Several wsd nodes over Redis (issue 7, docs/cluster.md): push, disconnect
and exist across nodes, publish and broadcast reaching every node exactly
once, one Redis subscription per topic per node, a Redis restart, a killed
node, malformed messages, Redis unreachable at start.

Each test starts Debian's redis-server on a free loopback port of its own
(no persistence) and stops it. PROCESS mode only: BASE mode refuses a
`cluster:` section. Skipped (not failed) when redis-server is not installed.
Waits are bounded loops on observable state (PUBSUB NUMSUB, the probe's
"nodes" answer), never sleeps standing in for an assertion."""
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time

import websockets

from wsdtest import Server, probe_config, process_only, recv, requires

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    """A private redis-server on 127.0.0.1:port, no persistence."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.command("PING") == "PONG":
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def command(self, *args):
        """One command over RESP; returns the decoded reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            out = f"*{len(args)}\r\n".encode()
            for a in args:
                b = a if isinstance(a, bytes) else str(a).encode()
                out += f"${len(b)}\r\n".encode() + b + b"\r\n"
            s.sendall(out)
            f = s.makefile("rb")
            return self._read(f)

    def _read(self, f):
        line = f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = f.read(n + 2)[:-2]
            return data
        if kind == b"*":
            return [self._read(f) for _ in range(int(rest))]
        raise RuntimeError(f"bad reply {line!r}")

    def numsub(self, channel):
        reply = self.command("PUBSUB", "NUMSUB", channel)
        return int(reply[1])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def node_config(redis_port, number, workers=2, reactors=2, ttl="1s", interval="200ms", extra=""):
    return probe_config(
        f"worker_num: {workers}\nreactor_num: {reactors}\n" + extra +
        "cluster:\n"
        f"  redis: 127.0.0.1:{redis_port}\n"
        f"  node_id: node-{number}\n"
        f"  node_number: {number}\n"
        f"  heartbeat_interval: {interval}\n"
        f"  heartbeat_ttl: {ttl}\n")


async def ask(ws, command):
    await ws.send(command)
    return await recv(ws)


async def whoami(ws):
    return int((await ask(ws, "whoami")).split()[1])


async def ask_self(ws, command, reply, message):
    """A publish or broadcast that also reaches the asking client: both the
    reply and the message arrive (the fan-out first, on the same channel)."""
    await ws.send(command)
    got = sorted([await recv(ws), await recv(ws)])
    assert got == sorted([reply, message]), got


async def wait_nodes(ws, expected, timeout=10.0):
    """Polls the probe's "nodes" until the live set is `expected`."""
    deadline = time.monotonic() + timeout
    while True:
        reply = (await ask(ws, "nodes")).split()
        live = sorted(int(n) for n in reply[2:reply.index("conns")])
        if live == sorted(expected) or time.monotonic() > deadline:
            return live, reply
        await asyncio.sleep(0.05)


async def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@process_only("a cluster needs PROCESS mode (BASE refuses the section)")
@requires(REDIS, "redis-server")
async def test_cluster_push_disconnect_exist_across_nodes():
    with Redis() as redis, Server(node_config(redis.port, 1)) as a, Server(node_config(redis.port, 2)) as b:
        async with websockets.connect(a.url()) as ca, websockets.connect(b.url()) as cb:
            live, reply = await wait_nodes(cb, [1, 2])
            assert live == [1, 2], reply
            assert reply[1] == "2"
            id_a = await whoami(ca)
            id_b = await whoami(cb)
            assert id_a >> 52 == 1 and id_b >> 52 == 2, (hex(id_a), hex(id_b))
            # B's plugin pushes to A's client.
            assert await ask(cb, f"push {id_a} hello from b") == "push 0"
            assert await recv(ca) == "hello from b"
            # exist / is_established of a remote id: a round trip to its node.
            assert await ask(cb, f"exist {id_a}") == "exist 1 established 1"
            stale = (1 << 52) | (12345 << 24) | 7
            assert await ask(cb, f"exist {stale}") == "exist 0 established 0"
            # The cluster connection count covers both nodes (after a heartbeat).
            ok = False
            for _ in range(100):
                if int((await ask(cb, "nodes")).split()[-1]) >= 2:
                    ok = True
                    break
                await asyncio.sleep(0.05)
            assert ok
            # disconnect through B reaches A's client with the code.
            assert await ask(cb, f"kick {id_a} 4001") == "kick 0"
            try:
                await asyncio.wait_for(ca.recv(), 5)
                raise AssertionError("expected a close")
            except websockets.exceptions.ConnectionClosed as e:
                assert e.rcvd.code == 4001 and e.rcvd.reason == "kicked"


async def subscribe_clients(server, topic, n):
    clients = []
    for _ in range(n):
        ws = await websockets.connect(server.url())
        assert await ask(ws, f"sub {topic}") == "sub 0"
        clients.append(ws)
    return clients


async def read_until(ws, end, limit=1000):
    got = []
    while True:
        m = await recv(ws)
        if m == end:
            return got
        got.append(m)
        assert len(got) <= limit


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_publish_reaches_every_node_exactly_once():
    with Redis() as redis, Server(node_config(redis.port, 1)) as a, Server(node_config(redis.port, 2)) as b, \
            Server(node_config(redis.port, 3)) as c:
        subs = []
        for server in (a, b, c):
            subs += await subscribe_clients(server, "news", 3)   # over 2 reactors per node
        # One Redis subscription per node for the topic, whatever the number
        # of local subscribers and reactors.
        assert await wait_until(lambda: redis.numsub("wsd:topic:news") == 3), redis.numsub("wsd:topic:news")
        async with websockets.connect(b.url()) as pub:
            await wait_nodes(pub, [1, 2, 3])
            for i in range(20):
                assert await ask(pub, f"pub news m{i}") == "pub 0"
            assert await ask(pub, "pub news end") == "pub 0"
        for ws in subs:
            got = await read_until(ws, "end")
            assert got == [f"m{i}" for i in range(20)], got   # each once, in the publisher's order
        # The last local subscriber leaving drops the node's Redis subscription.
        for ws in subs[:3]:
            await ws.close()
        assert await wait_until(lambda: redis.numsub("wsd:topic:news") == 2)
        for ws in subs[3:]:
            await ws.close()


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_broadcast_reaches_every_client_once():
    with Redis() as redis, Server(node_config(redis.port, 1)) as a, Server(node_config(redis.port, 2)) as b:
        clients = [await websockets.connect(s.url()) for s in (a, a, b, b, b)]
        assert await wait_until(lambda: redis.numsub("wsd:broadcast") == 2)
        sender = clients[0]
        await wait_nodes(sender, [1, 2])
        await ask_self(sender, "bcast hello all", "bcast 0", "hello all")
        for ws in clients[1:]:
            assert await recv(ws) == "hello all"
        await ask_self(sender, "bcast second", "bcast 0", "second")
        for ws in clients[1:]:
            assert await recv(ws) == "second"   # not a second "hello all"
        for ws in clients:
            await ws.close()


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_redis_restart_resumes_delivery():
    with Redis() as redis, Server(node_config(redis.port, 1)) as a, Server(node_config(redis.port, 2)) as b:
        sub_b = (await subscribe_clients(b, "t", 1))[0]
        pub_a = await websockets.connect(a.url())
        assert await wait_until(lambda: redis.numsub("wsd:topic:t") == 1)
        await wait_nodes(pub_a, [1, 2])
        assert await ask(pub_a, "pub t before") == "pub 0"
        assert await recv(sub_b) == "before"
        redis.stop()
        # While Redis is away, local delivery goes on.
        local = (await subscribe_clients(a, "t", 1))[0]
        assert await ask(pub_a, "pub t local") == "pub 0"
        assert await recv(local) == "local"
        redis.start()
        # Re-subscribed (both nodes' topics) without a restart.
        assert await wait_until(lambda: redis.numsub("wsd:topic:t") == 2, 15), redis.numsub("wsd:topic:t")
        assert await wait_until(lambda: redis.numsub("wsd:node:2") == 1, 15)
        await wait_nodes(pub_a, [1, 2])
        assert await ask(pub_a, "pub t after") == "pub 0"
        assert await recv(local) == "after"
        # The remote subscriber may have seen "local" (published while the link
        # was down: dropped, at-most-once) or not; "after" must arrive.
        m = await recv(sub_b)
        assert m in ("after", "local"), m
        if m == "local":
            assert await recv(sub_b) == "after"
        # No client was closed.
        for ws in (sub_b, pub_a, local):
            assert ws.open
            await ws.close()
        assert "cluster: redis subscribe link lost" in a.log()


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_killed_node_push_fails_within_ttl():
    with Redis() as redis, Server(node_config(redis.port, 1, ttl="1s")) as a, \
            Server(node_config(redis.port, 2, ttl="1s")) as b:
        ca = await websockets.connect(a.url())
        cb = await websockets.connect(b.url())
        id_b = await whoami(cb)
        await wait_nodes(ca, [1, 2])
        assert await ask(ca, f"push {id_b} x") == "push 0"
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait(5)
        killed = time.monotonic()
        # Within the TTL (1 s) plus one heartbeat interval and a margin.
        rc = None
        while time.monotonic() - killed < 3.0:
            rc = await ask(ca, f"push {id_b} x")
            if rc == "push -1":
                break
            await asyncio.sleep(0.05)
        assert rc == "push -1", rc
        assert time.monotonic() - killed < 3.0
        live, _ = await wait_nodes(ca, [1])
        assert live == [1]
        await ca.close()


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_malformed_messages_are_dropped():
    with Redis() as redis, Server(node_config(redis.port, 1, workers=1, reactors=1)) as a:
        sub = (await subscribe_clients(a, "t", 1))[0]
        assert await wait_until(lambda: redis.numsub("wsd:topic:t") == 1)
        assert await wait_until(lambda: redis.numsub("wsd:node:1") == 1)
        for channel in ("wsd:node:1", "wsd:topic:t", "wsd:broadcast"):
            for junk in (b"garbage", b"wsd1" + b"\x03" * 40, b"", bytes(range(256))):
                redis.command("PUBLISH", channel, junk)
        # A well-formed header whose lengths lie (claims more data than sent).
        redis.command("PUBLISH", "wsd:topic:t",
                      b"wsd1\x03\x02\x00" + b"\x00" * 8 + b"\x01\x00" + b"\x00" * 4 + b"\x01" + b"\xff\xff\x00\x00" + b"t")
        await ask_self(sub, "pub t still here", "pub 0", "still here")
        assert await wait_until(lambda: "cluster: dropped" in a.log())
        assert a.proc.poll() is None
        await sub.close()


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_redis_unreachable_at_start():
    port = free_port()
    with Server(node_config(port, 1)) as a:
        async with websockets.connect(a.url()) as ws:
            assert await ask(ws, "whoami")   # serves local clients
            live, _ = await wait_nodes(ws, [1])
            assert live == [1]
            assert "cannot connect" in a.log()
            with Redis(port) as redis:
                # Retries with back-off, then joins: its node channel is subscribed.
                assert await wait_until(lambda: redis.numsub("wsd:node:1") == 1, 15)
                await ask_self(ws, "bcast hi", "bcast 0", "hi")


@process_only("a cluster needs PROCESS mode")
@requires(REDIS, "redis-server")
async def test_cluster_metrics():
    from test_metrics import scrape
    with Redis() as redis, Server(node_config(redis.port, 1, extra="admin_port: 0\n")) as a, \
            Server(node_config(redis.port, 2)) as b:
        async with websockets.connect(a.url()) as ca, websockets.connect(b.url()) as cb:
            await wait_nodes(ca, [1, 2])
            id_b = await whoami(cb)
            assert await ask(ca, f"push {id_b} over") == "push 0"
            assert await recv(cb) == "over"
            assert await ask(cb, f"push {await whoami(ca)} back") == "push 0"
            assert await recv(ca) == "back"
            dead = (77 << 52) | (1 << 24) | 1   # node 77 never lived
            assert await ask(ca, f"push {dead} x") == "push -1"
            redis.command("PUBLISH", "wsd:node:1", "junk")
            assert await wait_until(lambda: "cluster: dropped" in a.log())
            m = scrape(a)
            assert m["wsd_cluster_node_number"] == 1
            assert m["wsd_cluster_up"] == 1
            assert m["wsd_cluster_nodes"] == 2
            assert m["wsd_cluster_connections"] >= 1
            assert m["wsd_cluster_messages_sent_total"] >= 1
            assert m["wsd_cluster_messages_received_total"] >= 1
            assert m["wsd_cluster_send_failures_total"] >= 1
            assert m["wsd_cluster_dropped_total"] == 1


def test_cluster_refused_in_base_mode():
    """BASE mode refuses a cluster section at start, with the reason."""
    text = node_config(free_port(), 1) + "mode: base\n"
    try:
        with Server(text):
            raise AssertionError("wsd started in BASE mode with a cluster section")
    except RuntimeError as e:
        assert "cluster: needs mode: process" in str(e), str(e)
