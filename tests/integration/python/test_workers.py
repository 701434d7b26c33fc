"""Several workers (worker_num: 3): connections spread over workers and
pushes between them, routed through the master."""
import asyncio
import itertools

import websockets

from wsdtest import pending, process_only, Server, probe_config, recv

WORKERS = "worker_num: 3\n"


async def identify(ws):
    await ws.send("whoami")
    reply = await recv(ws)
    parts = reply.split()
    assert len(parts) == 4 and parts[0] == "id" and parts[2] == "worker", reply
    return int(parts[1]), int(parts[3])


async def open_clients(s, n):
    clients = []
    for _ in range(n):
        clients.append(await websockets.connect(s.url("/"), compression=None))
    return clients


async def close_all(clients):
    for ws in clients:
        try:
            await asyncio.wait_for(ws.close(), 5)
        except asyncio.TimeoutError:
            ws.transport.abort()


def cross_worker_pair(ids):
    for a, b in itertools.permutations(range(len(ids)), 2):
        if ids[a][1] != ids[b][1]:
            return a, b
    raise AssertionError(f"all connections on one worker: {ids}")


async def test_connections_spread_over_workers():
    with Server(probe_config(WORKERS)) as s:
        clients = await open_clients(s, 6)
        try:
            ids = [await identify(ws) for ws in clients]
            # PROCESS mode spreads by id; BASE mode's kernel (SO_REUSEPORT)
            # hashes, and 6 on one of 3 workers happens (1 in 243): add more.
            while len({w for _, w in ids}) < 2 and len(clients) < 30:
                clients += await open_clients(s, 4)
                ids += [await identify(ws) for ws in clients[len(ids):]]
            assert len({c for c, _ in ids}) == len(ids), f"connection ids not unique: {ids}"
            workers = {w for _, w in ids}
            assert len(workers) >= 2, f"{len(ids)} connections on a single worker: {ids}"
            assert workers <= {0, 1, 2}, ids
            # with dispatch_mode 2 a connection stays on its worker
            for ws, (conn, worker) in zip(clients, ids):
                assert await identify(ws) == (conn, worker)
            # get_client_info agrees with whoami
            for ws, (conn, worker) in zip(clients, ids):
                await ws.send("info")
                info = (await recv(ws)).split()
                assert info[0] == "info" and info[1] == "127.0.0.1", info
                assert info[4] == "3", f"websocket_status should be 3 (active): {info}"
                assert int(info[6]) == worker, (info, worker)
        finally:
            await close_all(clients)


@process_only("BASE mode does not route between workers: see test_base_mode_push_to_other_worker_not_supported")
async def test_push_to_connection_on_another_worker():
    with Server(probe_config(WORKERS)) as s:
        clients = await open_clients(s, 6)
        try:
            ids = [await identify(ws) for ws in clients]
            a, b = cross_worker_pair(ids)
            await clients[a].send(f"push {ids[b][0]} hello from {ids[a][0]}")
            assert await recv(clients[a]) == "push 0"
            assert await recv(clients[b]) == f"hello from {ids[a][0]}"
            # binary push across workers, larger than one pipe buffer
            await clients[a].send(f"pushbin {ids[b][0]} 200000")
            assert await recv(clients[a]) == "push 0"
            got = await recv(clients[b])
            assert got == b"x" * 200000, (type(got), len(got))
            # exist / is_established across workers
            await clients[a].send(f"exist {ids[b][0]}")
            assert await recv(clients[a]) == "exist 1 established 1"
        finally:
            await close_all(clients)


@process_only("BASE mode does not route between workers: see test_base_mode_push_to_other_worker_not_supported")
async def test_cross_worker_pushes_keep_order():
    with Server(probe_config(WORKERS)) as s:
        clients = await open_clients(s, 6)
        try:
            ids = [await identify(ws) for ws in clients]
            a, b = cross_worker_pair(ids)
            for i in range(100):
                await clients[a].send(f"push {ids[b][0]} m{i}")
            for i in range(100):
                assert await recv(clients[a]) == "push 0"
            for i in range(100):
                assert await recv(clients[b]) == f"m{i}"
        finally:
            await close_all(clients)


async def test_push_to_closed_connection():
    with Server(probe_config(WORKERS)) as s:
        clients = await open_clients(s, 6)
        try:
            ids = [await identify(ws) for ws in clients]
            a, b = cross_worker_pair(ids)
            gone = ids[b][0]
            await asyncio.wait_for(clients[b].close(), 5)
            assert await s.await_events(f"close {gone} code=1000 by_server=0"), s.events()
            await clients[a].send(f"push {gone} anyone?")
            assert await recv(clients[a]) == "push -1"
            await clients[a].send(f"exist {gone}")
            assert await recv(clients[a]) == "exist 0 established 0"
            # an id that never existed
            await clients[a].send("push 987654321 nobody")
            assert await recv(clients[a]) == "push -1"
            await clients[a].send("count")
            assert await recv(clients[a]) == "count 5"
        finally:
            await close_all(clients[:b] + clients[b + 1:])


