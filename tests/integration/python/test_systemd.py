"""systemd's notify protocol, received on a NOTIFY_SOCKET this test opens."""
import os
import signal
import socket
import tempfile
import time

from wsdtest import Server, probe_config


def read_notifications(sock, until, timeout=5.0):
    """Collects datagrams until one contains `until` (bounded)."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if until in got[-1]:
            break
    return got


def test_ready_reloading_stopping_and_status():
    path = os.path.join(tempfile.mkdtemp(prefix="wsd-notify-"), "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    try:
        with Server(probe_config("worker_num: 2\n"), env={"NOTIFY_SOCKET": path}) as s:
            ready = read_notifications(sock, "READY=1")
            assert any("READY=1" in m for m in ready), ready
            status = [m for m in ready if "STATUS=" in m]
            assert status and "2/2 worker(s)" in status[-1], ready
            s.proc.send_signal(signal.SIGHUP)
            reload = read_notifications(sock, "READY=1")
            assert any("RELOADING=1" in m for m in reload), reload
            assert any("READY=1" in m for m in reload), reload
            s.proc.send_signal(signal.SIGTERM)
            stopping = read_notifications(sock, "STOPPING=1")
            assert any("STOPPING=1" in m for m in stopping), stopping
            assert s.proc.wait(10) == 0
    finally:
        sock.close()
        os.unlink(path)
