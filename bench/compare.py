#!/usr/bin/python3
"""Issue 6's comparison, in one go: wsd PROCESS (worker_num 2, reactor_num 1),
wsd BASE (worker_num 1 unless --base-workers) and the Node.js `ws` package, measured with wsd-loadgen one server at
a time, in interleaved rounds (A B C A B C), with medians and min-max, checked
against the issue's targets. Prints Markdown tables ready for
docs/performance.md.

    /usr/bin/python3 bench/compare.py --rounds 3 --duration 5 --out results.json
    /usr/bin/python3 bench/compare.py --only a,b --servers process,node
    /usr/bin/python3 bench/compare.py --thread-check     # is the generator the bottleneck?

Configurations: (a) 100 connections, 32 B text, depth 1; (b) the same at
depth 16; (c) 10 connections, 64 KiB binary, depth 1; (d) 10,000 idle
connections, server RSS per connection; (e) a 32 B broadcast to 10,000
subscribers, published by a WebSocket client with 64 broadcasts in flight
(wsd: the plugins/broadcast example with relay: true; Node: a relay server).

Needs root or a high enough hard RLIMIT_NOFILE for (d) and (e), npm for the
Node server (installed into a temporary folder), and the built targets
wsd, wsd-loadgen, echo and broadcast.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SERVER_LABELS = {"process": "wsd PROCESS", "base": "wsd BASE", "node": "Node ws"}


def configs(args):
    """Each configuration: title, loadgen mode, loadgen flags, server kind."""
    n_idle, n_subs = args.idle_connections, args.subscribers
    return {
        "a": ("(a) 100 conns, 32 B text, depth 1", "echo",
              ["--connections", "100", "--depth", "1", "--size", "32"], "echo"),
        "b": ("(b) 100 conns, 32 B text, depth 16", "echo",
              ["--connections", "100", "--depth", "16", "--size", "32"], "echo"),
        "c": ("(c) 10 conns, 64 KiB binary, depth 1", "echo",
              ["--connections", "10", "--depth", "1", "--size", "65536", "--binary"], "echo"),
        "d": (f"(d) {n_idle:,} idle conns", "idle",
              ["--connections", str(n_idle)], "echo"),
        "e": (f"(e) 32 B broadcast to {n_subs:,} subscribers", "broadcast",
              ["--connections", str(n_subs), "--size", "32", "--publish-ws",
               "--depth", str(args.broadcast_depth)], "broadcast"),
    }


# What each mode's RESULT line is reduced to: (our name, RESULT key).
METRICS = {
    "echo": [("rate", "msgs_per_sec"), ("cpu_us", "server_cpu_us_per_msg"), ("p50_us", "p50_us"),
             ("p99_us", "p99_us"), ("p999_us", "p999_us"), ("errors", "errors"), ("steal_pct", "steal_pct")],
    "broadcast": [("rate", "deliveries_per_sec"), ("cpu_us", "server_cpu_us_per_delivery"),
                  ("p50_us", "p50_us"), ("p99_us", "p99_us"), ("p999_us", "p999_us"),
                  ("errors", "errors"), ("steal_pct", "steal_pct")],
    "idle": [("bytes_per_conn", "bytes_per_conn"), ("opened", "opened"),
             ("rss_after_kb", "rss_after_kb"), ("errors", "errors")],
}

# (label, config, server, kind, required). kind: 'ratio' = wsd msgs/s / node
# msgs/s >= required; 'p99_vs_node_p50' = wsd p99 <= node p50; 'max' =
# metric <= required; 'min' = metric >= required.
TARGETS = [
    ("BASE (a) msgs/s vs Node", "a", "base", "ratio", 1.8),
    ("BASE (b) msgs/s vs Node", "b", "base", "ratio", 15.0),
    ("BASE (c) msgs/s vs Node", "c", "base", "ratio", 7.0),
    ("PROCESS (a) msgs/s vs Node", "a", "process", "ratio", 1.5),
    ("PROCESS (b) msgs/s vs Node", "b", "process", "ratio", 5.0),
    ("PROCESS (c) msgs/s vs Node", "c", "process", "ratio", 6.0),
    ("BASE (a) p99 vs Node p50", "a", "base", "p99_vs_node_p50", None),
    ("PROCESS (a) p99 vs Node p50", "a", "process", "p99_vs_node_p50", None),
    ("BASE (d) bytes per idle conn", "d", "base", "max", 300),
    ("PROCESS (d) bytes per idle conn", "d", "process", "max", 300),
    ("BASE (e) deliveries/s", "e", "base", "min", 2_000_000),
    ("PROCESS (e) deliveries/s", "e", "process", "min", 2_000_000),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--duration", type=float, default=5, help="counted seconds per run; idle: hold time (default 5)")
    p.add_argument("--warmup", type=float, default=1, help="warm-up seconds per run (default 1)")
    p.add_argument("--only", default="a,b,c,d,e", help="configurations, e.g. a,b (default all)")
    p.add_argument("--servers", default="process,base,node", help="servers, in round order (default process,base,node)")
    p.add_argument("--base-workers", type=int, default=1,
                   help="BASE mode's worker_num (default 1: one process, as Node; with the generator on the "
                        "same 2 cores a second BASE worker only competes with it, see docs/performance.md)")
    p.add_argument("--wsd", default=os.path.join(REPO, "build/daemon/wsd"), help="the wsd binary")
    p.add_argument("--plugins", default=os.path.join(REPO, "build/plugins"), help="folder with echo.so and broadcast.so")
    p.add_argument("--loadgen", default=os.path.join(REPO, "build/bench/loadgen/wsd-loadgen"), help="the wsd-loadgen binary")
    p.add_argument("--threads", type=int, default=1, help="loadgen --threads (default 1)")
    p.add_argument("--node", default=shutil.which("node") or "node", help="the node binary")
    p.add_argument("--ws-version", default="8", help="npm version spec of ws (default 8)")
    p.add_argument("--idle-connections", type=int, default=10000, help="(d) connections (default 10000)")
    p.add_argument("--subscribers", type=int, default=10000, help="(e) subscribers (default 10000)")
    p.add_argument("--broadcast-depth", type=int, default=64,
                   help="(e) broadcasts with deliveries outstanding (loadgen --depth, default 64): the "
                        "publisher is a WebSocket client whose messages the server relays to everyone")
    p.add_argument("--thread-check", action="store_true",
                   help="instead: (b) on wsd PROCESS with loadgen --threads 1 and 2, alternated")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="leave every process to the scheduler (default: the generator on the last CPU, wsd on "
                        "the others, Node unrestricted; docs/performance.md \"Cores\")")
    p.add_argument("--out", help="write every run and the summary as JSON here")
    p.add_argument("--keep-temp", action="store_true", help="keep the temporary folder (configs, server logs)")
    args = p.parse_args()
    args.only = [c.strip() for c in args.only.split(",") if c.strip()]
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    for c in args.only:
        if c not in "abcde" or len(c) != 1:
            p.error(f"--only: unknown configuration {c!r}")
    for s in args.servers:
        if s not in SERVER_LABELS:
            p.error(f"--servers: unknown server {s!r} (process, base, node)")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    for path in (args.wsd, args.loadgen):
        if not os.access(path, os.X_OK):
            p.error(f"{path} not found: build it (ninja -C build wsd wsd-loadgen echo broadcast)")
    # The generator on a core of its own, wsd on the rest: otherwise the
    # scheduler now and then runs both on one core while the other idles.
    # Node stays free: on one core its helper threads (V8's garbage
    # collector) would compete with it (docs/performance.md "Cores").
    cpus = sorted(os.sched_getaffinity(0))
    args.loadgen_cpus = args.wsd_cpus = None
    if args.pin and len(cpus) >= 2:
        args.loadgen_cpus, args.wsd_cpus = cpus[-1:], cpus[:-1]
    return args


def raise_fd_limit(needed):
    """Server and generator each hold one descriptor per connection; both
    inherit this limit. Raising the hard limit needs CAP_SYS_RESOURCE
    (root outside a container)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return
        except (ValueError, PermissionError):
            print(f"warning: RLIMIT_NOFILE hard limit {hard} < {needed}; (d)/(e) may fail", file=sys.stderr)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_loadgen(args, mode, flags, server, threads=None):
    """One loadgen run against server; returns the RESULT line as a dict
    (values converted to numbers where they are), with 'exit' and 'output'."""
    argv = [args.loadgen, "--host", servers.HOST, "--port", str(server.port), "--mode", mode,
            "--warmup", str(args.warmup), "--duration", str(args.duration),
            "--threads", str(threads or args.threads), "--server-pid", str(server.pid)] + flags
    limit = args.warmup + args.duration + 120  # connecting 10k, closing, margins
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=servers.pinned_to(args.loadgen_cpus))
    try:
        out, _ = proc.communicate(timeout=limit)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = out.decode(errors="replace")
    lines = [l for l in text.splitlines() if l.startswith("RESULT ")]
    if proc.returncode not in (0, 3) or not lines:
        raise RuntimeError(f"wsd-loadgen exited {proc.returncode}:\n{text[-2000:]}")
    result = {}
    for item in lines[-1].split()[1:]:
        key, _, value = item.partition("=")
        try:
            result[key] = float(value)
        except ValueError:
            result[key] = value
    result["exit"] = proc.returncode
    result["output"] = text
    return result


