"""Behind a proxy: the PROXY protocol (proxy_protocol: true) and
X-Forwarded-For, believed from trusted_proxies only. python3-websockets runs
over a socket on which the PROXY header was already sent (connect(sock=...))."""
import socket
import struct

import websockets

from wsdtest import Server, probe_config, process_only, recv

TRUST_LOCAL = 'trusted_proxies: ["127.0.0.1"]\n'


def v2_header(family, src, dst, sport, dport):
    """A PROXY protocol v2 header (PROXY command, TCP)."""
    fam = {socket.AF_INET: 0x11, socket.AF_INET6: 0x21}[family]
    addr = (socket.inet_pton(family, src) + socket.inet_pton(family, dst) + struct.pack("!HH", sport, dport))
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, fam]) + struct.pack("!H", len(addr)) + addr


def proxied_socket(port, header):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(header)
    return sock


async def info_of(ws):
    """probe "info": <ip> <port> <server_port> <status> <reactor> <worker> <tls> <peer_ip> <peer_port>"""
    await ws.send("info")
    return (await recv(ws)).split()


async def test_proxy_header_v1_and_v2_name_the_real_client():
    with Server(probe_config("proxy_protocol: true\n" + TRUST_LOCAL)) as s:
        sock = proxied_socket(s.port, f"PROXY TCP4 203.0.113.7 127.0.0.1 51234 {s.port}\r\n".encode())
        local_port = sock.getsockname()[1]
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/", sock=sock) as ws:
            info = await info_of(ws)
            assert info[1:3] == ["203.0.113.7", "51234"], info
            assert info[8:10] == ["127.0.0.1", str(local_port)], info
            await ws.send("whoami")
            conn = (await recv(ws)).split()[1]
            opens = s.wait_events(f"open {conn} ")
            assert opens and " remote=203.0.113.7 " in opens[0] and " peer=127.0.0.1 " in opens[0], opens

        sock = proxied_socket(s.port, v2_header(socket.AF_INET6, "2001:db8::7", "2001:db8::1", 40000, 443))
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/", sock=sock) as ws:
            info = await info_of(ws)
            assert info[1:3] == ["2001:db8::7", "40000"] and info[8] == "127.0.0.1", info


