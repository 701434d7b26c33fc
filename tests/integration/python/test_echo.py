"""Echo through wsd with an independent client (python3-websockets)."""
import websockets

from wsdtest import Server, probe_config


async def test_echo_text_and_binary():
    with Server(probe_config()) as s:
        async with websockets.connect(s.url("/echo"), compression=None) as ws:
            await ws.send("hello")
            assert await ws.recv() == "hello"
            payload = bytes(range(256)) * 300
            await ws.send(payload)
            assert await ws.recv() == payload
