#!/usr/bin/python3
"""Who was late together: groups the slow round trips of an echo run.

wsd-loadgen --slow-log FILE writes one line per counted round trip slower than
--slow-us: "end_ns trip_ns connection". Trips that end within --gap-us of
each other form one episode. An episode tells where the time went:

- every connection late at once: something all of them pass through stalled
  (the generator's loop, the reactor, the machine);
- the same share (at least a tenth) of the connections late together, again
  and again (--recurring times): one server process that owns that share
  stalled (in PROCESS mode with dispatch_mode 2, a worker: each connection's
  messages go to one worker);
- a few connections: the ordinary spread of the tail.

  wsd-loadgen --port 9501 --connections 100 --depth 1 --duration 3 \\
      --slow-log /tmp/slow.txt --slow-us 900
  /usr/bin/python3 bench/slow_clusters.py /tmp/slow.txt --connections 100

The last line is machine-readable:
  RESULT slow=… episodes=… all=… share=… scattered=… in_all=… in_share=… in_scattered=…
(episodes of each kind, and how many slow trips each kind holds).
"""
import argparse
import collections
import sys


def read_trips(path):
    trips = []
    with open(path) as f:
        for line in f:
            end, trip, conn = line.split()
            trips.append((int(end), int(trip), int(conn)))
    trips.sort()
    return trips


def episodes(trips, gap_ns):
    group = []
    for t in trips:
        if group and t[0] - group[-1][0] > gap_ns:
            yield group
            group = []
        group.append(t)
    if group:
        yield group


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", help="the file wsd-loadgen --slow-log wrote")
    ap.add_argument("--connections", type=int, default=0,
                    help="connections of the run (default: the highest index seen + 1)")
    ap.add_argument("--gap-us", type=float, default=200, help="trips further apart start a new episode")
    ap.add_argument("--recurring", type=int, default=3,
                    help="a set of connections late together this often is a share")
    ap.add_argument("--show", type=int, default=15, help="episodes to list")
    args = ap.parse_args()

    trips = read_trips(args.log)
    if not trips:
        print("no slow round trips")
        print("RESULT slow=0 episodes=0 all=0 share=0 scattered=0 in_all=0 in_share=0 in_scattered=0")
        return 0
    total = args.connections or max(t[2] for t in trips) + 1
    eps = list(episodes(trips, int(args.gap_us * 1000)))
    sets = collections.Counter(frozenset(t[2] for t in e) for e in eps)
    kinds = collections.Counter()
    held = collections.Counter()
    t0 = trips[0][0]
    print(f"{len(trips)} slow round trips over {(trips[-1][0] - t0) / 1e9:.2f} s, {len(eps)} episodes, "
          f"{total} connections")
    print(f"{'start ms':>9} {'span us':>8} {'trips':>6} {'conns':>6} {'max trip us':>12}  kind")
    for i, e in enumerate(eps):
        conns = frozenset(t[2] for t in e)
        if len(conns) >= 0.9 * total:
            kind = "all"
        elif len(conns) >= 0.1 * total and sets[conns] >= args.recurring:
            kind = "share"
        else:
            kind = "scattered"
        kinds[kind] += 1
        held[kind] += len(e)
        if i < args.show:
            print(f"{(e[0][0] - t0) / 1e6:9.1f} {(e[-1][0] - e[0][0]) / 1e3:8.0f} {len(e):6d} {len(conns):6d} "
                  f"{max(t[1] for t in e) / 1e3:12.0f}  {kind}")
    shares = [(n, len(s)) for s, n in sets.most_common() if 0.1 * total <= len(s) < 0.9 * total and n >= args.recurring]
    if shares:
        print("recurring sets (times late together, connections): " +
              ", ".join(f"{n}x {size}" for n, size in shares[:6]))
    print(f"RESULT slow={len(trips)} episodes={len(eps)} all={kinds['all']} share={kinds['share']} "
          f"scattered={kinds['scattered']} in_all={held['all']} in_share={held['share']} "
          f"in_scattered={held['scattered']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