def closed_without_answer(port, header):
    """Sends header + an upgrade request; True when the server closes without a 101."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(header + b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        return b"101" not in data.split(b"\r\n", 1)[0]


async def test_malformed_missing_or_untrusted_proxy_header_closes_the_connection():
    with Server(probe_config("proxy_protocol: true\n" + TRUST_LOCAL)) as s:
        assert closed_without_answer(s.port, b"PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n")
        assert closed_without_answer(s.port, b"PROXY NONSENSE\r\n")
        assert closed_without_answer(s.port, b"")                     # no header at all
        # everyone else is served
        sock = proxied_socket(s.port, b"PROXY TCP4 198.51.100.1 127.0.0.1 1000 2000\r\n")
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/echo", sock=sock) as ws:
            await ws.send("fine")
            assert await recv(ws) == "fine"
    with Server(probe_config('proxy_protocol: true\ntrusted_proxies: ["10.0.0.1"]\n')) as s:
        assert closed_without_answer(s.port, b"PROXY TCP4 203.0.113.7 127.0.0.1 51234 80\r\n")
        assert not [e for e in s.events() if e.startswith("open ")], s.events()


async def test_x_forwarded_for_only_from_trusted_proxies():
    with Server(probe_config(TRUST_LOCAL)) as s:
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/",
                                      extra_headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.9"}) as ws:
            info = await info_of(ws)
            assert info[1:3] == ["198.51.100.9", "0"] and info[8] == "127.0.0.1", info
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/",
                                      extra_headers={"X-Real-IP": "198.51.100.10"}) as ws:
            assert (await info_of(ws))[1] == "198.51.100.10"
    with Server(probe_config('trusted_proxies: ["10.0.0.0/8"]\n')) as s:
        async with websockets.connect(f"ws://127.0.0.1:{s.port}/",
                                      extra_headers={"X-Forwarded-For": "198.51.100.9"}) as ws:
            info = await info_of(ws)
            assert info[1] == "127.0.0.1" and info[2] == info[9], info


def upgrade_answer(sock):
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0]


def test_per_ip_limit_counts_the_client_behind_a_proxy():
    """All connections come from the proxy's address; the limit applies to
    each client the PROXY header names, not to the proxy."""
    with Server(probe_config("proxy_protocol: true\nmax_connection_per_ip: 2\nworker_num: 1\n" + TRUST_LOCAL)) as s:
        held = []
        for i in range(4):   # two clients, two connections each: all fit
            sock = proxied_socket(s.port, f"PROXY TCP4 203.0.113.{i % 2 + 1} 127.0.0.1 5000{i} {s.port}\r\n".encode())
            assert upgrade_answer(sock).startswith(b"HTTP/1.1 101"), i
            held.append(sock)
        third = proxied_socket(s.port, f"PROXY TCP4 203.0.113.1 127.0.0.1 50009 {s.port}\r\n".encode())
        third.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            refused = third.recv(4096) == b""
        except ConnectionResetError:
            refused = True
        assert refused, "a third connection of one client was not refused"
        other = proxied_socket(s.port, f"PROXY TCP4 203.0.113.3 127.0.0.1 50010 {s.port}\r\n".encode())
        assert upgrade_answer(other).startswith(b"HTTP/1.1 101")
        for sock in held + [third, other]:
            sock.close()


def test_per_ip_limit_counts_the_x_forwarded_for_client():
    with Server(probe_config("max_connection_per_ip: 1\nworker_num: 1\n" + TRUST_LOCAL)) as s:
        def connect(client):
            sock = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            sock.sendall(f"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {client}\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n".encode())
            return sock, sock.recv(4096).split(b"\r\n", 1)[0]
        a, status_a = connect("198.51.100.1")
        b, status_b = connect("198.51.100.2")
        c, status_c = connect("198.51.100.1")
        assert status_a.startswith(b"HTTP/1.1 101") and status_b.startswith(b"HTTP/1.1 101"), (status_a, status_b)
        assert status_c.startswith(b"HTTP/1.1 503"), status_c
        for sock in (a, b, c):
            sock.close()


@process_only("BASE mode has no dispatch: the kernel spreads connections")
async def test_dispatch_by_ip_uses_the_client_behind_a_proxy():
    """dispatch_mode 4: one client's connections share a worker although
    every connection comes from the proxy."""
    with Server(probe_config("proxy_protocol: true\nworker_num: 4\ndispatch_mode: 4\n" + TRUST_LOCAL)) as s:
        workers = {}
        for client in range(1, 9):
            for port in (40001, 40002):
                sock = proxied_socket(s.port, f"PROXY TCP4 192.0.2.{client} 127.0.0.1 {port} {s.port}\r\n".encode())
                async with websockets.connect(f"ws://127.0.0.1:{s.port}/", sock=sock) as ws:
                    await ws.send("whoami")
                    workers.setdefault(client, set()).add((await recv(ws)).split()[3])
        assert all(len(w) == 1 for w in workers.values()), workers
        assert len(set().union(*workers.values())) > 1, f"8 clients all on one worker: {workers}"


def test_partial_proxy_header_then_fin_closes_at_once():
    """Part of a PROXY header and the client's FIN arrive together: the
    server reads on to the FIN and closes now, not at handshake_timeout."""
    with Server(probe_config("proxy_protocol: true\nhandshake_timeout: 30s\n" + TRUST_LOCAL)) as s:
        for partial in (b"PROXY TCP4 203.0.113.7 ", v2_header(socket.AF_INET, "203.0.113.7", "127.0.0.1", 1, 2)[:20]):
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
                sock.sendall(partial)
                sock.shutdown(socket.SHUT_WR)
                assert sock.recv(4096) == b""   # closed, not left waiting (the socket's 5 s bound)
