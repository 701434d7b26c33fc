"""Closing, pings and protocol errors with python3-websockets (RFC 6455
sections 5.5, 7 and 8), and the close events the plugin sees."""
import asyncio
import base64
import signal
import socket
import struct

import websockets
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close

from wsdtest import Server, base_mode, closed_by_server, probe_config, recv


async def conn_id(ws):
    await ws.send("whoami")
    reply = await recv(ws)
    assert reply.startswith("id "), reply
    return reply.split()[1]


def frame_header(first_byte, n, mask_bit=0x80):
    """A frame's header for an n-byte payload: first_byte = FIN/RSV/opcode;
    mask_bit 0x80 for a client's (masked) frame, 0 for a server's."""
    if n < 126:
        return struct.pack("!BB", first_byte, mask_bit | n)
    if n < 65536:
        return struct.pack("!BBH", first_byte, mask_bit | 126, n)
    return struct.pack("!BBQ", first_byte, mask_bit | 127, n)


def masked_frame(first_byte, payload, mask=b"\x11\x22\x33\x44"):
    """A client frame built by hand: first_byte = FIN/RSV/opcode."""
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return frame_header(first_byte, len(payload)) + mask + body


async def expect_protocol_close(s, ws, conn, code, timeout=5.0):
    """The server must answer with a close frame of `code` (RFC 6455 7.1.7,
    fail the connection) and report one close event with by_server=1."""
    e = await closed_by_server(ws, timeout)
    assert e.rcvd is not None, f"no close frame from the server: {e!r}"
    assert e.rcvd.code == code, f"close code {e.rcvd.code} ({e.rcvd.reason!r}), expected {code}"
    found = await s.await_events(f"close {conn} code={code} by_server=1")
    assert len(found) == 1, s.events()


# --- normal closes -------------------------------------------------------

async def test_client_close_code_and_reason():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await asyncio.wait_for(ws.close(4000, "bye"), 5)
            # the server answered the close handshake (echoing the code)
            assert ws.close_code == 4000, ws.close_code
        line = f"close {conn} code=4000 by_server=0 reason=bye"
        assert await s.await_events(line)
        assert s.stop() == 0
        found = [e for e in s.events() if e.startswith(f"close {conn} ")]
        assert len(found) == 1 and found[0].startswith(line + " "), found


async def test_client_close_without_status_code():
    # An empty close frame: the code is "no status" (1005, RFC 6455 7.1.5).
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await ws.write_close_frame(Close(1005, ""), b"")
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_rcvd is not None, "the server did not answer the close frame"
            assert ws.close_rcvd.code in (1000, 1005), ws.close_rcvd
        found = await s.await_events(f"close {conn} code=1005 by_server=0")
        assert len(found) == 1, s.events()


async def test_server_disconnect_code_and_reason():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await ws.send("disconnect 4001 gone")
            e = await closed_by_server(ws)
            assert isinstance(e, ConnectionClosedError), repr(e)
            assert e.rcvd is not None and e.rcvd.code == 4001 and e.rcvd.reason == "gone", repr(e)
            # the client answered, the close handshake completed
            assert e.sent is not None and e.sent.code == 4001, repr(e)
        found = await s.await_events(f"close {conn} code=4001 by_server=1 reason=gone")
        assert len(found) == 1, s.events()


async def test_server_disconnect_invalid_code_is_refused():
    # disconnect() accepts 1000 and 4000-4999 only; the probe reports the rc.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            await ws.send("disconnect 1006 nope")
            assert await recv(ws) == "disconnect -5"
            await ws.send("disconnect 4000 " + "r" * 126)
            assert await recv(ws) == "disconnect -5"
            await ws.send("still open")
            assert await recv(ws) == "still open"


async def test_server_close_without_frame():
    # close(): the TCP connection ends without a close frame (1006 for the client).
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await ws.send("close")
            e = await closed_by_server(ws)
            assert e.rcvd is None, f"close() sent a close frame: {e!r}"
        assert await s.await_events(f"close {conn} ")
        assert s.stop() == 0          # after the workers' last events
        found = [e for e in s.events() if e.startswith(f"close {conn} ")]
        assert len(found) == 1, s.events()


async def test_client_vanishes():
    # The TCP connection just ends: code 1006, by_server=0.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.abort()
        found = await s.await_events(f"close {conn} code=1006 by_server=0")
        assert len(found) == 1, s.events()


async def test_sigterm_sends_1001_and_exits_0():
    with Server(probe_config()) as s:
        clients = [await websockets.connect(s.url("/")) for _ in range(3)]
        try:
            ids = [await conn_id(ws) for ws in clients]
            s.proc.send_signal(signal.SIGTERM)
            for ws in clients:
                e = await closed_by_server(ws, 10)
                assert isinstance(e, ConnectionClosedOK), repr(e)
                assert e.rcvd is not None and e.rcvd.code == 1001, repr(e)
            assert await s.await_exit(10) == 0, f"exit status {s.proc.poll()}\n{s.log()}"
        finally:
            for ws in clients:
                ws.transport.abort()
        for conn in ids:
            found = [e for e in s.events() if e.startswith(f"close {conn} ")]
            assert len(found) == 1 and "code=1001 by_server=1" in found[0], s.events()
        assert any(e.startswith("worker_stop") for e in s.events()), s.events()


