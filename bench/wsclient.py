"""A minimal WebSocket client (RFC 6455, client side) on plain sockets.

For the benchmark scripts only: checking that a server answers before it is
measured, and driving a counted number of echoes under callgrind. No
dependencies beyond the standard library, so any python3 runs it.
"""
import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE = 0x1, 0x2, 0x8


def encode_frame(opcode, payload, fin=True):
    """A masked client frame (clients must mask, RFC 6455 §5.3)."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head.append(0x80 | 126)
        head += struct.pack("!H", n)
    else:
        head.append(0x80 | 127)
        head += struct.pack("!Q", n)
    key = os.urandom(4)
    head += key
    # XOR with the repeated key, done on one big integer (fast enough here).
    reps = key * (n // 4 + 1)
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(reps[:n], "little")).to_bytes(n, "little")
    return bytes(head) + masked


class FrameParser:
    """Incremental parser of server frames (unmasked). feed() returns the
    complete frames as (opcode, payload); fragments are not reassembled
    (the servers we measure do not fragment small messages)."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            frame = self._take()
            if frame is None:
                return out
            out.append(frame)

    def _take(self):
        b = self.buf
        if len(b) < 2:
            return None
        if b[1] & 0x80:
            raise ValueError("server sent a masked frame")
        n = b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack_from("!H", b, 2)[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack_from("!Q", b, 2)[0]
            pos = 10
        if len(b) < pos + n:
            return None
        frame = (b[0] & 0x0F, bytes(b[pos:pos + n]))
        del b[:pos + n]
        return frame


def upgrade_request(host, port, path="/"):
    """(request bytes, expected Sec-WebSocket-Accept)."""
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n").encode()
    return req, accept


def check_upgrade_response(head, accept):
    """Raises unless head (the response up to and including the blank line)
    is a 101 with the right accept key."""
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 101"):
        raise ValueError(f"upgrade refused: {lines[0]!r}")
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-accept" and value.strip() == accept:
            return
    raise ValueError("wrong or missing Sec-WebSocket-Accept")


class WebSocket:
    """A blocking connection, for short checks."""

    def __init__(self, host, port, path="/", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        req, accept = upgrade_request(host, port, path)
        self.sock.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        check_upgrade_response(head, accept)
        self.parser = FrameParser()
        self.pending = self.parser.feed(rest)

    def send(self, opcode, payload):
        self.sock.sendall(encode_frame(opcode, payload))

    def recv(self):
        while not self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed while waiting for a frame")
            self.pending = self.parser.feed(chunk)
        return self.pending.pop(0)

    def close(self):
        try:
            self.sock.sendall(encode_frame(CLOSE, struct.pack("!H", 1000)))
        except OSError:
            pass
        self.sock.close()


def http_get(host, port, target, timeout=5.0):
    """One GET on a fresh connection; returns the status code."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    status = buf.split(b"\r\n", 1)[0].split()
    return int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
