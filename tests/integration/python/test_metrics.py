"""Stats: the plugin API's stats() / worker_stats() and the admin listener's
Prometheus page (admin_port), checked against what each test did."""
import asyncio
import os
import re
import signal
import socket

import websockets

from wsdtest import Server, base_mode, probe_config, process_only, recv

ADMIN = "admin_port: 0\nworker_num: 2\n"
SAMPLE = re.compile(r'^(wsd_[a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (\d+)$')


def admin_port(s):
    m = re.search(r"admin listener on [^ ]*:(\d+)", s.log())
    assert m, s.log()
    return int(m.group(1))


def http_get(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def scrape(s):
    """The /metrics page parsed: {"name{labels}": value}; checks the format."""
    raw = http_get(admin_port(s), b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"text/plain; version=0.0.4" in head, head
    values, typed = {}, set()
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("# HELP "):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        assert m.group(1) in typed, f"sample before its TYPE line: {line!r}"
        values[m.group(1) + (m.group(2) or "")] = int(m.group(4))
    return values


async def scrape_until(s, check, timeout=5.0):
    """Scrapes until check(values) holds (counters settle after closes)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        values = scrape(s)
        if check(values) or asyncio.get_running_loop().time() > deadline:
            return values
        await asyncio.sleep(0.05)


def raw_handshake(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        return sock.recv(4096)


async def test_metrics_count_what_the_test_did():
    with Server(probe_config(ADMIN)) as s:
        before = scrape(s)
        assert before["wsd_connections_accepted_total"] == 0, before
        assert before["wsd_workers"] == 2 and before["wsd_workers_alive"] == 2, before
        clients = [await websockets.connect(s.url("/"), compression=None) for _ in range(3)]
        for i, ws in enumerate(clients):
            for j in range(4):
                await ws.send(f"msg {i}.{j}")
                assert await recv(ws) == f"msg {i}.{j}"
        # Two handshakes that fail, for two reasons.
        assert raw_handshake(s.port, b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
                             ).startswith(b"HTTP/1.1 426")
        assert raw_handshake(s.port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
        # the refused handshakes' connections close a moment after their answer
        live = await scrape_until(s, lambda v: v["wsd_connections"] == 3)
        assert live["wsd_connections"] == 3, live
        for ws in clients:
            await ws.close()
        after = await scrape_until(s, lambda v: v["wsd_connections_closed_total"] == 5)
        assert after["wsd_connections_accepted_total"] == 5, after
        assert after["wsd_connections_closed_total"] == 5, after
        assert after["wsd_connections"] == 0, after
        assert after["wsd_messages_received_total"] == 12, after
        assert after["wsd_messages_sent_total"] == 12, after
        assert after['wsd_handshake_failures_total{reason="version"}'] == 1, after
        assert after['wsd_handshake_failures_total{reason="bad_request"}'] == 1, after
        assert after['wsd_handshake_failures_total{reason="timeout"}'] == 0, after
        assert sum(after[f'wsd_worker_messages_total{{worker="{w}"}}'] for w in range(2)) == 12, after
        # opens, messages and closes: 3 + 12 + 3 events
        assert sum(after[f'wsd_worker_events_total{{worker="{w}"}}'] for w in range(2)) == 18, after
        assert after["wsd_bytes_received_total"] > 12 * len("msg 0.0"), after
        assert after["wsd_lost_events_total"] == 0, after
        assert after["wsd_connections_refused_total"] == 0, after


async def test_admin_listener_answers_only_metrics():
    with Server(probe_config(ADMIN)) as s:
        port = admin_port(s)
        assert http_get(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 404")
        assert http_get(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 405")
        head = http_get(port, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n"), head
        # garbage and a silent client do not stop it
        http_get(port, b"\x00\x01\x02\r\n\r\n")
        silent = socket.create_connection(("127.0.0.1", port), timeout=5)
        assert "wsd_connections" in str(scrape(s))
        silent.close()


def test_admin_listener_is_off_by_default():
    with Server(probe_config()) as s:
        assert "admin listener" not in s.log()


async def test_stats_through_the_plugin_api():
    with Server(probe_config(ADMIN)) as s:
        async with websockets.connect(s.url("/")) as a, websockets.connect(s.url("/")) as b:
            await a.send("hello")
            assert await recv(a) == "hello"
            await b.send("stats")
            reply = await recv(b)
            fields = dict(kv.split("=") for kv in reply.split()[1:])
            assert reply.startswith("stats "), reply
            assert fields["connections"] == "2" and fields["accepted"] == "2", reply
            assert fields["workers"] == "2" and fields["restarts"] == "0", reply
            assert int(fields["in"]) == 2 and int(fields["out"]) == 1, reply   # "hello" echoed; "stats" not yet
            await b.send("wstats 1")
            reply = await recv(b)
            assert reply.startswith("wstats pid=") and not reply.startswith("wstats pid=0 "), reply
            await b.send("wstats 7")
            assert await recv(b) == "wstats none"


@process_only("BASE mode: a worker's connections end with it")
async def test_worker_restart_is_counted():
    with Server(probe_config(ADMIN)) as s:
        async with websockets.connect(s.url("/")) as ws:
            await ws.send("whoami")
            worker = int((await recv(ws)).split()[3])
            await ws.send(f"wstats {worker}")
            pid = int((await recv(ws)).split()[1].split("=")[1])
            os.kill(pid, signal.SIGKILL)
            values = await scrape_until(s, lambda v: v[f'wsd_worker_restarts_total{{worker="{worker}"}}'] == 1)
            assert values[f'wsd_worker_restarts_total{{worker="{worker}"}}'] == 1, values
            await ws.send("stats")
            reply = await recv(ws, timeout=10)
            assert " restarts=1" in reply, reply
