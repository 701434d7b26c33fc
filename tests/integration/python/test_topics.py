"""Topics and fan-out (subscribe, unsubscribe, publish, broadcast) seen by
python3-websockets clients, through the probe plugin's commands.

No test waits for "nothing arrives": a broadcast sent after a publish from
the same connection is a barrier (same worker, same channels), so a client
that must not get the publish sees the barrier first.

BASE mode: a publish or broadcast reaches the connections of the publishing
worker's process only, and subscribing another worker's connection returns
-6 (WSD_ERR_NOT_SUPPORTED). Tests that need every connection in reach run
BASE mode with one worker; test_base_mode_reaches_own_worker_only shows the
difference."""
import asyncio
import random

import websockets
from websockets.extensions.permessage_deflate import (ClientPerMessageDeflateFactory,
                                                      PerMessageDeflate)

from wsdtest import Server, base_mode, closed_by_server, probe_config, recv


def spread_config(workers=3, reactors=2, extra=""):
    """PROCESS: several workers and reactors; BASE: one worker (all in reach)."""
    if base_mode():
        return probe_config("worker_num: 1\n" + extra)
    return probe_config(f"worker_num: {workers}\nreactor_num: {reactors}\n" + extra)


async def ask(ws, command):
    await ws.send(command)
    return await recv(ws)


async def whoami(ws):
    _, conn, _, worker = (await ask(ws, "whoami")).split()
    return conn, int(worker)


async def close_all(clients):
    for ws in clients:
        await asyncio.wait_for(ws.close(), 5)


def random_text(n, seed):
    rnd = random.Random(seed)
    return "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def record_rsv1(ws):
    """Notes, per received data frame, whether it came compressed (RSV1)."""
    seen = []
    ext = [e for e in ws.extensions if isinstance(e, PerMessageDeflate)]
    if not ext:
        return seen
    decode = ext[0].decode

    def spy(frame, *, max_size=None):
        if frame.opcode in (0x0, 0x1, 0x2):
            seen.append(frame.rsv1)
        return decode(frame, max_size=max_size)

    ext[0].decode = spy
    return seen


async def test_publish_reaches_each_subscriber_once_and_no_one_else():
    with Server(spread_config()) as s:
        clients = [await websockets.connect(s.url("/")) for _ in range(6)]
        try:
            subscribers = [clients[i] for i in (0, 2, 3, 5)]
            for ws in subscribers:
                assert await ask(ws, "sub news") == "sub 0"
            assert await ask(clients[3], "sub news") == "sub 0"   # twice: one membership
            publisher, bystander = clients[1], clients[4]
            assert await ask(publisher, "pub news hello") == "pub 0"
            await publisher.send("bcast end")
            assert await recv(publisher) == "end"
            assert await recv(publisher) == "bcast 0"
            for ws in subscribers:
                assert await recv(ws) == "hello"
                assert await recv(ws) == "end"
            assert await recv(bystander) == "end"
        finally:
            await close_all(clients)


async def test_subscribe_connection_of_another_worker():
    with Server(probe_config("worker_num: 3\n")) as s:
        clients, who = [], []
        a = b = None
        for _ in range(24):   # BASE: the kernel spreads connections, allow a long run on one
            ws = await websockets.connect(s.url("/"))
            clients.append(ws)
            who.append(await whoami(ws))
            other = [i for i, w in enumerate(who[:-1]) if w[1] != who[-1][1]]
            if other:
                a, b = other[0], len(who) - 1
                break
        try:
            assert b is not None, "all connections landed on one worker"
            bid = who[b][0]
            if base_mode():
                assert await ask(clients[a], f"sub news {bid}") == "sub -6"
                assert "BASE mode does not route" in s.log()
                return
            assert await ask(clients[a], f"sub news {bid}") == "sub 0"
            assert await ask(clients[a], "pub news from-a") == "pub 0"
            assert await recv(clients[b]) == "from-a"
            assert await ask(clients[a], f"unsub news {bid}") == "unsub 0"
            assert await ask(clients[a], "pub news gone") == "pub 0"
            assert await ask(clients[a], "bcast end") == "end"
            assert await recv(clients[b]) == "end"
        finally:
            await close_all(clients)


