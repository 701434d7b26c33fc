#!/usr/bin/python3
"""Memory with clients that never read (issue 5: buffer_output_size).

Starts wsd (PROCESS mode, the broadcast example plugin), opens N WebSocket
connections whose owner never reads after the handshake (small receive
buffers, so the kernel stops taking bytes early), then broadcasts M-byte
messages as fast as the plugin accepts them for a while. The server's RSS,
summed over the master and its workers, is sampled each second; a normal
client that does read is checked to keep receiving meanwhile.

  /usr/bin/python3 bench/slow_readers.py --wsd build/daemon/wsd --plugins build/plugins \\
      --clients 10000 --buffer-output-size 64K --seconds 20

Prints the RSS samples and a last line:
  RESULT clients=… buffer_output_size=… rss_base_mb=… rss_max_mb=… bound_mb=… per_client_kb=… reader_messages=…
where bound_mb is the RSS with the clients idle plus clients x
buffer_output_size (the bytes the output bound lets wait), and
per_client_kb what each non-reading client cost at most. The allocator adds
its slack to the bytes that wait (a growing buffer doubles its capacity).
"""
import argparse
import base64
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

KEY = base64.b64encode(b"0123456789abcdef").decode()


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)", text)
    return int(m.group(1)) * {"": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}[m.group(2)]


def tree_rss_kb(pid):
    """RSS of pid and its children (the workers), in KiB."""
    total = 0
    pids = {pid}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                pids.add(int(entry))
        except (OSError, IndexError):
            pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def handshake(port, rcvbuf):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        data += chunk
    if not data.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(data[:80])
    return sock


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wsd", default="build/daemon/wsd")
    ap.add_argument("--plugins", default="build/plugins")
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--buffer-output-size", default="64K")
    ap.add_argument("--message-size", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if args.clients + 100 > hard:
        sys.exit(f"{args.clients} clients need more open files than the hard limit ({hard})")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    folder = tempfile.mkdtemp(prefix="wsd-slow-")
    config = os.path.join(folder, "server.yaml")
    with open(config, "w") as f:
        f.write(f"host: 127.0.0.1\nport: 0\nlog_level: warning\nworker_num: 2\nreactor_num: 1\n"
                f"buffer_output_size: {args.buffer_output_size}\nmax_connection: {args.clients + 100}\n"
                f'plugin_dir: ["{os.path.abspath(args.plugins)}"]\n'
                "plugins:\n  - name: broadcast\n    file: broadcast.so\n    default: true\n    paths: [\"/\"]\n")
    log = open(os.path.join(folder, "wsd.log"), "w+")
    server = subprocess.Popen([args.wsd, "--config", config, "--set", "log_level=info"], stderr=log)
    try:
        port = None
        for _ in range(500):
            log.seek(0)
            text = log.read()
            if "wsd ready" in text:
                port = int(re.search(r"listening on [^ ]*:(\d+)", text).group(1))
                break
            time.sleep(0.02)
        if port is None:
            sys.exit("wsd did not start:\n" + text)
        base_kb = tree_rss_kb(server.pid)
        slow = []
        for i in range(args.clients):
            slow.append(handshake(port, 4096))
        reader = handshake(port, 0)
        reader.setblocking(False)
        idle_kb = tree_rss_kb(server.pid)
        print(f"{args.clients} non-reading clients open: RSS {base_kb / 1024:.1f} MB -> {idle_kb / 1024:.1f} MB")

        publisher = socket.create_connection(("127.0.0.1", port), timeout=30)
        message = "x" * args.message_size
        request = f"GET /?message={message} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        received = 0
        max_kb = idle_kb
        broadcasts = 0
        start = last = time.monotonic()
        while time.monotonic() - start < args.seconds:
            publisher.sendall(request)
            head = b""
            while b"\r\n\r\n" not in head or not head.endswith(b"\n"):
                chunk = publisher.recv(4096)
                if not chunk:
                    sys.exit(f"the publisher's connection closed: {head[:100]!r}")
                head += chunk
            if not head.startswith(b"HTTP/1.1 200"):
                sys.exit(f"broadcast refused: {head[:100]!r}")
            broadcasts += 1
            while True:
                try:
                    chunk = reader.recv(1 << 20)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                received += len(chunk)
            if time.monotonic() - last >= 1:
                last = time.monotonic()
                kb = tree_rss_kb(server.pid)
                max_kb = max(max_kb, kb)
                print(f"t={last - start:5.1f}s broadcasts={broadcasts} RSS={kb / 1024:.1f} MB "
                      f"reader got {received / 1e6:.1f} MB")
        kb = tree_rss_kb(server.pid)
        max_kb = max(max_kb, kb)
        bound_mb = (idle_kb * 1024 + args.clients * parse_size(args.buffer_output_size)) / 1e6 * (1e6 / 1048576)
        reader_messages = received // (args.message_size + 4)
        print(f"RESULT clients={args.clients} buffer_output_size={args.buffer_output_size} "
              f"broadcasts={broadcasts} rss_base_mb={base_kb / 1024:.1f} rss_idle_mb={idle_kb / 1024:.1f} "
              f"rss_max_mb={max_kb / 1024:.1f} bound_mb={bound_mb:.1f} "
              f"per_client_kb={(max_kb - idle_kb) / args.clients:.1f} reader_messages={reader_messages}")
        for s in slow:
            s.close()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