async def test_sigterm_with_unresponsive_client_respects_shutdown_timeout():
    # The client never answers the 1001 close frame: wsd drops it after
    # shutdown_timeout and still exits 0.
    with Server(probe_config("shutdown_timeout: 500ms\n")) as s:
        ws = await websockets.connect(s.url("/"))
        try:
            await conn_id(ws)
            ws.transport.pause_reading()
            loop = asyncio.get_running_loop()
            start = loop.time()
            s.proc.send_signal(signal.SIGTERM)
            status = await s.await_exit(10)
            elapsed = loop.time() - start
            assert status == 0, f"exit status {status}\n{s.log()}"
            assert elapsed < 4, f"shutdown took {elapsed:.2f}s with shutdown_timeout 500ms"
        finally:
            ws.transport.abort()


# --- pings ---------------------------------------------------------------

async def test_ping_answered_automatically():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/"), ping_interval=None) as ws:
            pong = await ws.ping(b"abc")
            await asyncio.wait_for(pong, 5)
            pong = await ws.ping(b"")
            await asyncio.wait_for(pong, 5)
            pong = await ws.ping(b"p" * 125)            # the largest control payload
            await asyncio.wait_for(pong, 5)
            await ws.pong(b"unsolicited")              # allowed, ignored
            await ws.send("still here")
            assert await recv(ws) == "still here"
        assert not [e for e in s.events() if e.startswith("ping ")], s.events()


async def test_ping_frames_delivered_to_plugin():
    with Server(probe_config("open_websocket_ping_frame: true\n")) as s:
        async with websockets.connect(s.url("/"), ping_interval=None) as ws:
            conn = await conn_id(ws)
            pong = await ws.ping(b"xyz")
            await asyncio.wait_for(pong, 5)        # the probe answers it
        found = await s.await_events(f"ping {conn} data=xyz")
        assert len(found) == 1, s.events()


async def test_close_frames_delivered_to_plugin():
    with Server(probe_config("open_websocket_close_frame: true\n")) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await asyncio.wait_for(ws.close(4002, "see you"), 5)
            assert ws.close_code == 4002, "the close handshake was not answered"
        assert await s.await_events(f"close_frame {conn} code=4002 reason=see you")
        found = await s.await_events(f"close {conn} code=4002 by_server=0")
        assert len(found) == 1, s.events()


# --- protocol errors -----------------------------------------------------

async def test_invalid_utf8_text_closes_1007():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await ws.write_frame(True, 0x1, b"\xff\xfe")
            await expect_protocol_close(s, ws, conn, 1007)


async def test_invalid_utf8_across_fragments_closes_1007():
    # "\xce\xba" is valid; "\xce" followed by "A" in the next fragment is not.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await ws.write_frame(False, 0x1, b"ok\xce")
            await ws.write_frame(True, 0x0, b"A")
            await expect_protocol_close(s, ws, conn, 1007)


async def test_invalid_utf8_close_reason_closes_1007():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x88, struct.pack("!H", 1000) + b"\xff\xfe"))
            e = await closed_by_server(ws)
            assert e.rcvd is not None and e.rcvd.code == 1007, repr(e)
        found = await s.await_events(f"close {conn} code=1007 by_server=1")
        assert len(found) == 1, s.events()


async def test_unmasked_frame_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(b"\x81\x02hi")
            await expect_protocol_close(s, ws, conn, 1002)


async def test_reserved_opcode_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x83, b"x"))
            await expect_protocol_close(s, ws, conn, 1002)


async def test_rsv_bit_without_extension_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/"), compression=None) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0xC1, b"hi"))     # FIN + RSV1, text
            await expect_protocol_close(s, ws, conn, 1002)


async def test_fragmented_ping_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x09, b"p"))      # ping without FIN
            await expect_protocol_close(s, ws, conn, 1002)


async def test_oversized_ping_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x89, b"p" * 126))
            await expect_protocol_close(s, ws, conn, 1002)


async def test_continuation_without_start_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x80, b"orphan"))
            await expect_protocol_close(s, ws, conn, 1002)


async def test_new_message_inside_fragmented_one_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x01, b"first") + masked_frame(0x81, b"second"))
            await expect_protocol_close(s, ws, conn, 1002)


async def test_invalid_close_code_closes_1002():
    # 1005 and 1006 must never be sent; 999 and 5000 are outside every range.
    for bad in (999, 1005, 1006, 1015, 5000):
        with Server(probe_config()) as s:
            async with websockets.connect(s.url("/")) as ws:
                conn = await conn_id(ws)
                ws.transport.write(masked_frame(0x88, struct.pack("!H", bad)))
                e = await closed_by_server(ws)
                assert e.rcvd is not None and e.rcvd.code == 1002, f"close code {bad}: {e!r}"
            found = await s.await_events(f"close {conn} code=1002 by_server=1")
            assert len(found) == 1, (bad, s.events())


