"""Large messages between reactor and worker: PROCESS mode moves payloads of
4 KiB and more through a shared-memory ring (ipc/shared_ring.h), lends the
echo plugin's replies back instead of copying them, and falls back to the
socket when the ring is full. Every echo must come back whole and in order,
through a reload and with an invalid message in between; BASE mode runs the
same tests through its direct path."""
import asyncio
import random
import signal
import time

import websockets

from wsdtest import Server, plugin_config, process_only, recv

SIZES = [100, 4095, 4096, 4097, 8 * 1024, 64 * 1024, 200 * 1024, 512 * 1024, 512 * 1024 + 1, 700 * 1024]


def echo_config(extra=""):
    return plugin_config(("echo", "echo.so", ["/"], True), extra="worker_num: 2\n" + extra)


def payload(size, seed, text):
    rng = random.Random(seed)
    if text:
        # ASCII and two-byte characters, cut to `size` bytes on a character boundary
        out = []
        n = 0
        while n < size:
            ch = rng.choice("abcdefgh\u00e9\u00fc")
            b = len(ch.encode())
            if n + b > size:
                ch, b = "x", 1
            out.append(ch)
            n += b
        return "".join(out)
    return rng.randbytes(size)


async def pipelined_echo(ws, sizes, seed, depth=8):
    """Sends every size with up to `depth` in flight, checks each echo."""
    sent = []
    for i, size in enumerate(sizes):
        m = payload(size, seed * 1000 + i, text=(i % 2 == 0))
        sent.append(m)
        await ws.send(m)
        if len(sent) - depth >= 0 and i >= depth:
            got = await recv(ws, 10)
            assert got == sent[i - depth], f"echo {i - depth} differs ({len(got)} vs {len(sent[i - depth])} bytes)"
    start = max(0, len(sizes) - depth) if len(sizes) > depth else 0
    for j in range(start, len(sizes)):
        got = await recv(ws, 10)
        assert got == sent[j], f"echo {j} differs ({len(got)} vs {len(sent[j])} bytes)"


async def test_every_size_round_the_ring_many_clients():
    with Server(echo_config()) as s:
        clients = [await websockets.connect(s.url("/"), compression=None, max_size=None) for _ in range(6)]
        try:
            # 6 clients x 3 passes over the sizes with 8 in flight: several MiB
            # per worker channel, so the 2 MiB rings wrap and fill.
            await asyncio.gather(*(pipelined_echo(ws, SIZES * 3, seed=k) for k, ws in enumerate(clients)))
        finally:
            for ws in clients:
                await asyncio.wait_for(ws.close(), 5)


async def test_invalid_large_text_closes_only_its_connection():
    with Server(echo_config()) as s:
        good = await websockets.connect(s.url("/"), compression=None, max_size=None)
        bad = await websockets.connect(s.url("/"), compression=None, max_size=None)
        try:
            m = payload(64 * 1024, 1, text=False)
            await good.send(m)
            assert await recv(good) == m
            # 64 KiB of text whose last bytes are not UTF-8: refused with 1007
            # after it was unmasked into the ring, which must stay usable.
            frame_bytes = b"a" * (64 * 1024 - 2) + b"\xc3\x28"
            await bad.ensure_open()
            from websockets.frames import Frame, Opcode
            await bad.write_frame(True, Opcode.TEXT, frame_bytes)
            try:
                await recv(bad, 5)
                assert False, "an invalid message was echoed"
            except websockets.exceptions.ConnectionClosed as e:
                assert e.code == 1007, e
            for i in range(20):
                m = payload(100 * 1024, 10 + i, text=(i % 2 == 0))
                await good.send(m)
                assert await recv(good) == m
        finally:
            await asyncio.wait_for(good.close(), 5)


@process_only("BASE mode: a reload does not replace the workers")
async def test_reload_with_large_messages_in_flight():
    with Server(echo_config()) as s:
        clients = [await websockets.connect(s.url("/"), compression=None, max_size=None) for _ in range(4)]
        try:
            async def traffic(ws, seed):
                await pipelined_echo(ws, [64 * 1024, 300 * 1024, 5000] * 15, seed=seed, depth=16)

            task = asyncio.gather(*(traffic(ws, k) for k, ws in enumerate(clients)))
            await asyncio.sleep(0.05)
            s.proc.send_signal(signal.SIGHUP)
            await asyncio.wait_for(task, 60)
            deadline = time.monotonic() + 20
            while "reload complete" not in s.log():
                assert time.monotonic() < deadline, "no reload"
                await asyncio.sleep(0.05)
            # and after the hand-over, through the successors' rings
            await asyncio.gather(*(pipelined_echo(ws, SIZES, seed=50 + k) for k, ws in enumerate(clients)))
        finally:
            for ws in clients:
                await asyncio.wait_for(ws.close(), 5)