def start_server(args, name, kind, workdir, label, node_js):
    if name == "node":
        return servers.start_node(args.node, node_js, kind, workdir, label)
    mode = "process" if name == "process" else "base"
    # A BASE worker reaches only its own connections, so the broadcast example
    # needs a single worker there to reach every subscriber.
    if name == "base":
        workers = 1 if kind == "broadcast" else args.base_workers
    else:
        workers = 2
    return servers.start_wsd(args.wsd, args.plugins, mode, workers, 1, kind, workdir, label, cpus=args.wsd_cpus)


def one_run(args, name, cfg_key, cfg, workdir, node_js, round_no, threads=None):
    title, mode, flags, kind = cfg
    label = f"{name}-{cfg_key}-r{round_no}" + (f"-t{threads}" if threads else "")
    run = {"server": name, "config": cfg_key, "round": round_no, "threads": threads or args.threads}
    try:
        with start_server(args, name, kind, workdir, label, node_js) as server:
            res = run_loadgen(args, mode, flags, server, threads)
        run["result"] = {k: v for k, v in res.items() if k != "output"}
        run["output"] = res["output"]
        for ours, key in METRICS[mode]:
            value = res.get(key)
            run[ours] = value if isinstance(value, float) else None
    except Exception as e:  # one failed run must not end the comparison
        run["failed"] = str(e)
    if "failed" in run:
        status = "FAILED: " + run["failed"].replace("\n", "\n      ")
    elif mode == "idle":
        status = f"{fmt(run.get('bytes_per_conn'))} B/conn"
    else:
        status = f"{fmt(run.get('rate'))}/s  cpu {fmt(run.get('cpu_us'), 2)} us/msg  p99 {fmt(run.get('p99_us'))} us"
        if run.get("steal_pct"):
            status += f"  host steal {run['steal_pct']:.1f}%"
    if run.get("errors"):
        status += f"  errors {run['errors']:.0f}"
    gen = f" (loadgen --threads {threads})" if threads else ""
    print(f"  round {round_no} {SERVER_LABELS[name]:<11} {title + gen:<44} {status}", file=sys.stderr, flush=True)
    return run


