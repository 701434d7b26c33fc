"""Operations: SIGUSR1 log reopening, the pid file, daemonize, user,
--test-config, --version and `cmake --install` (docs/operations.md)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import websockets

import wsdtest
from wsdtest import Server, pending, probe_config, recv

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.normpath(os.path.join(HERE, "..", "..", ".."))


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def write_config(folder, body):
    text = "host: 127.0.0.1\nport: 0\nlog_level: debug\n" + body
    # The probe's events go to the test's folder, never into the repository.
    text = text.replace("EVENTS_FILE", os.path.join(folder, "events.log"))
    if wsdtest.base_mode() and "\nmode:" not in "\n" + text:
        text += "mode: base\n"
    path = os.path.join(folder, "server.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_sigusr1_reopens_log_file():
    folder = tempfile.mkdtemp(prefix="wsd-ops-")
    log = os.path.join(folder, "wsd.log")
    config = write_config(folder, probe_config(f"worker_num: 2\nlog_file: {log}\n"))
    proc = subprocess.Popen([wsdtest.WSD, "--config", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: "wsd ready" in read(log)), read(log)
        os.rename(log, log + ".1")
        proc.send_signal(signal.SIGUSR1)
        # The master and both workers reopen: each says so in the new file.
        assert wait_for(lambda: read(log).count("log file") >= 3), read(log)
        new = read(log)
        assert "[master]" in new and "[worker 0]" in new and "[worker 1]" in new, new
        rotated_size = os.path.getsize(log + ".1")
        # New lines (a connection, the stop) go to the new file only.
        port = int(re.findall(r"listening on [^ ]*:(\d+)", read(log + ".1"))[0])

        async def talk():
            async with websockets.connect(f"ws://127.0.0.1:{port}/echo", compression=None) as ws:
                await ws.send("after rotation")
                assert await recv(ws) == "after rotation"
        import asyncio
        asyncio.run(talk())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert "stopping" in read(log), read(log)
        assert os.path.getsize(log + ".1") == rotated_size
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def test_pid_file_written_and_removed():
    folder = tempfile.mkdtemp(prefix="wsd-ops-")
    pid_file = os.path.join(folder, "wsd.pid")
    try:
        with Server(probe_config(f"pid_file: {pid_file}\n")) as s:
            assert read(pid_file) == f"{s.proc.pid}\n"
            assert s.stop() == 0
        assert not os.path.exists(pid_file)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_daemonize_detaches():
    folder = tempfile.mkdtemp(prefix="wsd-ops-")
    pid_file = os.path.join(folder, "wsd.pid")
    log = os.path.join(folder, "wsd.log")
    config = write_config(folder, probe_config(
        f"daemonize: true\npid_file: {pid_file}\nlog_file: {log}\n"))
    pid = None
    try:
        # The parent returns at once; the daemon goes on in its own session.
        r = subprocess.run([wsdtest.WSD, "--config", config], capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr
        assert wait_for(lambda: "wsd ready" in read(log)), read(log)
        pid = int(read(pid_file))
        assert os.getsid(pid) == pid
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not os.path.exists(pid_file)), read(log)
        pid = None
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


def test_unknown_user_is_a_startup_error():
    folder = tempfile.mkdtemp(prefix="wsd-ops-")
    try:
        config = write_config(folder, probe_config("user: no-such-wsd-user\n"))
        r = subprocess.run([wsdtest.WSD, "--config", config], capture_output=True, timeout=10)
        assert r.returncode == 1, r
        assert b"no-such-wsd-user" in r.stderr, r.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_test_config_and_version():
    folder = tempfile.mkdtemp(prefix="wsd-ops-")
    try:
        good = write_config(folder, probe_config())
        r = subprocess.run([wsdtest.WSD, "--test-config", "--config", good], capture_output=True, timeout=10)
        assert r.returncode == 0, r
        assert b"is valid" in r.stdout, r
        bad = os.path.join(folder, "bad.yaml")
        with open(bad, "w") as f:
            f.write("port: 70000\nno_such_option: 1\n")
        r = subprocess.run([wsdtest.WSD, "--test-config", "--config", bad], capture_output=True, timeout=10)
        assert r.returncode == 1, r
        assert b"refused" in r.stderr, r
        # Like nginx -t, the certificate is loaded, not only found.
        for name in ("junk.pem", "junk.key"):
            with open(os.path.join(folder, name), "w") as f:
                f.write("not a PEM file\n")
        tls = write_config(folder, probe_config("ssl_cert_file: junk.pem\nssl_key_file: junk.key\n"))
        r = subprocess.run([wsdtest.WSD, "--test-config", "--config", tls], capture_output=True, timeout=10)
        assert r.returncode == 1, r
        assert b"junk.pem" in r.stderr and b"refused" in r.stderr, r.stderr
        r = subprocess.run([wsdtest.WSD, "--version"], capture_output=True, timeout=10)
        assert r.returncode == 0, r
        assert re.match(rb"wsd \d+\.\d+\.\d+ \(plugin ABI \d+\)\n$", r.stdout), r.stdout
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_install_and_build_a_plugin_with_pkg_config():
    build = os.path.dirname(os.path.dirname(wsdtest.WSD))   # <build>/daemon/wsd
    assert os.path.exists(os.path.join(build, "CMakeCache.txt")), build
    prefix = tempfile.mkdtemp(prefix="wsd-install-")
    try:
        r = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                           capture_output=True, timeout=120)
        assert r.returncode == 0, r
        for rel in ["bin/wsd", "include/wsd/plugin.h", "include/wsd/plugin.hpp",
                    "lib/wsd/plugins/echo.so", "lib/wsd/plugins/broadcast.so",
                    "lib/wsd/plugins/handshake.so", "lib/systemd/system/wsd.service",
                    "etc/wsd/server.yaml"]:
            assert os.path.exists(os.path.join(prefix, rel)), rel
        assert not os.path.exists(os.path.join(prefix, "lib/wsd/plugins/probe.so"))
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(prefix) for f in fs if f == "wsd-plugin.pc"]
        assert len(pcs) == 1, pcs
        unit = read(os.path.join(prefix, "lib/systemd/system/wsd.service"))
        assert f"ExecStart={prefix}/bin/wsd --config {prefix}/etc/wsd/server.yaml" in unit, unit
        wsd = os.path.join(prefix, "bin", "wsd")
        # The example config finds echo.so in <prefix>/lib/wsd/plugins.
        r = subprocess.run([wsd, "--test-config", "--config", os.path.join(prefix, "etc/wsd/server.yaml")],
                           capture_output=True, timeout=10)
        assert r.returncode == 0, r
        # A plugin built against the installed headers, found by pkg-config.
        env = {**os.environ, "PKG_CONFIG_PATH": os.path.dirname(pcs[0])}
        cflags = subprocess.run(["pkg-config", "--cflags", "wsd-plugin"], env=env,
                                capture_output=True, text=True, timeout=10)
        assert cflags.returncode == 0, cflags
        flag = cflags.stdout.strip()
        assert flag.startswith("-I") and os.path.samefile(flag[2:], os.path.join(prefix, "include")), flag
        out = os.path.join(prefix, "my_echo.so")
        r = subprocess.run(f"cc -shared -fPIC $(pkg-config --cflags wsd-plugin) "
                           f"{os.path.join(SOURCE_DIR, 'plugins/echo/echo.c')} -o {out}",
                           shell=True, env=env, capture_output=True, timeout=60)
        assert r.returncode == 0, r
        saved = wsdtest.WSD
        wsdtest.WSD = wsd
        try:
            body = (f'plugin_dir: ["{prefix}"]\nplugins:\n  - name: mine\n    file: my_echo.so\n'
                    '    default: true\n    paths: ["/"]\n')
            with Server(body) as s:
                async def talk():
                    async with websockets.connect(s.url("/"), compression=None) as ws:
                        await ws.send("built with pkg-config")
                        assert await recv(ws) == "built with pkg-config"
                import asyncio
                asyncio.run(talk())
        finally:
            wsdtest.WSD = saved
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


if shutil.which("cmake") is None or shutil.which("pkg-config") is None or shutil.which("cc") is None:
    test_install_and_build_a_plugin_with_pkg_config = pending("cmake, pkg-config or cc not on PATH")(
        test_install_and_build_a_plugin_with_pkg_config)
