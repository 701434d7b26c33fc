#!/usr/bin/python3
"""Instructions per echoed message, counted by callgrind (stable on a busy
machine, unlike time).

    /usr/bin/python3 bench/callgrind_echo.py                  # BASE and PROCESS
    /usr/bin/python3 bench/callgrind_echo.py --modes base --messages 400 --depth 16

For each mode, wsd (echo plugin) runs twice under
`valgrind --tool=callgrind --trace-children=yes` (the workers are spawned
processes; each writes its own profile): once with C connections x N0
messages, once with C x N1. The difference between the two runs is the
cost of C x (N1 - N0) messages, without start-up, handshakes and shutdown.
Reported: instructions per message for the master (PROCESS mode: the
reactor) and the workers, and the functions that cost most per message, by
self and by inclusive cost (callgrind_annotate), also as differences between
the two runs.

The client is this script (exact counts; it checks every echo), so the
client's own cost is not in the figures. Under valgrind wsd runs ~50x slower
and is the slow side, so each loop iteration finds more connections ready
than at full speed and one IPC write carries more messages: the figures
flatter batching somewhat.
"""
import argparse
import glob
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402
import wsclient  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wsd", default=os.path.join(REPO, "build/daemon/wsd"))
    p.add_argument("--plugins", default=os.path.join(REPO, "build/plugins"))
    p.add_argument("--modes", default="base,process", help="base, process or both (default both)")
    p.add_argument("--workers", type=int, default=2, help="worker_num (default 2; reactor_num is 1)")
    p.add_argument("--connections", type=int, default=100)
    p.add_argument("--messages", type=int, default=300, help="N1: messages per connection, long run (default 300)")
    p.add_argument("--base-messages", type=int, default=50, help="N0: messages per connection, short run (default 50)")
    p.add_argument("--depth", type=int, default=1, help="messages in flight per connection (default 1)")
    p.add_argument("--size", type=int, default=32, help="payload bytes (default 32)")
    p.add_argument("--binary", action="store_true", help="binary messages (default text)")
    p.add_argument("--top", type=int, default=20, help="functions listed per process kind (default 20)")
    p.add_argument("--out-dir", help="keep the callgrind.out files here (default: a temporary folder, removed)")
    args = p.parse_args()
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in ("base", "process") for m in args.modes):
        p.error("--modes: base and/or process")
    if args.messages <= args.base_messages:
        p.error("--messages must be larger than --base-messages")
    if not shutil.which("valgrind"):
        p.error("valgrind not found (apt-get install valgrind)")
    return args


def drive_echo(port, connections, count, depth, size, opcode):
    """connections x count echoes, depth in flight per connection; each echo
    is checked. Blocking sockets: a read is only attempted when the selector
    says so; a send may block, but wsd never stops reading while it has
    output queued, so it completes."""
    payload = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    frame = wsclient.encode_frame(opcode, payload)
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(connections):
        ws = wsclient.WebSocket(servers.HOST, port, "/", timeout=120)
        state = {"ws": ws, "sent": 0, "received": 0}
        conns.append(state)
        sel.register(ws.sock, selectors.EVENT_READ, state)
    for c in conns:
        n = min(depth, count)
        c["ws"].sock.sendall(frame * n)
        c["sent"] = n
    remaining = connections * count
    while remaining:
        events = sel.select(timeout=120)
        if not events:
            raise RuntimeError(f"no echo for 120 s, {remaining} missing")
        for key, _ in events:
            c = key.data
            data = c["ws"].sock.recv(65536)
            if not data:
                raise RuntimeError("server closed a connection")
            frames = c["ws"].parser.feed(data)
            for got, body in frames:
                if got != opcode or body != payload:
                    raise RuntimeError(f"wrong echo: opcode {got}, {body[:40]!r}")
            c["received"] += len(frames)
            remaining -= len(frames)
            more = min(len(frames), count - c["sent"])
            if more > 0:
                c["ws"].sock.sendall(frame * more)
                c["sent"] += more
    for c in conns:
        c["ws"].close()
    sel.close()


def profile_files(folder):
    """{pid: (role, path)}; role is 'master' or 'worker N' (from the
    command line callgrind records)."""
    out = {}
    for path in glob.glob(os.path.join(folder, "callgrind.out.*")):
        pid = int(path.rsplit(".", 1)[1])
        role = "master"
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("cmd:"):
                    m = re.search(r"--worker (\d+)", line)
                    if m:
                        role = f"worker {m.group(1)}"
                    break
        out[pid] = (role, path)
    return out


def total_ir(path):
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"{path}: no summary line")


FUNC_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?)\s*$")


