"""The handshake plugin (the manual's custom onHandShake example) on /hs,
driven by python3-websockets."""
import asyncio
import base64
import hashlib
import socket

import websockets

from wsdtest import Server, probe_config, recv

HS = ("  - name: hs\n"
      "    file: handshake.so\n"
      '    paths: ["/hs"]\n')

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WELCOME_TIMEOUT = 2.0


def handshake_config(extra=""):
    return probe_config(HS + extra)


async def test_custom_handshake_welcome_first():
    with Server(handshake_config()) as s:
        async with websockets.connect(s.url("/hs"), compression=None) as ws:
            # the deferred welcome is the first message
            assert await recv(ws, WELCOME_TIMEOUT) == "hello, welcome\n"
            assert ws.subprotocol is None
            await ws.send("echo me")
            assert await recv(ws) == "echo me"
            await ws.send(b"\x00\x01")
            assert await recv(ws) == b"\x00\x01"


async def test_custom_handshake_subprotocol_echoed():
    with Server(handshake_config()) as s:
        async with websockets.connect(s.url("/hs"), subprotocols=["chat"]) as ws:
            assert ws.subprotocol == "chat"
            assert await recv(ws, WELCOME_TIMEOUT) == "hello, welcome\n"
        async with websockets.connect(s.url("/hs/room"), subprotocols=["chat", "superchat"]) as ws:
            assert ws.subprotocol == "chat"
            assert await recv(ws, WELCOME_TIMEOUT) == "hello, welcome\n"


async def test_custom_handshake_does_not_negotiate_compression():
    # plugin-api.md: "Compression is not negotiated on this path."
    with Server(handshake_config("websocket_compression: true\n")) as s:
        async with websockets.connect(s.url("/hs"), compression="deflate") as ws:
            assert ws.extensions == [], ws.extensions
            assert await recv(ws, WELCOME_TIMEOUT) == "hello, welcome\n"
            text = "abc" * 10000
            await ws.send(text)
            assert await recv(ws) == text


async def test_custom_handshake_many_clients_each_welcomed_once():
    with Server(handshake_config()) as s:
        clients = [await websockets.connect(s.url("/hs")) for _ in range(5)]
        try:
            for ws in clients:
                assert await recv(ws, WELCOME_TIMEOUT) == "hello, welcome\n"
            for i, ws in enumerate(clients):
                await ws.send(f"c{i}")
            for i, ws in enumerate(clients):
                assert await recv(ws) == f"c{i}"   # no second welcome in between
        finally:
            for ws in clients:
                await asyncio.wait_for(ws.close(), 5)


def raw_handshake(port, key):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /hs HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n\r\n", 1)[0].decode("latin-1")


def test_custom_handshake_accept_key_and_bad_key():
    with Server(handshake_config()) as s:
        key = base64.b64encode(bytes(range(16)))
        head = raw_handshake(s.port, key)
        assert head.startswith("HTTP/1.1 101"), repr(head)
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        assert f"\r\nSec-WebSocket-Accept: {accept}" in head, repr(head)
        # the manual's pattern refuses a key that does not decode to 16 bytes
        head = raw_handshake(s.port, b"c2hvcnQ=")
        assert head.startswith("HTTP/1.1 400"), repr(head)


async def test_other_paths_keep_the_builtin_handshake():
    with Server(handshake_config()) as s:
        async with websockets.connect(s.url("/echo")) as ws:
            await ws.send("plain")
            assert await recv(ws) == "plain"          # no welcome on /echo


async def test_builtin_handshake_push_from_open():
    # The probe pushes "welcome <id>" from on_open when the query has greet.
    with Server(handshake_config()) as s:
        async with websockets.connect(s.url("/?greet=1")) as ws:
            greeting = await recv(ws, WELCOME_TIMEOUT)
            assert greeting.startswith("welcome "), greeting
            await ws.send("whoami")
            assert (await recv(ws)).split()[1] == greeting.split()[1]
        assert s.wait_events("open ") and "query=greet=1" in s.wait_events("open ")[0], s.events()


def handshake_bytes(path, extra=b"", key=b"dGhlIHNhbXBsZSBub25jZQ=="):
    return (b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\n" + extra + b"\r\n")


def masked(first_byte, payload, mask=b"\x01\x02\x03\x04"):
    assert len(payload) < 126
    return bytes([first_byte, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))


def read_until(sock, needle_count, needle=b"\r\n\r\n", limit=5.0):
    buf = b""
    sock.settimeout(limit)
    while buf.count(needle) < needle_count:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def test_frame_in_same_segment_as_handshake():
    # The first frame right behind the request, in one write: the bytes after
    # the header section belong to the WebSocket stream.
    with Server(handshake_config()) as s:
        for path in (b"/echo", b"/hs"):
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
                sock.sendall(handshake_bytes(path) + masked(0x81, b"early"))
                head, _, rest = read_until(sock, 1).partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 101"), (path, head)
                sock.settimeout(2)
                while b"early" not in rest:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    rest += chunk
                assert b"\x81\x05early" in rest, (path, rest)


def test_connection_header_with_several_tokens():
    # Firefox sends "Connection: keep-alive, Upgrade"; header values and
    # "websocket" are case-insensitive (RFC 6455 4.2.1).
    with Server(handshake_config()) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
            sock.sendall(b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: WebSocket\r\n"
                         b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                         b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            head = read_until(sock, 1).split(b"\r\n\r\n")[0].decode("latin-1")
            assert head.startswith("HTTP/1.1 101"), head
            assert "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, head


async def test_websocket_routing_by_longest_prefix():
    with Server(handshake_config()) as s:
        # /echo/sub -> echo plugin; /echoes -> the default (probe)
        async with websockets.connect(s.url("/echo/sub")) as ws:
            await ws.send("whoami")
            assert await recv(ws) == "whoami"
        async with websockets.connect(s.url("/echoes")) as ws:
            await ws.send("whoami")
            assert (await recv(ws)).startswith("id ")
        assert s.wait_events("open ") and "path=/echoes" in s.wait_events("open ")[0], s.events()