def summarize(runs, metric):
    values = [r[metric] for r in runs if r.get(metric) is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fmt(v, digits=0):
    if v is None:
        return "n/a"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def fmt_range(s, digits=0, scale=1.0):
    if not s:
        return "n/a"
    if s["n"] == 1:
        return fmt(s["median"] * scale, digits)
    return f"{fmt(s['median'] * scale, digits)} ({fmt(s['min'] * scale, digits)}–{fmt(s['max'] * scale, digits)})"


def evaluate_targets(summary, args):
    rows = []
    for label, cfg, name, kind, required in TARGETS:
        if cfg not in args.only or name not in args.servers:
            continue
        mine = summary.get(cfg, {}).get(name, {})
        node = summary.get(cfg, {}).get("node", {})
        measured, need, ok = None, "", None
        if kind == "ratio":
            if mine.get("rate") and node.get("rate"):
                measured = mine["rate"]["median"] / node["rate"]["median"]
                ok = measured >= required
            shown = f"{measured:.2f}×" if measured is not None else "n/a"
            need = f"≥ {required}×"
        elif kind == "p99_vs_node_p50":
            need = "≤ Node's p50"
            if mine.get("p99_us") and node.get("p50_us"):
                measured = mine["p99_us"]["median"]
                ok = measured <= node["p50_us"]["median"]
                need = f"≤ {node['p50_us']['median']:,.0f} µs (Node p50)"
            shown = f"{measured:,.0f} µs" if measured is not None else "n/a"
        elif kind == "max":
            s = mine.get("bytes_per_conn")
            if s:
                measured = s["median"]
                ok = measured <= required
            shown = f"{measured:,.0f} B" if measured is not None else "n/a"
            need = f"≤ {required} B"
        else:
            s = mine.get("rate")
            if s:
                measured = s["median"]
                ok = measured >= required
            shown = f"{measured:,.0f}/s" if measured is not None else "n/a"
            need = f"≥ {required:,}/s"
        rows.append({"target": label, "measured": measured, "shown": shown, "required": need,
                     "result": "n/a" if ok is None else ("PASS" if ok else "FAIL")})
    return rows


def by_round(runs, cfg, name, metric):
    """One server's values of a metric in round order (None for a failed run)."""
    mine = sorted((r for r in runs if r["server"] == name and r["config"] == cfg), key=lambda r: r["round"])
    return [r.get(metric) for r in mine]


def cpu_placement(args):
    if not args.loadgen_cpus:
        return "no process pinned"
    return (f"wsd-loadgen pinned to CPU {','.join(map(str, args.loadgen_cpus))}, "
            f"wsd to CPU {','.join(map(str, args.wsd_cpus))}, Node not pinned")


def markdown(args, cfgs, summary, targets, env, failed, runs):
    out = []
    out.append(f"Run {env['date']} on {env['machine']}; load average {env['load_before']} before, "
               f"{env['load_after']} after; {args.rounds} interleaved rounds of {args.warmup:g} s warm-up + "
               f"{args.duration:g} s; wsd {env['wsd_commit']}, Node {env['node']} with ws {env['ws']}; "
               f"wsd PROCESS worker_num 2 reactor_num 1, BASE worker_num {args.base_workers}; "
               f"wsd-loadgen --threads {args.threads}; {cpu_placement(args)}. Cells: median (min–max).")
    out.append("")
    if failed:
        out.append(f"**{failed} run(s) failed** and are left out (the reasons are in the --out JSON).")
        out.append("")
    echo_cfgs = [c for c in args.only if cfgs[c][1] in ("echo", "broadcast")]
    if echo_cfgs:
        out.append("| configuration | server | msgs/s | server CPU µs/msg | p50 µs | p99 µs | p99.9 µs | "
                   "msgs/s vs Node | CPU/msg: Node ÷ this | errors |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for c in echo_cfgs:
            node = summary[c].get("node", {})
            for name in args.servers:
                s = summary[c].get(name, {})
                ratio = cpu_ratio = "—"
                if name != "node" and s.get("rate") and node.get("rate"):
                    ratio = f"{s['rate']['median'] / node['rate']['median']:.2f}×"
                if name != "node" and s.get("cpu_us") and node.get("cpu_us"):
                    cpu_ratio = f"{node['cpu_us']['median'] / s['cpu_us']['median']:.1f}×"
                errors = s.get("errors")
                out.append(f"| {cfgs[c][0]} | {SERVER_LABELS[name]} | {fmt_range(s.get('rate'))} | "
                           f"{fmt_range(s.get('cpu_us'), 2)} | {fmt_range(s.get('p50_us'))} | "
                           f"{fmt_range(s.get('p99_us'))} | {fmt_range(s.get('p999_us'))} | {ratio} | "
                           f"{cpu_ratio} | {fmt(errors['max']) if errors else 'n/a'} |")
        out.append("")
        if "e" in echo_cfgs:
            out.append("In (e), msgs/s is deliveries/s and CPU is per delivery; latency is the fan-out "
                       "latency (publish to receipt).")
            out.append("")
    if "d" in args.only:
        out.append("| configuration | server | server RSS bytes per connection | opened | RSS after (KiB) | errors |")
        out.append("|---|---|---|---|---|---|")
        for name in args.servers:
            s = summary["d"].get(name, {})
            errors = s.get("errors")
            out.append(f"| {cfgs['d'][0]} | {SERVER_LABELS[name]} | {fmt_range(s.get('bytes_per_conn'))} | "
                       f"{fmt_range(s.get('opened'))} | {fmt_range(s.get('rss_after_kb'))} | "
                       f"{fmt(errors['max']) if errors else 'n/a'} |")
        out.append("")
    if targets:
        out.append("| target | measured (medians) | required | result |")
        out.append("|---|---|---|---|")
        for t in targets:
            out.append(f"| {t['target']} | {t['shown']} | {t['required']} | {t['result']} |")
        out.append("")
    # The latency targets compare two medians over rounds; by round, each
    # round's p99 against the same round's Node p50.
    if "a" in args.only and "node" in args.servers:
        node_p50 = by_round(runs, "a", "node", "p50_us")
        for name in [n for n in args.servers if n != "node"]:
            p99 = by_round(runs, "a", name, "p99_us")
            pairs = [f"{fmt(a)} / {fmt(b)}" for a, b in zip(p99, node_p50)]
            held = sum(1 for a, b in zip(p99, node_p50) if a is not None and b is not None and a <= b)
            out.append(f"{SERVER_LABELS[name]} (a) p99 / Node p50 by round, µs: {', '.join(pairs)} "
                       f"(held in {held} of {len(pairs)}).")
        out.append("")
    steal = [r["steal_pct"] for r in runs if r.get("steal_pct") is not None]
    if steal:
        hit = sum(1 for v in steal if v >= 0.5)
        out.append(f"Host steal (the hypervisor's share of all cores' time, /proc/stat) over the "
                   f"{len(steal)} load runs: median {statistics.median(steal):.1f}%, at most {max(steal):.1f}%; "
                   f"{hit} run(s) with 0.5% or more.")
        out.append("")
    return "\n".join(out)


def environment(args, ws_version):
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    wsd_dir = os.path.dirname(os.path.abspath(args.wsd))
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, shared by client and server",
        "load_before": load_average(),
        "wsd_commit": cmd(["git", "-C", wsd_dir, "rev-parse", "--short", "HEAD"]) or "?",
        "node": cmd([args.node, "--version"]) if "node" in args.servers else "-",
        "ws": ws_version,
    }


def thread_check(args, cfgs, workdir, env):
    """(b) on wsd PROCESS, loadgen --threads 1 and 2 alternated."""
    runs = []
    for r in range(1, args.rounds + 1):
        for threads in (1, 2):
            runs.append(one_run(args, "process", "b", cfgs["b"], workdir, None, r, threads))
    env["load_after"] = load_average()
    lines = [f"Generator check, {env['date']}, load average {env['load_before']} before, {env['load_after']} after: "
             f"(b) on wsd PROCESS, {args.rounds} alternated rounds of {args.duration:g} s. Cells: median (min–max).",
             "", "| loadgen --threads | msgs/s | server CPU µs/msg | p50 µs | p99 µs |", "|---|---|---|---|---|"]
    summary = {}
    for threads in (1, 2):
        mine = [x for x in runs if x["threads"] == threads]
        summary[threads] = {m: summarize(mine, m) for m in ("rate", "cpu_us", "p50_us", "p99_us")}
        s = summary[threads]
        lines.append(f"| {threads} | {fmt_range(s['rate'])} | {fmt_range(s['cpu_us'], 2)} | "
                     f"{fmt_range(s['p50_us'])} | {fmt_range(s['p99_us'])} |")
    return runs, summary, "\n".join(lines) + "\n"


def main():
    args = parse_args()
    cfgs = configs(args)
    raise_fd_limit(max(args.idle_connections, args.subscribers) + 4096)
    workdir = tempfile.mkdtemp(prefix="wsd-compare-")
    # Ctrl-C raises KeyboardInterrupt; make SIGTERM unwind the same way so
    # the finally below stops every server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        ws_version = "-"
        node_js = None
        if "node" in args.servers and not args.thread_check:
            print(f"installing ws@{args.ws_version} into {workdir}/node ...", file=sys.stderr, flush=True)
            node_js, ws_version = servers.install_node_ws(workdir, args.ws_version)
        env = environment(args, ws_version)

        if args.thread_check:
            runs, summary, text = thread_check(args, cfgs, workdir, env)
            print(text)
            result = {"env": env, "args": vars(args), "runs": runs, "summary": summary, "markdown": text}
        else:
            runs = []
            for r in range(1, args.rounds + 1):
                for c in args.only:
                    for name in args.servers:  # A B C, then again: interleaved
                        runs.append(one_run(args, name, c, cfgs[c], workdir, node_js, r))
            env["load_after"] = load_average()
            summary = {}
            for c in args.only:
                summary[c] = {}
                for name in args.servers:
                    mine = [x for x in runs if x["server"] == name and x["config"] == c]
                    metrics = [m for m, _ in METRICS[cfgs[c][1]]]
                    summary[c][name] = {m: summarize(mine, m) for m in metrics}
            targets = evaluate_targets(summary, args)
            text = markdown(args, cfgs, summary, targets, env, sum("failed" in r for r in runs), runs)
            print(text)
            result = {"env": env, "args": vars(args), "runs": runs, "summary": summary,
                      "targets": targets, "markdown": text}
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
        failed = [r for r in runs if "failed" in r]
        return 1 if failed else 0
    finally:
        servers.stop_all()
        if args.keep_temp:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers were stopped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
