"""Handshake negotiation with python3-websockets: subprotocols
(websocket_subprotocol), permessage-deflate (websocket_compression, RFC 7692)
and allowed_origins."""
import random

import websockets
from websockets.exceptions import InvalidStatusCode
from websockets.extensions.permessage_deflate import (ClientPerMessageDeflateFactory,
                                                      PerMessageDeflate)

from wsdtest import Server, probe_config, recv, send_then_closed

SUBPROTOCOL = "websocket_subprotocol: chat\n"
COMPRESSION = "websocket_compression: true\n"


def far_references(block=4096, repeats=1, seed=1):
    """Random text of `block` characters repeated. Sent as one message
    after another, the second copy deflates (with context takeover) into
    back-references `block` bytes into the previous message: inflating
    those needs a window of more than `block` bytes, or the context kept at
    all. (Inside one message zlib resolves any distance, so the tests
    below send the same text more than once.)"""
    rnd = random.Random(seed)
    chunk = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(block))
    return chunk * repeats


def deflate_of(ws):
    ext = [e for e in ws.extensions if isinstance(e, PerMessageDeflate)]
    return ext[0] if ext else None


def record_rsv1(ws):
    """Makes the client note, per received data frame, whether it was
    compressed (RSV1) before permessage-deflate decodes it."""
    seen = []
    ext = deflate_of(ws)
    if ext is None:
        return seen
    decode = ext.decode

    def spy(frame, *, max_size=None):
        if frame.opcode in (0x0, 0x1, 0x2):
            seen.append(frame.rsv1)
        return decode(frame, max_size=max_size)

    ext.decode = spy
    return seen


# --- subprotocols --------------------------------------------------------

async def test_subprotocol_chosen_from_offer():
    with Server(probe_config(SUBPROTOCOL)) as s:
        async with websockets.connect(s.url("/echo"), subprotocols=["superchat", "chat"]) as ws:
            assert ws.subprotocol == "chat"
            await ws.send("x")
            assert await recv(ws) == "x"


async def test_subprotocol_not_offered_gives_none():
    with Server(probe_config(SUBPROTOCOL)) as s:
        async with websockets.connect(s.url("/echo")) as ws:
            assert ws.subprotocol is None
            assert "Sec-WebSocket-Protocol" not in ws.response_headers


async def test_subprotocol_other_offer_is_not_answered():
    # RFC 6455 4.2.2: the server picks one of the client's values or none.
    # websockets raises InvalidHandshake if the server names one not offered.
    with Server(probe_config(SUBPROTOCOL)) as s:
        async with websockets.connect(s.url("/echo"), subprotocols=["other"]) as ws:
            assert ws.subprotocol is None
            assert "Sec-WebSocket-Protocol" not in ws.response_headers
            await ws.send("still works")
            assert await recv(ws) == "still works"


async def test_no_subprotocol_configured():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), subprotocols=["chat"]) as ws:
            assert ws.subprotocol is None


# --- permessage-deflate --------------------------------------------------

async def test_compression_negotiated_and_echo():
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), compression="deflate", max_size=None) as ws:
            ext = deflate_of(ws)
            assert ext is not None, f"no permessage-deflate: {ws.extensions}"
            assert "permessage-deflate" in ws.response_headers.get("Sec-WebSocket-Extensions", "")
            rsv1 = record_rsv1(ws)
            text = "the quick brown fox jumps over the lazy dog. " * 20000   # ~900 KB
            await ws.send(text)
            assert await recv(ws, 10) == text
            data = b"\x00\x01\x02\x03" * 50000
            await ws.send(data)
            assert await recv(ws, 10) == data
            # several messages with context takeover on both sides
            for i in range(20):
                msg = f"message {i} " + "abc" * i
                await ws.send(msg)
                assert await recv(ws) == msg
            assert rsv1 and all(rsv1), f"echo of compressed messages not compressed: {rsv1}"


async def test_compression_fragmented_message():
    # The client compresses a fragmented message (RSV1 only on the first frame).
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), compression="deflate") as ws:
            assert deflate_of(ws) is not None
            parts = ["alpha " * 1000, "beta " * 1000, "gamma " * 1000]
            await ws.send(parts)
            assert await recv(ws) == "".join(parts)
            await ws.send("next")
            assert await recv(ws) == "next"


async def test_pushcompress_arrives_compressed():
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/"), compression="deflate") as ws:
            assert deflate_of(ws) is not None
            rsv1 = record_rsv1(ws)
            await ws.send("pushcompress hi")
            assert await recv(ws) == "hi"
            assert await recv(ws) == "push 0"
            assert rsv1[0] is True, f"pushcompress sent without RSV1: {rsv1}"


async def test_pushcompress_without_negotiation_is_plain():
    # The client offers deflate but the server has compression off: the flag
    # must then be ignored (an RSV1 frame would be a protocol error).
    with Server(probe_config("websocket_compression: false\n")) as s:
        async with websockets.connect(s.url("/"), compression="deflate") as ws:
            assert ws.extensions == [], ws.extensions
            assert "Sec-WebSocket-Extensions" not in ws.response_headers
            await ws.send("pushcompress hi")
            assert await recv(ws) == "hi"
            assert await recv(ws) == "push 0"