def function_costs(path, inclusive):
    """{function: Ir} from callgrind_annotate, every function; self cost, or
    inclusive (with its callees)."""
    text = subprocess.run(["callgrind_annotate", "--threshold=100", "--auto=no",
                           f"--inclusive={'yes' if inclusive else 'no'}", path],
                          capture_output=True, text=True, check=True).stdout
    costs = {}
    started = False
    for line in text.splitlines():
        if not started:
            # The function list follows the line of the column header.
            started = line.strip().startswith("Ir") and "file:function" in line
            continue
        m = FUNC_LINE.match(line)
        if not m:
            continue
        # "file:function [object]" -> "function"; the object only when the
        # function has no name (a library without symbols).
        where = re.match(r"^(.*?)(?:\s+\[([^\]]*)\])?$", m.group(2))
        name = where.group(1).split(":", 1)[-1]
        if name.startswith("0x") and where.group(2):
            name += " in " + os.path.basename(where.group(2))
        ir = int(m.group(1).replace(",", ""))
        # A function inlined from several files has one line per file: its
        # self cost is split among them, its inclusive cost repeated.
        costs[name] = max(costs.get(name, 0), ir) if inclusive else costs.get(name, 0) + ir
    return costs


def short(name):
    """The function's name without its parameter list (the table stays
    readable; overloads are rare on the hot path)."""
    name = name.replace("(anonymous namespace)", "{anon}")
    depth = 0
    for i, ch in enumerate(name):
        if ch in "<{":
            depth += 1
        elif ch in ">}":
            depth -= 1
        elif ch == "(" and depth == 0 and not name[:i].endswith("operator") and i > 0:
            return name[:i]
    return name


def run_once(args, mode, count, folder):
    shutil.rmtree(folder, ignore_errors=True)  # profiles of an earlier run would be summed
    os.makedirs(folder)
    wrapper = ["valgrind", "--tool=callgrind", "--trace-children=yes",
               f"--callgrind-out-file={folder}/callgrind.out.%p"]
    with servers.start_wsd(args.wsd, args.plugins, mode, args.workers, 1, "echo", folder,
                           f"wsd-{mode}-{count}", wrapper=wrapper) as server:
        drive_echo(server.port, args.connections, count, args.depth, args.size,
                   wsclient.BINARY if args.binary else wsclient.TEXT)
    per_role = {}
    funcs = {}  # (self or inclusive, process kind, function): Ir
    for pid, (role, path) in profile_files(folder).items():
        kind = "master" if role == "master" else "workers"
        per_role[kind] = per_role.get(kind, 0) + total_ir(path)
        for cost in ("self", "inclusive"):
            for name, ir in function_costs(path, cost == "inclusive").items():
                key = (cost, kind, name)
                funcs[key] = funcs.get(key, 0) + ir
    return per_role, funcs


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    top = tempfile.mkdtemp(prefix="wsd-callgrind-")
    keep = args.out_dir
    try:
        for mode in args.modes:
            runs = {}
            for count in (args.base_messages, args.messages):
                folder = os.path.join(keep or top, f"{mode}-{count}")
                print(f"{mode}: {args.connections} x {count} messages under callgrind ...", file=sys.stderr, flush=True)
                runs[count] = run_once(args, mode, count, folder)
            (ir0, f0), (ir1, f1) = runs[args.base_messages], runs[args.messages]
            msgs = args.connections * (args.messages - args.base_messages)
            print(f"\n### wsd {mode.upper()} mode, worker_num {args.workers}, "
                  f"{args.connections} connections, {args.size} B {'binary' if args.binary else 'text'}, "
                  f"depth {args.depth}\n")
            print(f"Instructions per message (difference of {args.connections} x {args.messages} "
                  f"and {args.connections} x {args.base_messages} messages = {msgs:,} messages):\n")
            print("| process | Ir per message |")
            print("|---|---|")
            total = 0.0
            for kind in sorted(set(ir0) | set(ir1)):
                per = (ir1.get(kind, 0) - ir0.get(kind, 0)) / msgs
                total += per
                label = {("process", "master"): "master (the reactor thread)",
                         ("process", "workers"): "workers (plugins)",
                         ("base", "master"): "master (holds no connection in BASE mode)",
                         ("base", "workers"): "workers (reactor and plugins)"}[(mode, kind)]
                # BASE's master only waits: a few instructions either way.
                print(f"| {label} | {'~0' if abs(per) < 10 else f'{per:,.0f}'} |")
            print(f"| **all processes** | **{total:,.0f}** |\n")
            diff = {k: (f1.get(k, 0) - f0.get(k, 0)) / msgs for k in set(f0) | set(f1)}
            for cost in ("self", "inclusive"):
                what = "self cost (the function's own instructions)" if cost == "self" else \
                    "inclusive cost (with everything it calls)"
                print(f"Top functions by {what}, per message:\n")
                print("| process | function | Ir per message |")
                print("|---|---|---|")
                for kind in ("master", "workers"):
                    # Leave out the roots (main, the thread's start, the
                    # loop's caller): they hold the whole process's cost.
                    root = 0.99 * (ir1.get(kind, 0) - ir0.get(kind, 0)) / msgs
                    ranked = sorted(((v, k[2]) for k, v in diff.items()
                                     if k[:2] == (cost, kind) and (cost == "self" or v < root)), reverse=True)
                    for per, name in ranked[:args.top]:
                        if per < 1:
                            break
                        print(f"| {kind} | `{short(name)}` | {per:,.0f} |")
                print()
        if keep:
            print(f"profiles kept in {keep} (callgrind_annotate <file>, kcachegrind)", file=sys.stderr)
    finally:
        servers.stop_all()
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers were stopped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