async def test_unsubscribe_stops_delivery_and_membership_ends_on_close():
    with Server(spread_config(2, 1)) as s:
        pub = await websockets.connect(s.url("/"))
        sub = await websockets.connect(s.url("/"))
        try:
            assert await ask(sub, "sub room") == "sub 0"
            assert await ask(pub, "pub room one") == "pub 0"
            assert await recv(sub) == "one"
            assert await ask(sub, "unsub room") == "unsub 0"
            assert await ask(pub, "pub room two") == "pub 0"
            assert await ask(pub, "bcast end1") == "end1"
            assert await recv(pub) == "bcast 0"
            assert await recv(sub) == "end1"

            gone = await websockets.connect(s.url("/"))
            gone_id, _ = await whoami(gone)
            assert await ask(gone, "sub room") == "sub 0"
            await asyncio.wait_for(gone.close(), 5)
            assert await s.await_events(f"close {gone_id} ")
            assert await ask(pub, f"sub room {gone_id}") == "sub -1"
            fresh = await websockets.connect(s.url("/"))   # likely on gone's slot
            try:
                assert await ask(pub, "pub room three") == "pub 0"
                assert await ask(pub, "bcast end2") == "end2"
                assert await recv(pub) == "bcast 0"
                assert await recv(fresh) == "end2"
                assert await ask(fresh, "sub room") == "sub 0"
                assert await ask(pub, "pub room four") == "pub 0"
                assert await ask(pub, "bcast end3") == "end3"
                assert await recv(fresh) == "four"
                assert await recv(fresh) == "end3"
            finally:
                await asyncio.wait_for(fresh.close(), 5)
        finally:
            await close_all([pub, sub])


async def test_broadcast_reaches_every_connection():
    with Server(spread_config(2, 2)) as s:
        clients = [await websockets.connect(s.url("/")) for _ in range(4)]
        clients += [await websockets.connect(s.url("/echo")) for _ in range(2)]
        try:
            for ws in clients[4:]:
                assert await ask(ws, "ready?") == "ready?"
            await clients[0].send("bcast to all")
            assert await recv(clients[0]) == "to all"
            assert await recv(clients[0]) == "bcast 0"
            for ws in clients[1:]:
                assert await recv(ws) == "to all"
        finally:
            await close_all(clients)


async def test_compressed_publish_then_own_compressed_messages_still_decode():
    # The server compresses with context takeover (the default). A shared
    # compressed publish, made by a fresh deflate stream, lands in the
    # client's inflate window between two of the connection's own compressed
    # messages; the one after must still decode.
    with Server(spread_config(2, 1, "websocket_compression: true\n")) as s:
        d = await websockets.connect(s.url("/"), max_size=None)
        p = await websockets.connect(s.url("/"), compression=None, max_size=None)
        try:
            ext = [e for e in d.extensions if isinstance(e, PerMessageDeflate)]
            assert ext and not ext[0].remote_no_context_takeover, d.extensions
            d_rsv1, p_rsv1 = record_rsv1(d), record_rsv1(p)
            assert await ask(d, "sub z") == "sub 0"
            assert await ask(p, "sub z") == "sub 0"
            own = random_text(4096, 1)
            for i in range(3):
                assert await ask(d, f"pushcompress {own}") == own
                assert await recv(d) == "push 0"
                shared = random_text(3000, 10 + i)
                assert await ask(p, f"pubc z {shared}") == shared
                assert await recv(p) == "pub 0"
                assert await recv(d) == shared
            assert await ask(d, f"pushcompress {own}") == own
            assert await recv(d) == "push 0"
            # d: its pushes and the shared frames compressed; p: nothing compressed.
            assert d_rsv1.count(True) >= 7, d_rsv1
            assert True not in p_rsv1, p_rsv1
        finally:
            await close_all([d, p])