async def test_compression_enabled_client_does_not_offer():
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/"), compression=None) as ws:
            assert ws.extensions == []
            assert "Sec-WebSocket-Extensions" not in ws.response_headers
            await ws.send("pushcompress hi")
            assert await recv(ws) == "hi"
            assert await recv(ws) == "push 0"


async def test_compression_server_no_context_takeover():
    # With server_no_context_takeover the client inflates each message with a
    # fresh window: a server that kept its context would send back-references
    # into the previous message, which the client cannot resolve.
    factory = ClientPerMessageDeflateFactory(server_no_context_takeover=True)
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), extensions=[factory], compression=None) as ws:
            ext = deflate_of(ws)
            assert ext is not None and ext.remote_no_context_takeover, ws.extensions
            text = far_references(2000, 1, seed=2)
            for _ in range(4):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_client_no_context_takeover():
    factory = ClientPerMessageDeflateFactory(client_no_context_takeover=True)
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), extensions=[factory], compression=None) as ws:
            ext = deflate_of(ws)
            assert ext is not None and ext.local_no_context_takeover, ws.extensions
            text = far_references(2000, 1, seed=3)
            for _ in range(4):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_server_max_window_bits():
    # The client inflates with a 2^10 window; repetitions 4 KiB apart would
    # break it if the server compressed with a larger window.
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=10)
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), extensions=[factory], compression=None,
                                      max_size=None) as ws:
            ext = deflate_of(ws)
            assert ext is not None, ws.extensions
            assert ext.remote_max_window_bits <= 10, ext
            text = far_references(4096, 1, seed=6)
            for _ in range(3):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_client_max_window_bits():
    factory = ClientPerMessageDeflateFactory(client_max_window_bits=10)
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), extensions=[factory], compression=None) as ws:
            ext = deflate_of(ws)
            assert ext is not None, ws.extensions
            assert ext.local_max_window_bits <= 10, ext
            text = far_references(700, 1, seed=4)
            for _ in range(3):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_configured_window_bits_caps_both():
    # websocket_compression_window_bits: 10 caps both directions when the
    # client allows the server to limit its window (client_max_window_bits).
    with Server(probe_config(COMPRESSION + "websocket_compression_window_bits: 10\n")) as s:
        async with websockets.connect(s.url("/echo"), compression="deflate", max_size=None) as ws:
            ext = deflate_of(ws)
            assert ext is not None, ws.extensions
            assert ext.remote_max_window_bits == 10, ext
            assert ext.local_max_window_bits == 10, ext
            text = far_references(4096, 1, seed=7)
            for _ in range(3):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_configured_window_bits_client_cannot_be_limited():
    # The client does not offer client_max_window_bits, so the server may not
    # name it (RFC 7692 7.1.2.2) and must inflate with a 2^15 window (or
    # decline the extension). websockets rejects an unoffered parameter.
    factory = ClientPerMessageDeflateFactory(client_max_window_bits=None)
    with Server(probe_config(COMPRESSION + "websocket_compression_window_bits: 10\n")) as s:
        async with websockets.connect(s.url("/echo"), extensions=[factory], compression=None,
                                      max_size=None) as ws:
            ext = deflate_of(ws)
            assert ext is None or ext.local_max_window_bits == 15, ext
            text = far_references(4096, 1, seed=8)   # the client refers back 4 KiB
            for _ in range(3):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_server_max_window_bits_8():
    # zlib cannot deflate with a 2^8 window; the server must either decline
    # the offer or really stay within 256 bytes.
    factory = ClientPerMessageDeflateFactory(server_max_window_bits=8)
    with Server(probe_config(COMPRESSION)) as s:
        async with websockets.connect(s.url("/echo"), extensions=[factory], compression=None) as ws:
            ext = deflate_of(ws)
            assert ext is None or ext.remote_max_window_bits == 8, ext
            text = far_references(400, 1, seed=5)
            for _ in range(3):
                await ws.send(text)
                assert await recv(ws) == text


async def test_compression_bomb_closes_1009():
    # package_max_length applies after inflating: 2 MiB of one letter is a
    # few KiB on the wire.
    with Server(probe_config(COMPRESSION), args=["--set", "package_max_length=1M"]) as s:
        async with websockets.connect(s.url("/echo"), compression="deflate", max_size=None) as ws:
            assert deflate_of(ws) is not None
            e = await send_then_closed(ws, "a" * (2 << 20), 10)
            assert e.rcvd is not None and e.rcvd.code == 1009, repr(e)


# --- allowed_origins -----------------------------------------------------

async def test_allowed_origins():
    extra = 'allowed_origins: ["https://a.example"]\n'
    with Server(probe_config(extra)) as s:
        async with websockets.connect(s.url("/echo"), origin="https://a.example") as ws:
            await ws.send("ok")
            assert await recv(ws) == "ok"
        try:
            async with websockets.connect(s.url("/echo"), origin="https://b.example"):
                raise AssertionError("handshake from a foreign origin succeeded")
        except InvalidStatusCode as e:
            assert e.status_code == 403, e