async def test_one_byte_close_payload_closes_1002():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x88, b"\x03"))
            await expect_protocol_close(s, ws, conn, 1002)


async def test_other_connections_survive_a_protocol_error():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as good, websockets.connect(s.url("/")) as bad:
            bad.transport.write(b"\x81\x02hi")            # unmasked
            await closed_by_server(bad)
            await good.send("fine")
            assert await recv(good) == "fine"


def deflate_raw(data):
    """A permessage-deflate payload (RFC 7692 7.2.1): raw deflate, sync
    flushed, without the trailing 00 00 ff ff."""
    import zlib
    c = zlib.compressobj(wbits=-15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


COMPRESSION = "websocket_compression: true\n"


async def test_raw_compressed_message_is_inflated():
    # A hand-made compressed frame is inflated; checks the helper too.
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), compression="deflate") as ws:
            assert ws.extensions, "deflate not negotiated"
            ws.transport.write(masked_frame(0xC1, deflate_raw(b"inflated")))
            assert await recv(ws) == "inflated"


async def test_rsv1_on_continuation_closes_1002():
    # RFC 7692 6.1: RSV1 only on the first frame of a message.
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/"), compression="deflate") as ws:
            assert ws.extensions, "deflate not negotiated"
            conn = await conn_id(ws)
            payload = deflate_raw(b"hello world")
            ws.transport.write(masked_frame(0x41, payload[:4]) + masked_frame(0xC0, payload[4:]))
            await expect_protocol_close(s, ws, conn, 1002)


async def test_rsv1_on_control_frame_closes_1002():
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/"), compression="deflate") as ws:
            assert ws.extensions, "deflate not negotiated"
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0xC9, b"p"))       # ping with RSV1
            await expect_protocol_close(s, ws, conn, 1002)


async def test_corrupt_deflate_data_fails_the_connection():
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/"), compression="deflate") as ws:
            assert ws.extensions, "deflate not negotiated"
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0xC1, b"\xff\xff\xff\xff\xff\xff"))
            e = await closed_by_server(ws)
            assert e.rcvd is not None and e.rcvd.code in (1002, 1007), repr(e)
        found = await s.await_events(f"close {conn} code={e.rcvd.code} by_server=1")
        assert len(found) == 1, s.events()


async def test_64bit_length_with_high_bit_set_fails():
    # RFC 6455 5.2: the most significant bit of a 64-bit length MUST be 0.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(b"\x82\xff" + b"\x80" + b"\x00" * 7 + b"\x00\x00\x00\x00")
            e = await closed_by_server(ws)
            assert e.rcvd is not None and e.rcvd.code in (1002, 1009), repr(e)
        found = await s.await_events(f"close {conn} code={e.rcvd.code} by_server=1")
        assert len(found) == 1, s.events()


async def test_close_reason_of_123_bytes():
    reason = "r" * 123                   # the most a close frame can carry
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            await asyncio.wait_for(ws.close(4999, reason), 5)
            assert ws.close_code == 4999
        found = await s.await_events(f"close {conn} code=4999 by_server=0 reason={reason} ")
        assert len(found) == 1, s.events()


async def test_data_after_close_frame_is_ignored():
    # RFC 6455 5.5.1: after sending a close frame, the endpoint sends no data;
    # a server must not deliver data that follows a close frame.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn = await conn_id(ws)
            ws.transport.write(masked_frame(0x88, struct.pack("!H", 4003)) + masked_frame(0x81, b"late"))
            e = await closed_by_server(ws)
            assert e.rcvd is not None and e.rcvd.code == 4003, repr(e)
        assert s.stop() == 0
        assert len([e for e in s.events() if e.startswith(f"close {conn} code=4003")]) == 1, s.events()


def test_client_half_close_after_messages_still_gets_the_echoes():
    """Messages and the client's FIN arrive together (it shut down its
    sending side right after them, without a close frame), once after the
    handshake and once in the same write as the upgrade request: the server
    reads on to the FIN, yet in BASE mode the echoes it queued for those
    messages still leave before the connection ends (the ones behind the
    upgrade request are replayed first). In PROCESS mode the answers come
    from a worker after the connection has ended (1006): only that it ends,
    with nothing but echoes on it, is checked."""
    texts = [b"one", b"two " * 10, b"three" * 40]
    frames = b"".join(masked_frame(0x81, t) for t in texts)
    expected = b"".join(frame_header(0x81, len(t), mask_bit=0) + t for t in texts)
    upgrade = (b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               b"Sec-WebSocket-Key: " + base64.b64encode(b"half-close-test!") + b"\r\n\r\n")
    with Server(probe_config()) as s:
        for together in (False, True):
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
                if together:
                    sock.sendall(upgrade + frames)
                    sock.shutdown(socket.SHUT_WR)
                else:
                    sock.sendall(upgrade)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(4096)
                    assert chunk, data
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                assert head.startswith(b"HTTP/1.1 101"), head
                if not together:
                    sock.sendall(frames)
                    sock.shutdown(socket.SHUT_WR)
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            if base_mode():
                assert data == expected, (together, data)
            else:
                assert expected.startswith(data), (together, data)
