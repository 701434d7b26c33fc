#!/usr/bin/python3
"""Cross-node publish over Redis (issue 7): publish rate and fan-out latency
p50/p99 to 10,000 subscribers with 2 wsd nodes on loopback, and the same for
a single node (no cluster) in the same run as the yardstick.

Each case runs wsd-loadgen in broadcast mode twice:
  publish   subscribers join topic "bench" at the handshake
            (--path '/?topic=bench'); the publisher sends
            GET /?topic=bench&message=... (one at a time: the latency of one
            publish reaching every subscriber).
  relay     the broadcast plugin's `relay: true`: a WebSocket publisher's
            messages are broadcast, --depth 64 in flight (the rate).
Single node: subscribers and publisher on one wsd. Cluster: the subscribers
on node B, the publisher on node A (--publish-port), so every message goes
A -> Redis -> B. A private redis-server (no persistence) on a free port.

  ninja -C build wsd wsd-loadgen broadcast
  /usr/bin/python3 bench/cluster_bench.py [--subscribers 10000] [--duration 5]
"""
import argparse
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_wsd(args, workdir, label, redis_port=None, number=0):
    port = free_port()
    cfg = os.path.join(workdir, f"{label}.yaml")
    text = (f"host: {HOST}\nport: {port}\nworker_num: {args.workers}\nreactor_num: {args.reactors}\n"
            "log_level: warning\nshutdown_timeout: 1s\nmax_connection: 1000000\n"
            "plugins:\n  - name: broadcast\n"
            f"    file: {os.path.abspath(os.path.join(args.plugins, 'broadcast.so'))}\n"
            '    default: true\n    paths: ["/"]\n    config:\n      relay: true\n')
    if redis_port:
        text += (f"cluster:\n  redis: {HOST}:{redis_port}\n  node_id: bench-{number}\n  node_number: {number}\n"
                 "  heartbeat_interval: 200ms\n  heartbeat_ttl: 1s\n")
    with open(cfg, "w") as f:
        f.write(text)
    log = open(os.path.join(workdir, f"{label}.log"), "wb")
    proc = subprocess.Popen([os.path.abspath(args.wsd), "--config", cfg], stdout=log, stderr=log,
                            start_new_session=True)
    wait_port(port, proc)
    return proc, port


def loadgen(args, port, flags, pids, publish_port=None):
    argv = [args.loadgen, "--host", HOST, "--port", str(port), "--mode", "broadcast",
            "--connections", str(args.subscribers), "--threads", str(args.threads),
            "--warmup", str(args.warmup), "--duration", str(args.duration)] + flags
    for pid in pids:
        argv += ["--server-pid", str(pid)]
    if publish_port:
        argv += ["--publish-port", str(publish_port)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.warmup + args.duration + 180)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"wsd-loadgen exited {out.returncode}:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    result = {"error_lines": [l.strip() for l in out.stdout.splitlines()
                              if "error" in l.lower() and not l.startswith("RESULT")]}
    for item in lines[-1].split()[1:]:
        k, _, v = item.partition("=")
        result[k] = v
    return result, lines[-1]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wsd", default=os.path.join(root, "build/daemon/wsd"))
    ap.add_argument("--plugins", default=os.path.join(root, "build/plugins"))
    ap.add_argument("--loadgen", default=os.path.join(root, "build/bench/loadgen/wsd-loadgen"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reactors", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--depth", type=int, default=64)
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = 2 * args.subscribers + 4096
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(needed, hard), max(needed, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    workdir = tempfile.mkdtemp(prefix="wsd-cluster-bench-")
    runs = []
    procs = []
    try:
        cases = [("publish", ["--path", "/?topic=bench", "--publish-url", "/?topic=bench&message="]),
                 ("relay", ["--publish-ws", "--depth", str(args.depth)])]
        # Single node: the yardstick.
        single, sport = start_wsd(args, workdir, "single")
        procs.append(single)
        for name, flags in cases:
            r, line = loadgen(args, sport, flags, [single.pid])
            runs.append(("1 node", name, r, line))
        stop(single)
        # Two nodes over a private Redis.
        rport = free_port()
        redis = subprocess.Popen([args.redis, "--port", str(rport), "--bind", HOST, "--save", "", "--appendonly",
                                  "no", "--daemonize", "no"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(redis)
        wait_port(rport, redis)
        a, aport = start_wsd(args, workdir, "node-a", rport, 1)
        procs.append(a)
        b, bport = start_wsd(args, workdir, "node-b", rport, 2)
        procs.append(b)
        time.sleep(1.0)   # both heartbeats seen: each node knows the other is live
        for name, flags in cases:
            r, line = loadgen(args, bport, flags, [a.pid, b.pid, redis.pid], publish_port=aport)
            runs.append(("2 nodes (A -> Redis -> B)", name, r, line))
    finally:
        for p in reversed(procs):
            stop(p)

    print(f"\n{args.subscribers} subscribers, wsd {args.workers} workers / {args.reactors} reactors per node, "
          f"loadgen {args.threads} threads, {args.duration}s counted\n")
    print("| setup | case | publishes/s | deliveries/s | latency p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for setup, name, r, _ in runs:
        ms = lambda k: f"{float(r[k]) / 1000:.1f}" if k in r else "?"
        print(f"| {setup} | {name} | {r.get('published_per_sec', '?')} | {r.get('deliveries_per_sec', '?')} | "
              f"{ms('p50_us')} | {ms('p99_us')} | {r.get('errors', '?')} |")
    for setup, name, r, _ in runs:
        for line in r["error_lines"]:
            print(f"[{setup} / {name}] {line}")
    print("\nRESULT lines:")
    for setup, name, _, line in runs:
        print(f"[{setup} / {name}] {line}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