async def test_compressed_publish_respects_negotiated_parameters():
    # A client that limits the server's window below the shared stream's
    # gets the publish uncompressed; one that asks for no server context
    # takeover gets it compressed. Both decode, and so do later messages.
    with Server(spread_config(2, 1, "websocket_compression: true\n")) as s:
        small = await websockets.connect(
            s.url("/"), compression=None,
            extensions=[ClientPerMessageDeflateFactory(server_max_window_bits=10)])
        nct = await websockets.connect(
            s.url("/"), compression=None,
            extensions=[ClientPerMessageDeflateFactory(server_no_context_takeover=True)])
        try:
            small_rsv1, nct_rsv1 = record_rsv1(small), record_rsv1(nct)
            for ws in (small, nct):
                assert await ask(ws, "sub z") == "sub 0"
            text = random_text(2000, 3)
            assert await ask(small, f"pubc z {text}") == text
            assert await recv(small) == "pub 0"
            assert await recv(nct) == text
            for ws in (small, nct):
                assert await ask(ws, f"pushcompress {text}") == text
                assert await recv(ws) == "push 0"
            # small: "sub 0", the publish (plain), "pub 0", its own push (compressed), "push 0"
            assert small_rsv1[1] is False and small_rsv1[3] is True, small_rsv1
            # nct: "sub 0", the publish (compressed), its own push (compressed), "push 0"
            assert nct_rsv1[1] is True and nct_rsv1[2] is True, nct_rsv1
        finally:
            await close_all([small, nct])


async def slow_subscriber_run(close_slow):
    extra = "buffer_output_size: 1M\n" + ("buffer_output_close: true\n" if close_slow else "")
    with Server(spread_config(2, 1, extra)) as s:
        pub = await websockets.connect(s.url("/"), compression=None)
        fast = await websockets.connect(s.url("/"), compression=None, max_size=None)
        slow = await websockets.connect(s.url("/"), compression=None, max_size=None)
        try:
            slow_id, _ = await whoami(slow)
            assert await ask(fast, "sub feed") == "sub 0"
            assert await ask(slow, "sub feed") == "sub 0"
            slow.transport.pause_reading()
            # 12 MB in chunks of 300 KB; `fast` reads each chunk before the next.
            chunks, per_chunk = 40, 10
            for _ in range(chunks):
                for _ in range(per_chunk):
                    await pub.send("pubbin feed 30000")
                for _ in range(per_chunk):
                    assert await recv(pub) == "pub 0"
                for _ in range(per_chunk):
                    assert await recv(fast) == b"x" * 30000
            slow.transport.resume_reading()
            if close_slow:
                got = 0
                try:
                    while True:
                        assert await recv(slow, 10) == b"x" * 30000
                        got += 1
                except websockets.exceptions.ConnectionClosed as e:
                    assert e.rcvd is None or e.rcvd.code == 1008, e
                closes = await s.await_events(f"close {slow_id} ")
                assert len(closes) == 1 and "code=1008 by_server=1" in closes[0], closes
            else:
                assert await ask(pub, "bcast end") == "end"
                assert await recv(fast) == "end"
                got = 0
                while (msg := await recv(slow, 10)) != "end":
                    assert msg == b"x" * 30000
                    got += 1
                assert 1 <= got < chunks * per_chunk, got   # the rest was refused
                assert await ask(slow, "still open") == "still open"
            assert await ask(fast, "fine") == "fine"
        finally:
            for ws in (pub, fast, slow):
                await asyncio.wait_for(ws.close(), 5)


async def test_slow_subscriber_is_refused_others_unaffected():
    await slow_subscriber_run(close_slow=False)


async def test_slow_subscriber_closed_with_buffer_output_close():
    await slow_subscriber_run(close_slow=True)


async def test_base_mode_reaches_own_worker_only():
    # BASE: the publishing worker's connections only. PROCESS: all.
    with Server(probe_config("worker_num: 2\n")) as s:
        clients, who = [], []
        a = b = None
        for _ in range(24):
            ws = await websockets.connect(s.url("/"))
            clients.append(ws)
            who.append(await whoami(ws))
            other = [i for i, w in enumerate(who[:-1]) if w[1] != who[-1][1]]
            if other:
                a, b = clients[other[0]], ws
                break
        try:
            assert b is not None, "all connections landed on one worker"
            assert await ask(a, "sub t") == "sub 0"
            assert await ask(b, "sub t") == "sub 0"
            assert await ask(a, "pub t from-a") == "from-a"
            assert await recv(a) == "pub 0"
            await a.send("bcast end-a")
            assert await recv(a) == "end-a"
            assert await recv(a) == "bcast 0"
            if base_mode():
                await b.send("bcast end-b")
                assert await recv(b) == "end-b"     # neither from-a nor end-a came first
                assert await recv(b) == "bcast 0"
            else:
                assert await recv(b) == "from-a"
                assert await recv(b) == "end-a"
        finally:
            await close_all(clients)
