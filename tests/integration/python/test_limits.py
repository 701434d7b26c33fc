"""Per-connection and server limits seen from a client: buffer_output_size,
max_connection, running out of descriptors, handshake_timeout and the heartbeat."""
import asyncio
import select
import socket
import time

import websockets

from wsdtest import base_mode, pending, Server, closed_by_server, probe_config, recv


async def conn_id(ws):
    await ws.send("whoami")
    return (await recv(ws)).split()[1]


async def test_buffer_output_size_push_fails_connection_stays():
    # A client that does not read: pushes to it fill its output buffer until
    # push() says "buffer full" (-4); nothing is sent for the refused push and
    # the connection stays open.
    with Server(probe_config("buffer_output_size: 64K\nworker_num: 1\n")) as s:
        async with websockets.connect(s.url("/"), compression=None, max_size=None) as slow, \
                websockets.connect(s.url("/"), compression=None) as pusher:
            slow_id = await conn_id(slow)
            slow.transport.pause_reading()
            rc = None
            sent = 0
            for _ in range(2000):                # at most 60 MB before giving up
                await pusher.send(f"pushbin {slow_id} 30000")
                rc = await recv(pusher)
                if rc != "push 0":
                    break
                sent += 1
            assert rc == "push -4", f"after {sent} pushes of 30000 bytes: {rc!r}"
            # a push larger than buffer_output_size alone always fails
            await pusher.send(f"pushbin {slow_id} 70000")
            assert await recv(pusher) == "push -4"
            slow.transport.resume_reading()
            for i in range(sent):
                got = await recv(slow, 10)
                assert got == b"x" * 30000, (i, len(got))
            # the refused pushes left nothing behind, and the connection works
            await slow.send("still open")
            assert await recv(slow) == "still open"


async def test_max_connection():
    with Server(probe_config("max_connection: 2\n")) as s:
        async with websockets.connect(s.url("/")) as a, websockets.connect(s.url("/")) as b:
            try:
                async with websockets.connect(s.url("/"), open_timeout=3):
                    raise AssertionError("a third connection was accepted with max_connection 2")
            except (websockets.exceptions.InvalidHandshake, websockets.exceptions.InvalidMessage,
                    ConnectionError, EOFError, OSError) as e:
                assert not isinstance(e, asyncio.TimeoutError), "the third connection hung"
            for ws in (a, b):
                await ws.send("unaffected")
                assert await recv(ws) == "unaffected"
        # configuration.md: "closed right after accept (logged as a warning)"
        assert [l for l in s.log().splitlines() if " warning " in l and "refus" in l], s.log()
        # once the first two are gone, a new one is accepted again
        await asyncio.sleep(0.2)
        async with websockets.connect(s.url("/"), open_timeout=3) as c:
            await c.send("again")
            assert await recv(c) == "again"


async def test_out_of_descriptors_sheds_connections_then_recovers():
    # wsd cannot raise a hard limit lowered before it started: with 64
    # descriptors some 40 clients fit (listeners, channels, epoll sets and
    # logs take the rest). accept() then fails with EMFILE and the listener
    # stays readable; wsd must shed the waiting connections (accepted with
    # a spare descriptor and closed at once) instead of spinning on the
    # listener (which logged a warning per attempt, millions a minute).
    with Server(probe_config("max_connection: 1000\n"), nofile=64) as s:
        assert "open-file limit is 64" in s.log(), s.log()
        if base_mode():
            # the limit is per process: with 2 workers the server fits twice as many
            assert "fit per worker" in s.log() and "over the 2 workers" in s.log(), s.log()
        socks = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(200)]
        try:
            deadline = time.monotonic() + 5
            while "out of file descriptors" not in s.log() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert "out of file descriptors" in s.log(), s.log()
            # the shed clients see their connection closed, not left waiting
            shed = 0
            deadline = time.monotonic() + 5
            waiting = list(socks)
            while waiting and shed == 0 and time.monotonic() < deadline:
                readable, _, _ = select.select(waiting, [], [], 0.2)
                for sock in readable:
                    waiting.remove(sock)
                    try:
                        if sock.recv(4096) == b"":
                            shed += 1
                    except OSError:
                        shed += 1
            assert shed > 0, "no connection was shed"
            await asyncio.sleep(1.0)
            lines = [l for l in s.log().splitlines() if "out of file descriptors" in l]
            assert len(lines) < 20, f"{len(lines)} descriptor shortages logged: not bounded"
        finally:
            for sock in socks:
                sock.close()
        # the clients gone, connections are served again: once wsd has seen
        # them go (until then a new one may still be shed, so retry)
        deadline = time.monotonic() + 10
        while True:
            try:
                async with websockets.connect(s.url("/echo"), open_timeout=5) as ws:
                    await ws.send("after the shortage")
                    assert await recv(ws) == "after the shortage"
                break
            except (OSError, EOFError, websockets.exceptions.InvalidMessage,
                    websockets.exceptions.ConnectionClosed):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


def test_handshake_timeout_drops_silent_connection():
    with Server(probe_config("handshake_timeout: 300ms\n")) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
            start = time.monotonic()
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")     # never finished
            data = sock.recv(4096)
            elapsed = time.monotonic() - start
            assert data == b"", f"expected the connection dropped without a response, got {data!r}"
            assert 0.2 < elapsed < 3, f"dropped after {elapsed:.2f}s with handshake_timeout 300ms"


async def test_heartbeat_closes_idle_connection():
    extra = "heartbeat_check_interval: 100ms\nheartbeat_idle_time: 300ms\n"
    with Server(probe_config(extra)) as s:
        async with websockets.connect(s.url("/"), ping_interval=None) as idle, \
                websockets.connect(s.url("/"), ping_interval=None) as busy:
            idle_id = await conn_id(idle)
            busy_id = await conn_id(busy)
            loop = asyncio.get_running_loop()
            start = loop.time()
            closed = asyncio.ensure_future(closed_by_server(idle, 3))
            # the busy client pings (and nothing else): a ping counts as traffic
            while not closed.done() and loop.time() - start < 3:
                pong = await busy.ping()
                await asyncio.wait_for(pong, 2)
                await asyncio.sleep(0.05)
            await closed
            elapsed = loop.time() - start
            assert 0.25 < elapsed < 2, f"idle connection closed after {elapsed:.2f}s"
            await busy.send("alive")
            assert await recv(busy) == "alive"
        found = await s.await_events(f"close {idle_id} ")
        assert len(found) == 1, s.events()
        assert not [e for e in s.events() if e.startswith(f"close {busy_id} ") and "by_server=1" in e]
