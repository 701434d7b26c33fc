"""TLS listeners (ssl_cert_file / ssl_key_file, listeners:) with
python3-websockets over wss:// and http.client over HTTPS."""
import asyncio
import atexit
import http.client
import os
import signal
import socket
import shutil
import ssl
import subprocess
import tempfile
import time

import websockets

from wsdtest import Server, base_mode, closed_by_server, probe_config, recv

_CERT = None


def _openssl(d, *args):
    subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True, timeout=30)


def _signed(d, name, subject, serial, ext):
    """name.pem / name.key signed by the test CA in d."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write(ext)
    _openssl(d, "req", *EC_KEY, "-keyout", name + ".key", "-out", name + ".csr", "-subj", subject)
    _openssl(d, "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-set_serial", serial, "-days", "2", "-out", name + ".pem", "-extfile", name + ".ext")


EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def cert_files():
    """A test CA, a server certificate for 127.0.0.1 / localhost and a client
    certificate it signed, made once per run in a temp folder (nothing private
    is committed). Returns (folder, {file name: bytes}) with the files a
    server needs: server.pem, server.key, ca.pem."""
    global _CERT
    if _CERT is None:
        d = tempfile.mkdtemp(prefix="wsd-py-tls-")
        atexit.register(shutil.rmtree, d, True)
        _openssl(d, "req", "-x509", *EC_KEY, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
                 "-subj", "/CN=wsd test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        _signed(d, "server", "/CN=localhost", "0x1001",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
        _signed(d, "client", "/CN=wsd test client", "0x2001",
                "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
        files = {}
        for name in ("server.pem", "server.key", "ca.pem"):
            with open(os.path.join(d, name), "rb") as f:
                files[name] = f.read()
        _CERT = (d, files)
    return _CERT


def client_context(client_cert=False):
    d, _ = cert_files()
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    if client_cert:
        ctx.load_cert_chain(os.path.join(d, "client.pem"), os.path.join(d, "client.key"))
    return ctx


TLS = "ssl_cert_file: server.pem\nssl_key_file: server.key\n"


def tls_server(extra=""):
    return Server(probe_config(TLS + extra), files=cert_files()[1])


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


async def test_tls_and_plain_listeners_side_by_side():
    extra = "listeners:\n  - host: 127.0.0.1\n    port: 0\n"
    # BASE mode refuses a push to another worker's connection: one worker
    # there, so that the push below crosses listeners, not workers.
    if base_mode():
        extra += "worker_num: 1\n"
    with tls_server(extra) as s:
        assert len(s.ports) == 2, s.log()
        tls_port, plain_port = s.ports
        async with websockets.connect(f"wss://127.0.0.1:{tls_port}/", ssl=client_context()) as a, \
                websockets.connect(f"ws://127.0.0.1:{plain_port}/") as b:
            for ws, port, tls in ((a, tls_port, "1"), (b, plain_port, "0")):
                await ws.send("info")
                # info <ip> <port> <server_port> <status> <reactor> <worker> <tls> <peer_ip> <peer_port>
                info = (await recv(ws)).split()
                assert int(info[3]) == port and info[7] == tls, (info, port)
                assert info[8] == "127.0.0.1" and info[9] == info[2], info
            # a push between a TLS and a plain connection
            await b.send("whoami")
            b_id = (await recv(b)).split()[1]
            await a.send(f"push {b_id} across")
            assert await recv(a) == "push 0"
            assert await recv(b) == "across"


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


async def test_client_certificate_required_with_ssl_verify_peer():
    with tls_server("ssl_verify_peer: true\nssl_client_cert_file: ca.pem\n") as s:
        url = f"wss://127.0.0.1:{s.port}/echo"
        async with websockets.connect(url, ssl=client_context(client_cert=True)) as ws:
            await ws.send("with a certificate")
            assert await recv(ws) == "with a certificate"
        try:
            async with websockets.connect(url, ssl=client_context(), open_timeout=3) as ws:
                # TLS 1.3: the refusal of the certificate may come after the
                # client's side of the handshake, at the first read.
                await ws.send("without")
                await recv(ws, 3)
            raise AssertionError("a client without a certificate was served")
        except (ssl.SSLError, websockets.exceptions.ConnectionClosed, websockets.exceptions.InvalidMessage,
                ConnectionError, EOFError, OSError):
            pass
        async with websockets.connect(url, ssl=client_context(client_cert=True)) as ws:
            await ws.send("still served")
            assert await recv(ws) == "still served"


def test_tls_1_1_refused_tls_1_3_negotiated():
    with tls_server() as s:
        ctx = client_context()
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")   # else OpenSSL 3 would not even offer TLS 1.1
        try:
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw, \
                    ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                raise AssertionError("TLS 1.1 was accepted")
        except ssl.SSLError as e:
            assert "VERSION" in str(e).upper(), e
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw, \
                client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() == "TLSv1.3", tls.version()


async def test_sighup_reloads_the_certificate_without_dropping_connections():
    d, _ = cert_files()
    with tls_server() as s:
        async with websockets.connect(f"wss://127.0.0.1:{s.port}/echo", ssl=client_context()) as ws:
            # a renewed certificate (another serial) over the server's files
            _signed(d, "renewed", "/CN=localhost renewed", "0x3003",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
            for ext in ("pem", "key"):
                shutil.copy(os.path.join(d, f"renewed.{ext}"), os.path.join(s.dir, f"new.{ext}"))
                os.replace(os.path.join(s.dir, f"new.{ext}"), os.path.join(s.dir, f"server.{ext}"))
            s.proc.send_signal(signal.SIGHUP)
            serial = None
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw, \
                        client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    serial = tls.getpeercert()["serialNumber"]
                if serial == "3003":
                    break
                await asyncio.sleep(0.05)
            assert serial == "3003", (serial, s.log())
            await ws.send("kept")                          # the old connection is still there
            assert await recv(ws) == "kept"
