"""Echo through wsd with an independent client (python3-websockets):
message sizes around the frame-length encodings, package_max_length, and
fragmented messages sent by the client."""
import asyncio
import socket

import websockets
from websockets.exceptions import ConnectionClosedError

from wsdtest import Server, probe_config, recv, send_then_closed

# 0, 1, the 7-bit length limit and the first 16-bit length, the 16-bit limit
# and the first 64-bit length, and a large message.
SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]


def text_of(n):
    # ASCII plus 2-byte characters would break the exact sizes; keep ASCII
    # but not constant, so a misplaced chunk would show.
    return "".join(chr(0x61 + (i * 7 + i // 251) % 26) for i in range(n))


async def test_echo_text_and_binary():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            await ws.send("hello")
            assert await recv(ws) == "hello"
            payload = bytes(range(256)) * 300
            await ws.send(payload)
            assert await recv(ws) == payload


async def test_echo_sizes_text_and_binary():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None, max_size=None) as ws:
            for n in SIZES:
                text = text_of(n)
                await ws.send(text)
                got = await recv(ws, 10)
                assert isinstance(got, str), f"text of {n} bytes came back as {type(got).__name__}"
                assert len(got) == n and got == text, f"text of {n} bytes: got {len(got)} bytes back"
                data = bytes((i * 31 + 7) & 0xFF for i in range(n))
                await ws.send(data)
                got = await recv(ws, 10)
                assert isinstance(got, bytes), f"binary of {n} bytes came back as {type(got).__name__}"
                assert len(got) == n and got == data, f"binary of {n} bytes: got {len(got)} bytes back"


async def test_echo_multibyte_utf8():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            text = "h\u00e9llo \u4e16\u754c \U0001F600 " * 1000
            await ws.send(text)
            assert await recv(ws) == text


async def test_echo_many_messages_in_order():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            for i in range(200):
                await ws.send(f"m{i}")
            for i in range(200):
                assert await recv(ws) == f"m{i}"


async def test_package_max_length_exact_is_accepted():
    with Server(probe_config(), args=["--set", "package_max_length=1M"]) as s:
        async with websockets.connect(s.url("/echo"), compression=None, max_size=None) as ws:
            data = bytes(range(256)) * 4096          # exactly 1 MiB
            assert len(data) == 1 << 20
            await ws.send(data)
            assert await recv(ws, 10) == data
            text = "z" * (1 << 20)
            await ws.send(text)
            assert await recv(ws, 10) == text


async def test_package_max_length_plus_one_closes_1009():
    with Server(probe_config(), args=["--set", "package_max_length=1M"]) as s:
        async with websockets.connect(s.url("/"), compression=None, max_size=None) as ws:
            await ws.send("whoami")
            conn = (await recv(ws)).split()[1]
            e = await send_then_closed(ws, b"x" * ((1 << 20) + 1), 10)
            assert isinstance(e, ConnectionClosedError), repr(e)
            assert e.rcvd is not None, f"no close frame received: {e!r}"
            assert e.rcvd.code == 1009, f"close code {e.rcvd.code}, expected 1009"
        found = await s.await_events(f"close {conn} code=1009 by_server=1")
        assert len(found) == 1, s.events()


async def test_package_max_length_by_fragments_closes_1009():
    # Each fragment is small; the message grows past the limit.
    with Server(probe_config(), args=["--set", "package_max_length=1M"]) as s:
        async with websockets.connect(s.url("/echo"), compression=None, max_size=None) as ws:
            e = await send_then_closed(ws, [b"a" * (1 << 19), b"b" * (1 << 19), b"c"], 10)
            assert e.rcvd is not None and e.rcvd.code == 1009, repr(e)


async def test_fragmented_text_is_reassembled():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            await ws.send(["ab", "cd", "", "ef"])
            assert await recv(ws) == "abcdef"
            # the connection is still usable afterwards, and unfragmented
            # messages are not mixed with the reassembled one
            await ws.send("after")
            assert await recv(ws) == "after"


async def test_fragmented_binary_is_reassembled():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            parts = [bytes([i]) * (70000 if i == 1 else 100) for i in range(1, 6)]
            await ws.send(parts)
            assert await recv(ws) == b"".join(parts)


async def test_fragmented_async_iterable_is_reassembled():
    async def gen():
        for i in range(10):
            await asyncio.sleep(0.005)   # fragments in separate TCP segments
            yield f"<{i}>"

    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            await ws.send(gen())
            assert await recv(ws) == "".join(f"<{i}>" for i in range(10))


async def test_fragmented_utf8_split_inside_a_character():
    # A valid message whose 2-byte and 4-byte characters are split across
    # fragments must be accepted (the UTF-8 check spans the fragments).
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            raw = "\u00e9\U0001F600".encode()      # c3 a9 f0 9f 98 80
            await ws.write_frame(False, 0x1, raw[:1])
            await ws.write_frame(False, 0x0, raw[1:4])
            await ws.write_frame(True, 0x0, raw[4:])
            assert await recv(ws) == "\u00e9\U0001F600"


async def test_ping_between_fragments():
    # A control frame may come between the fragments of a message.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            await ws.write_frame(False, 0x1, b"hel")
            pong = await ws.ping(b"mid")
            await ws.write_frame(True, 0x0, b"lo")
            await asyncio.wait_for(pong, 5)
            assert await recv(ws) == "hello"


async def test_probe_echoes_non_commands_with_opcode():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/"), compression=None) as ws:
            await ws.send("not a command")
            assert await recv(ws) == "not a command"
            await ws.send(b"whoami")          # binary is never a command
            assert await recv(ws) == b"whoami"


def _masked(first_byte, payload, mask=b"\x5a\xa5\x0f\xf0"):
    n = len(payload)
    if n < 126:
        head = bytes([first_byte, 0x80 | n])
    elif n < 65536:
        head = bytes([first_byte, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first_byte, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def test_several_frames_in_one_write():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            ws.transport.write(_masked(0x81, b"one") + _masked(0x82, b"two") +
                               _masked(0x01, b"th") + _masked(0x89, b"p") + _masked(0x80, b"ree"))
            assert await recv(ws) == "one"
            assert await recv(ws) == b"two"
            assert await recv(ws) == "three"


async def test_frame_trickled_byte_by_byte():
    # Every header field split across TCP segments: the parser must wait.
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data = _masked(0x82, bytes(range(200)))          # 16-bit length
            for i in range(len(data)):
                ws.transport.write(data[i:i + 1])
                if i < 12:
                    await asyncio.sleep(0.003)
            assert await recv(ws) == bytes(range(200))
