"""Plain HTTP requests (on_request) with http.client, and the broadcast
plugin (the manual's onRequest example) pushing to WebSocket clients."""
import asyncio
import http.client
import socket

import websockets

from wsdtest import base_mode, Server, plugin_config, probe_config, recv


def http_get(port, target, headers=None, method="GET", body=None, timeout=5.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, target, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode("utf-8", "replace")
    finally:
        c.close()


async def aget(port, target, **kw):
    """http_get in a thread, so the event loop keeps serving WebSocket clients."""
    return await asyncio.wait_for(asyncio.to_thread(http_get, port, target, **kw), 10)


def raw_request(port, data, timeout=5.0):
    """Sends raw bytes; returns the response head (status line and headers)
    as text, or "" if the server closed without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n\r\n", 1)[0].decode("latin-1")


UPGRADE = (b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")


def test_probe_request():
    with Server(probe_config()) as s:
        status, headers, body = http_get(s.port, "/x?message=hi")
        assert status == 200, (status, body)
        assert body == "path=/x message=hi", body
        assert headers.get("X-Probe") == "1", headers
        assert headers.get("Content-Type") == "text/plain", headers
        assert s.wait_events("request GET /x?message=hi"), s.events()


def test_probe_request_percent_decoding_and_post():
    with Server(probe_config()) as s:
        status, _, body = http_get(s.port, "/a/b?message=hello%20world&x=1")
        assert status == 200 and body == "path=/a/b message=hello world", (status, body)
        status, _, body = http_get(s.port, "/post", method="POST", body=b"k=v" * 100,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200 and body == "path=/post", (status, body)
        assert s.wait_events("request POST /post"), s.events()


def test_keep_alive_two_requests_one_connection():
    with Server(probe_config()) as s:
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
        try:
            for i in range(3):
                c.request("GET", f"/k{i}")
                r = c.getresponse()
                assert r.status == 200 and r.read().decode() == f"path=/k{i}"
        finally:
            c.close()


def test_plugin_without_request_handler_gives_400():
    with Server(probe_config()) as s:
        status, _, _ = http_get(s.port, "/echo")
        assert status == 400, status
        status, _, _ = http_get(s.port, "/echo/sub?message=hi")
        assert status == 400, status


def test_no_route_gives_404():
    cfg = plugin_config(("echo", "echo.so", ["/echo"], False))
    with Server(cfg) as s:
        status, _, _ = http_get(s.port, "/elsewhere")
        assert status == 404, status
        status, _, _ = http_get(s.port, "/echoes")          # not a path prefix match
        assert status == 404, status


def test_header_section_too_large_gives_431():
    with Server(probe_config()) as s:
        status, _, _ = http_get(s.port, "/", headers={"X-Big": "a" * 9000})
        assert status == 431, status
        many = {f"X-H{i}": "v" for i in range(70)}
        status, _, _ = http_get(s.port, "/", headers=many)
        assert status == 431, status


def test_body_too_large_gives_413():
    with Server(probe_config(), args=["--set", "package_max_length=1K"]) as s:
        status, _, _ = http_get(s.port, "/", method="POST", body=b"x" * 1024)
        assert status == 200, status
        try:
            status, _, _ = http_get(s.port, "/", method="POST", body=b"x" * 2048)
        except (ConnectionResetError, BrokenPipeError):
            # the server may answer before the body is sent; read it raw
            status = int(raw_request(s.port, b"POST / HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Length: 2048\r\n\r\n").split()[1])
        assert status == 413, status


def test_malformed_request_gives_400():
    with Server(probe_config()) as s:
        head = raw_request(s.port, b"GARBAGE\r\n\r\n")
        assert head.startswith("HTTP/1.1 400"), repr(head)


def test_http11_request_without_host_gives_400():
    # RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request) status
    # code to any HTTP/1.1 request message that lacks a Host header field".
    with Server(probe_config()) as s:
        head = raw_request(s.port, b"GET /nohost HTTP/1.1\r\n\r\n")
        assert head.startswith("HTTP/1.1 400"), repr(head)
        # HTTP/1.0 has no such rule
        head = raw_request(s.port, b"GET /old HTTP/1.0\r\n\r\n")
        assert head.startswith("HTTP/1.1 200") or head.startswith("HTTP/1.0 200"), repr(head)


def test_bad_upgrade_key_gives_400():
    # A WebSocket upgrade without a valid Sec-WebSocket-Key (RFC 6455 4.2.1).
    with Server(probe_config()) as s:
        head = raw_request(s.port, b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                           b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                           b"Sec-WebSocket-Key: short\r\n\r\n")
        assert head.startswith("HTTP/1.1 400"), repr(head)


def test_upgrade_with_post_gives_400():
    # RFC 6455 4.1: the opening handshake is a GET.
    with Server(probe_config()) as s:
        head = raw_request(s.port, b"POST / HTTP/1.1\r\nHost: x\r\n" + UPGRADE +
                           b"Sec-WebSocket-Version: 13\r\n\r\n")
        assert head.startswith("HTTP/1.1 400"), repr(head)


def test_unsupported_websocket_version_gives_426():
    # RFC 6455 4.2.2: an unsupported version gets 426 with the versions the
    # server supports in Sec-WebSocket-Version.
    with Server(probe_config()) as s:
        head = raw_request(s.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + UPGRADE +
                           b"Sec-WebSocket-Version: 8\r\n\r\n")
        assert head.startswith("HTTP/1.1 426"), repr(head)
        assert "\r\nSec-WebSocket-Version: 13" in head, repr(head)


def broadcast_config(extra=""):
    # BASE mode: a broadcast reaches only the worker's own connections, so one worker.
    if base_mode():
        extra += "worker_num: 1\n"
    return plugin_config(("broadcast", "broadcast.so", ["/"], True), extra=extra)


async def test_broadcast_to_three_clients():
    with Server(broadcast_config()) as s:
        clients = [await websockets.connect(s.url("/")) for _ in range(3)]
        try:
            status, _, body = await aget(s.port, "/?message=hi")
            assert status == 200, (status, body)
            assert body.strip() == "broadcast", body
            for ws in clients:
                assert await recv(ws) == "hi"
            # the plugin's on_message answers the manual's fixed reply
            await clients[0].send("hello")
            assert await recv(clients[0]) == "this is server"
        finally:
            for ws in clients:
                await asyncio.wait_for(ws.close(), 5)


async def test_broadcast_skips_closed():
    with Server(broadcast_config()) as s:
        clients = [await websockets.connect(s.url("/")) for _ in range(3)]
        try:
            await asyncio.wait_for(clients[2].close(), 5)
            status, _, body = await aget(s.port, "/?message=second")
            assert status == 200 and body.strip() == "broadcast", (status, body)
            for ws in clients[:2]:
                assert await recv(ws) == "second"
        finally:
            for ws in clients[:2]:
                await asyncio.wait_for(ws.close(), 5)


async def test_broadcast_plugin_topics():
    # ws://.../?topic=NAME subscribes; GET /?topic=NAME&message=... publishes to it.
    with Server(broadcast_config()) as s:
        news = await websockets.connect(s.url("/?topic=news"))
        sport = await websockets.connect(s.url("/?topic=sport"))
        try:
            for ws in (news, sport):       # a round trip: the open (and subscribe) ran
                await ws.send("x")
                assert await recv(ws) == "this is server"
            status, _, body = await aget(s.port, "/?topic=news&message=headline")
            assert status == 200 and body.strip() == "published", (status, body)
            status, _, body = await aget(s.port, "/?message=everyone")
            assert status == 200, (status, body)
            assert await recv(news) == "headline"
            assert await recv(news) == "everyone"
            assert await recv(sport) == "everyone"   # and not the headline before it
        finally:
            for ws in (news, sport):
                await asyncio.wait_for(ws.close(), 5)


async def test_broadcast_plugin_relay():
    # relay: true makes a client's message a broadcast (a chat room).
    extra = "    config:\n      relay: true\n"
    with Server(broadcast_config().replace("default: true\n", "default: true\n" + extra, 1)) as s:
        a = await websockets.connect(s.url("/"))
        b = await websockets.connect(s.url("/"))
        try:
            await a.send("hello room")
            assert await recv(a) == "hello room"
            assert await recv(b) == "hello room"
        finally:
            for ws in (a, b):
                await asyncio.wait_for(ws.close(), 5)


def test_broadcast_without_message_gives_400():
    with Server(broadcast_config()) as s:
        status, _, body = http_get(s.port, "/")
        assert status == 400 and "usage" in body, (status, body)


def test_pipelined_requests_answered_in_order():
    with Server(probe_config()) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
            sock.sendall(b"GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /p2?message=b HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /p3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            buf = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        text = buf.decode()
        bodies = [part for part in ("path=/p1", "path=/p2 message=b", "path=/p3")]
        positions = [text.find(b) for b in bodies]
        assert text.count("HTTP/1.1 200") == 3, text
        assert all(p >= 0 for p in positions) and positions == sorted(positions), text


def test_half_closed_client_still_gets_its_answer():
    """A client that shuts down its sending side after the request (curl
    does with some options) reads the whole answer, then the server closes."""
    with Server(probe_config()) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
            sock.sendall(b"GET /x?message=bye HTTP/1.1\r\nHost: a\r\n\r\n")
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.startswith(b"HTTP/1.1 200"), data
        assert data.endswith(b"path=/x message=bye"), data
