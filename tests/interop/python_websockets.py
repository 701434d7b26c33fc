"""Interop: Debian's python3-websockets client against the real wsd binary:
text, binary, 1 MiB, fragmented, ping, close codes both ways, subprotocol;
with permessage-deflate on and off; over ws:// or (--tls) wss://.

    /usr/bin/python3 tests/interop/python_websockets.py --wsd build/daemon/wsd \
        --plugins build/plugins [--tls]

/usr/bin/python3 on purpose: python3-websockets is installed for it. The server
is started and the certificates made by the integration suite's helpers
(tests/integration/python: wsdtest.Server, test_tls.cert_files).
"""
import argparse
import asyncio
import os
import ssl
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration", "python"))

import websockets  # noqa: E402

import test_tls  # noqa: E402
import wsdtest  # noqa: E402
from wsdtest import Server, closed_by_server, recv  # noqa: E402

CONFIG = """websocket_compression: true
websocket_subprotocol: chat.v1
plugin_dir: ["{plugins}"]
plugins:
  - {{name: probe, file: probe.so, default: true, paths: ["/"]}}
  - {{name: echo, file: echo.so, paths: ["/echo"]}}
"""


async def cases(base, client_options, deflate):
    passed = []

    async def case(name, body, path="/echo", **extra):
        async with websockets.connect(base + path, **client_options, **extra) as ws:
            names = [e.name for e in ws.extensions]
            assert names == (["permessage-deflate"] if deflate else []), names
            await body(ws)
        passed.append(name)

    async def text(ws):
        message = "héllo wsd ✓ " * 3
        await ws.send(message)
        assert await recv(ws) == message

    async def binary(ws):
        data = os.urandom(1000)
        await ws.send(data)
        assert await recv(ws) == data

    async def large(ws):
        data = os.urandom(1 << 20)
        await ws.send(data)
        assert await recv(ws, 30) == data
        message = ('{"seq":12345,"msg":"hello"}\n' * 40000)[: 1 << 20]
        await ws.send(message)
        assert await recv(ws, 30) == message

    async def fragmented(ws):
        # An iterable is sent as one message in fragments: text, continuation, continuation.
        await ws.send(["frag-1 ", "frag-2 ", "frag-3"])
        assert await recv(ws) == "frag-1 frag-2 frag-3"
        await ws.send([b"\x00\x01", b"\x02", b"\x03\x04"])
        assert await recv(ws) == b"\x00\x01\x02\x03\x04"

    async def ping(ws):
        # The waiter completes only on a pong carrying this payload.
        waiter = await ws.ping(b"are you there?")
        await asyncio.wait_for(waiter, 10)

    async def close_by_client(ws):
        await asyncio.wait_for(ws.close(4000, "client done"), 10)
        assert ws.close_code == 4000, ws.close_code

    async def close_normal(ws):
        await asyncio.wait_for(ws.close(1000), 10)
        assert ws.close_code == 1000, ws.close_code

    async def close_by_server(ws):
        await ws.send("disconnect 4001 server done")
        e = await closed_by_server(ws, 10)
        assert (e.rcvd.code, e.rcvd.reason) == (4001, "server done"), e

    async def subprotocol(ws):
        assert ws.subprotocol == "chat.v1", ws.subprotocol
        await ws.send("with a subprotocol")
        assert await recv(ws) == "with a subprotocol"

    async def no_subprotocol(ws):
        assert ws.subprotocol is None, ws.subprotocol

    async def tls_flag(ws):
        # The probe's "info": the server saw TLS exactly on wss://.
        await ws.send("info")
        info = (await recv(ws)).split()
        assert info[7] == ("1" if base.startswith("wss:") else "0"), info

    await case("text", text)
    await case("binary", binary)
    await case("1 MiB binary and text", large)
    await case("fragmented", fragmented)
    await case("ping", ping)
    await case("close by client 4000", close_by_client)
    await case("close by client 1000", close_normal)
    await case("close by server 4001", close_by_server, path="/")
    await case("subprotocol", subprotocol, subprotocols=["nope", "chat.v1"])
    await case("no subprotocol offered", no_subprotocol)
    await case("tls flag", tls_flag, path="/")
    return passed


async def run(tls):
    extra = test_tls.TLS if tls else ""
    files = test_tls.cert_files()[1] if tls else None
    with Server(CONFIG.format(plugins=wsdtest.PLUGIN_DIR) + extra, files=files) as server:
        base = f"{'wss' if tls else 'ws'}://127.0.0.1:{server.port}"
        for deflate in (True, False):
            options = {"compression": "deflate" if deflate else None, "max_size": 4 << 20,
                       "open_timeout": 10, "close_timeout": 10}
            if tls:
                options["ssl"] = test_tls.client_context()
            try:
                passed = await cases(base, options, deflate)
            except BaseException:
                print("wsd log:\n" + server.log())
                raise
            print(f"websockets {websockets.__version__} {base} permessage-deflate "
                  f"{'on' if deflate else 'off'}: {', '.join(passed)}: ok")
        assert server.stop() == 0, "wsd did not stop cleanly:\n" + server.log()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wsd", required=True)
    parser.add_argument("--plugins", required=True)
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    wsdtest.WSD = os.path.abspath(args.wsd)
    wsdtest.PLUGIN_DIR = os.path.abspath(args.plugins)
    asyncio.run(run(args.tls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
