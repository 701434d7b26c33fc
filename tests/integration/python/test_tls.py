"""TLS listeners (ssl_cert_file / ssl_key_file, listeners:) with
python3-websockets over wss:// and http.client over HTTPS."""
import atexit
import http.client
import os
import signal
import socket
import shutil
import ssl
import subprocess
import tempfile

import websockets

from wsdtest import pending, Server, closed_by_server, probe_config, recv

_CERT = None


def cert_files():
    """A self-signed certificate for 127.0.0.1, made once per run."""
    global _CERT
    if _CERT is None:
        d = tempfile.mkdtemp(prefix="wsd-py-tls-")
        atexit.register(shutil.rmtree, d, True)
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=30)
        with open(key, "rb") as f:
            k = f.read()
        with open(cert, "rb") as f:
            c = f.read()
        _CERT = (d, {"key.pem": k, "cert.pem": c})
    return _CERT


def client_context():
    d, _ = cert_files()
    ctx = ssl.create_default_context(cafile=os.path.join(d, "cert.pem"))
    return ctx


TLS = "ssl_cert_file: cert.pem\nssl_key_file: key.pem\n"


def tls_server(extra=""):
    return Server(probe_config(TLS + extra), files=cert_files()[1])


@pending("issue 4: TLS")
async def test_wss_echo():
    with tls_server() as s:
        url = f"wss://127.0.0.1:{s.port}/echo"
        async with websockets.connect(url, ssl=client_context(), max_size=None) as ws:
            await ws.send("over tls")
            assert await recv(ws) == "over tls"
            big = bytes(range(256)) * 4096               # 1 MiB: many TLS records
            await ws.send(big)
            assert await recv(ws, 10) == big
            await ws.send(["frag", "mented"])
            assert await recv(ws) == "fragmented"


@pending("issue 4: TLS")
async def test_wss_with_compression_and_commands():
    with tls_server("websocket_compression: true\n") as s:
        url = f"wss://127.0.0.1:{s.port}/"
        async with websockets.connect(url, ssl=client_context(), compression="deflate") as ws:
            assert ws.extensions, "deflate not negotiated over TLS"
            await ws.send("pushcompress hi")
            assert await recv(ws) == "hi"
            assert await recv(ws) == "push 0"
            await ws.send("info")
            info = (await recv(ws)).split()
            assert info[1] == "127.0.0.1" and int(info[3]) == s.port, info


@pending("issue 4: TLS")
def test_https_request():
    with tls_server() as s:
        c = http.client.HTTPSConnection("127.0.0.1", s.port, timeout=5, context=client_context())
        try:
            c.request("GET", "/x?message=hi")
            r = c.getresponse()
            assert r.status == 200 and r.read() == b"path=/x message=hi"
            c.request("GET", "/echo")                    # keep-alive over TLS
            r = c.getresponse()
            r.read()
            assert r.status == 400, r.status
        finally:
            c.close()


@pending("issue 4: TLS")
async def test_tls_and_plain_listeners_side_by_side():
    extra = "listeners:\n  - host: 127.0.0.1\n    port: 0\n"
    with tls_server(extra) as s:
        assert len(s.ports) == 2, s.log()
        tls_port, plain_port = s.ports
        async with websockets.connect(f"wss://127.0.0.1:{tls_port}/", ssl=client_context()) as a, \
                websockets.connect(f"ws://127.0.0.1:{plain_port}/") as b:
            for ws, port in ((a, tls_port), (b, plain_port)):
                await ws.send("info")
                info = (await recv(ws)).split()
                assert int(info[3]) == port, (info, port)
            # a push between a TLS and a plain connection
            await b.send("whoami")
            b_id = (await recv(b)).split()[1]
            await a.send(f"push {b_id} across")
            assert await recv(a) == "push 0"
            assert await recv(b) == "across"


@pending("issue 4: TLS")
async def test_plaintext_on_tls_port_is_refused_and_server_survives():
    with tls_server() as s:
        try:
            async with websockets.connect(f"ws://127.0.0.1:{s.port}/", open_timeout=3):
                raise AssertionError("a plain-text handshake succeeded on a TLS listener")
        except (websockets.exceptions.InvalidHandshake, websockets.exceptions.InvalidMessage,
                ConnectionError, EOFError, OSError):
            pass
        # garbage instead of a ClientHello, then a client that says nothing
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
            sock.sendall(b"\x16\x03\x01\x00\x05hello" + os.urandom(100))
            sock.settimeout(3)
            try:
                while sock.recv(4096):
                    pass
            except (ConnectionResetError, socket.timeout):
                pass
        async with websockets.connect(f"wss://127.0.0.1:{s.port}/echo", ssl=client_context()) as ws:
            await ws.send("alive")
            assert await recv(ws) == "alive"


@pending("issue 4: TLS")
async def test_wss_sigterm_sends_1001():
    with tls_server() as s:
        async with websockets.connect(f"wss://127.0.0.1:{s.port}/", ssl=client_context()) as ws:
            await ws.send("whoami")
            conn = (await recv(ws)).split()[1]
            s.proc.send_signal(signal.SIGTERM)
            e = await closed_by_server(ws, 10)
            assert e.rcvd is not None and e.rcvd.code == 1001, repr(e)
        assert await s.await_exit(10) == 0, s.log()
        assert [e for e in s.events() if e.startswith(f"close {conn} code=1001 by_server=1")], s.events()