async def test_events_of_a_connection_stay_on_its_worker():
    with Server(probe_config(WORKERS)) as s:
        clients = await open_clients(s, 6)
        ids = [await identify(ws) for ws in clients]
        await close_all(clients)
        for conn, worker in ids:
            opens = await s.await_events(f"open {conn} ")
            closes = await s.await_events(f"close {conn} ")
            assert len(opens) == 1 and len(closes) == 1, s.events()
            assert opens[0].endswith(f" worker={worker}"), (opens, worker)
            assert closes[0].endswith(f" worker={worker}"), (closes, worker)


@process_only("BASE mode ignores max_request: replacing a worker would close its connections")
async def test_max_request_replaces_worker_without_clients_noticing():
    with Server(probe_config("worker_num: 1\nmax_request: 5\n")) as s:
        async with websockets.connect(s.url("/")) as ws:
            conn, _ = await identify(ws)
            sent = 0
            for replacement in (1, 2):
                # 6 messages reach the worker now serving; it is then replaced
                # while the client keeps sending: every message is answered.
                for _ in range(6):
                    await ws.send(f"msg {sent}")
                    assert await recv(ws) == f"msg {sent}"
                    sent += 1
                starts = await s.await_events("worker_start", 1 + replacement)
                assert len(starts) == 1 + replacement, f"not replaced after max_request: {s.events()}"
                for _ in range(3):
                    await ws.send(f"msg {sent}")
                    assert await recv(ws) == f"msg {sent}"
                    sent += 1
            # the connection survived the replacements and is still known
            assert (await identify(ws))[0] == conn
            await ws.send(f"exist {conn}")
            assert await recv(ws) == "exist 1 established 1"
            await ws.send("wstats 0")
            reply = await recv(ws)
            assert int(reply.split(" restarts=")[1]) >= 2, reply
        assert "max_request 5" in s.log(), s.log()


@process_only("BASE mode has no dispatch: the kernel spreads connections")
async def test_dispatch_mode_1_round_robin_spreads_messages():
    with Server(probe_config(WORKERS + "dispatch_mode: 1\n")) as s:
        async with websockets.connect(s.url("/")) as ws:
            seen = set()
            for _ in range(6):
                conn, worker = await identify(ws)
                seen.add(worker)
            assert len(seen) >= 2, f"round robin kept every message on worker {seen}"
        # open and close still go to the connection's home worker: one each
        assert len(await s.await_events(f"open {conn} ")) == 1
        assert len(await s.await_events(f"close {conn} ")) == 1, s.events()


@process_only("BASE mode has no dispatch: the kernel spreads connections")
async def test_dispatch_mode_4_by_client_ip():
    with Server(probe_config(WORKERS + "dispatch_mode: 4\n")) as s:
        clients = await open_clients(s, 6)
        try:
            ids = [await identify(ws) for ws in clients]
            assert len({w for _, w in ids}) == 1, f"one client IP on several workers: {ids}"
        finally:
            await close_all(clients)


async def test_base_mode_push_to_other_worker_not_supported():
    # configuration.md, mode: base: "a push to another worker's connection
    # fails with 'not supported', as in Swoole" (WSD_ERR_NOT_SUPPORTED = -6).
    with Server(probe_config("mode: base\nworker_num: 2\n")) as s:
        clients = await open_clients(s, 12)
        try:
            ids = [await identify(ws) for ws in clients]
            # SO_REUSEPORT hashes each connection to a worker: 12 all on one
            # worker happens (1 in 2,048); more connections make it vanishing.
            while len({w for _, w in ids}) < 2 and len(clients) < 64:
                clients += await open_clients(s, 4)
                ids += [await identify(ws) for ws in clients[len(ids):]]
            a, b = cross_worker_pair(ids)
            same = next(i for i in range(len(ids)) if i != a and ids[i][1] == ids[a][1])
            await clients[a].send(f"push {ids[same][0]} same worker")
            assert await recv(clients[a]) == "push 0"
            assert await recv(clients[same]) == "same worker"
            await clients[a].send(f"push {ids[b][0]} other worker")
            reply = await recv(clients[a])
            assert reply == "push -6", f"push to a connection of another worker in BASE mode: {reply!r}"
        finally:
            await close_all(clients)
