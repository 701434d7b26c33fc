"""The chat plugin's protocol (plugins/chat/README.md), spoken by
python3-websockets clients: join, messages to the room only, leave,
who-is-here, nicknames, bad input answered with an error.

PROCESS mode runs two workers, so a room's members are on both. BASE mode
runs one worker: there a publish reaches only the publishing worker's
connections, so a chat needs worker_num: 1 (the README says so); the tests
of what several workers share are PROCESS mode only.

No test waits for "nothing arrives": a connection's messages are handled in
order by one worker (dispatch_mode 2), whose publishes reach each member in
the order made, so a second message from the same sender to a shared room is
a barrier that a bystander sees first when nothing leaked."""
import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request

import websockets

from wsdtest import Server, base_mode, closed_by_server, plugin_config, process_only, recv


def chat_config(extra=""):
    workers = "worker_num: 1\n" if base_mode() else "worker_num: 2\n"
    return plugin_config(("chat", "chat.so", ["/"], True), extra=workers + extra)


async def get(ws):
    return json.loads(await recv(ws))


async def ask(ws, **msg):
    await ws.send(json.dumps(msg))
    return await get(ws)


async def join(ws, room, nick):
    """Joins and returns the members list the joiner gets after its joined."""
    assert await ask(ws, type="join", room=room, nick=nick) == {"type": "joined", "room": room, "nick": nick}
    members = await get(ws)
    assert members["type"] == "members" and members["room"] == room, members
    return members["nicks"]


async def say(ws, room, text):
    await ws.send(json.dumps({"type": "message", "room": room, "text": text}, ensure_ascii=False))


async def heard(ws):
    """The next message as (room, nick, text)."""
    m = await get(ws)
    assert m["type"] == "message" and isinstance(m["time"], int), m
    return m["room"], m["nick"], m["text"]


async def connect(s, n):
    return [await websockets.connect(s.url("/chat")) for _ in range(n)]


async def close_all(clients):
    for ws in clients:
        await asyncio.wait_for(ws.close(), 5)


async def test_chat_join_and_messages_reach_the_room_only():
    with Server(chat_config()) as s:
        ann, bob, cat = clients = await connect(s, 3)
        try:
            assert await join(ann, "red", "ann") == ["ann"]
            assert await join(bob, "red", "bob") == ["ann", "bob"]
            assert await get(ann) == {"type": "joined", "room": "red", "nick": "bob"}
            assert await join(cat, "blue", "cat") == ["cat"]
            assert await join(ann, "blue", "ann") == ["ann", "cat"]   # a second room
            assert await get(cat) == {"type": "joined", "room": "blue", "nick": "ann"}

            await say(ann, "red", "héllo red ✓")
            await say(ann, "blue", "hello blue")          # the barrier for cat
            assert await heard(ann) == ("red", "ann", "héllo red ✓")
            assert await heard(ann) == ("blue", "ann", "hello blue")
            assert await heard(bob) == ("red", "ann", "héllo red ✓")
            assert await heard(cat) == ("blue", "ann", "hello blue")

            # only members may speak
            assert (await ask(cat, type="message", room="red", text="let me in"))["code"] == "not_joined"
        finally:
            await close_all(clients)


async def test_chat_leave_stops_delivery_and_is_announced():
    with Server(chat_config()) as s:
        ann, bob = clients = await connect(s, 2)
        try:
            await join(ann, "red", "ann")
            await join(bob, "red", "bob")
            await get(ann)                                   # bob joined
            await join(ann, "blue", "ann")
            await join(bob, "blue", "bob")
            await get(ann)                                   # bob joined blue
            assert await ask(bob, type="leave", room="red") == {"type": "left", "room": "red", "nick": "bob"}
            assert await get(ann) == {"type": "left", "room": "red", "nick": "bob"}
            assert await ask(ann, type="who", room="red") == {"type": "members", "room": "red", "nicks": ["ann"]}
            await say(ann, "red", "bob is gone")
            await say(ann, "blue", "barrier")
            assert await heard(bob) == ("blue", "ann", "barrier")
            assert (await ask(bob, type="leave", room="red"))["code"] == "not_joined"
            assert (await ask(bob, type="message", room="red", text="hi"))["code"] == "not_joined"
            # and back again, under another nick
            assert await join(bob, "red", "robert") == ["ann", "robert"]
        finally:
            await close_all(clients)


async def test_chat_who_is_here_and_close_announces_left():
    with Server(chat_config()) as s:
        clients = await connect(s, 4)
        try:
            nicks = ["dan", "Ann", "cy", "bo"]
            for i, (ws, nick) in enumerate(zip(clients, nicks)):
                await join(ws, "room.1", nick)
                for earlier in clients[:i]:
                    assert (await get(earlier))["nick"] == nick
            for ws in clients:
                assert await ask(ws, type="who", room="room.1") == {
                    "type": "members", "room": "room.1", "nicks": ["Ann", "bo", "cy", "dan"]}
            assert (await ask(clients[0], type="who", room="other"))["code"] == "not_joined"
            # a closed connection leaves its rooms, and the others hear it
            await asyncio.wait_for(clients[1].close(), 5)
            for ws in (clients[0], clients[2], clients[3]):
                assert await get(ws) == {"type": "left", "room": "room.1", "nick": "Ann"}
            assert (await ask(clients[2], type="who", room="room.1"))["nicks"] == ["bo", "cy", "dan"]
            # the nick is free again
            late = await websockets.connect(s.url("/chat"))
            clients.append(late)
            assert await join(late, "room.1", "ANN") == ["ANN", "bo", "cy", "dan"]
        finally:
            await close_all(c for c in clients if c.open)


async def test_chat_nickname_and_room_rules():
    with Server(chat_config()) as s:
        ann, other = clients = await connect(s, 2)
        try:
            for nick in ["", "x" * 25, "has space", "ünï", "<b>", "a/b", 7, None]:
                reply = await ask(ann, type="join", room="r", nick=nick)
                assert reply["type"] == "error" and reply["request"] == "join" and reply["code"] == "bad_nick", \
                    (nick, reply)
            reply = await ask(ann, type="join", room="r")
            assert reply["code"] == "bad_nick", reply
            for room in ["", "y" * 33, "a b", "#r", ["r"]]:
                reply = await ask(ann, type="join", room=room, nick="ann")
                assert reply["code"] == "bad_room", (room, reply)
            assert await join(ann, "r", "x" * 24) == ["x" * 24]           # the longest nick
            assert await join(ann, "y" * 32, "A-n_n.1") == ["A-n_n.1"]    # the longest room
            # unique per room, whatever the ASCII case
            assert (await ask(other, type="join", room="r", nick="X" * 24))["code"] == "nick_taken"
            assert await join(other, "y" * 32, "x" * 24) == ["A-n_n.1", "x" * 24]
            assert (await get(ann))["type"] == "joined"
            # joining again: same nick answers as before; another nick is refused
            assert await join(ann, "r", "x" * 24) == ["x" * 24]
            assert (await ask(ann, type="join", room="r", nick="other"))["code"] == "already_joined"
            # at most 8 rooms per connection
            for i in range(6):
                await join(ann, f"extra{i}", "ann")
            reply = await ask(ann, type="join", room="one-too-many", nick="ann")
            assert reply["code"] == "too_many_rooms", reply
        finally:
            await close_all(clients)


async def test_chat_bad_input_is_answered_and_the_connection_stays():
    with Server(chat_config()) as s:
        async with websockets.connect(s.url("/chat")) as ws:
            await join(ws, "r", "ann")
            cases = [
                ("{bad", "bad_json"), ("", "bad_json"), ("[]", "bad_json"), ("null", "bad_json"),
                ("42", "bad_json"), ('"join"', "bad_json"), ("[" * 3000 + "]" * 3000, "too_big"),
                ("[" * 2000 + "]" * 2000, "bad_json"), ('{"type": "join", "room": "r", "nick": "\\ud800"}', "bad_json"),
                (b'{"type": "who", "room": "r"}', "bad_json"),         # binary frame
                ("{}", "bad_request"), ('{"type": "dance", "room": "r"}', "bad_request"),
                ('{"type": ["who"], "room": "r"}', "bad_request"),
                ('{"type": "who"}', "bad_room"),
                ('{"type": "message", "room": "r"}', "bad_text"),
                ('{"type": "message", "room": "r", "text": ""}', "bad_text"),
                ('{"type": "message", "room": "r", "text": 5}', "bad_text"),
                (json.dumps({"type": "message", "room": "r", "text": "z" * 2001}), "bad_text"),
                (json.dumps({"type": "message", "room": "r", "text": "z" * 4100}), "too_big"),
            ]
            for frame, code in cases:
                await ws.send(frame)
                reply = await get(ws)
                assert reply["type"] == "error" and reply["code"] == code and reply["message"], (frame[:40], reply)
            # still in the room, still talking; the longest text, and escapes, go through
            longest = "é" * 1000                                       # 2000 bytes
            await say(ws, "r", longest)
            assert await heard(ws) == ("r", "ann", longest)
            await ws.send('{"type": "message", "room": "r", "text": "a\\u0000b\\"<script>", "extra": [1, {}]}')
            assert await heard(ws) == ("r", "ann", 'a\x00b"<script>')


async def test_chat_page_and_paths():
    with Server(chat_config()) as s:
        base = f"http://127.0.0.1:{s.port}"
        with urllib.request.urlopen(base + "/", timeout=5) as r:
            page = r.read().decode()
            assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert page.startswith("<!doctype html>") and "'/chat'" in page and page.rstrip().endswith("</html>")
        with urllib.request.urlopen(base + "/index.html", timeout=5) as r:
            assert r.read().decode() == page
        for path, method, status in [("/nope", "GET", 404), ("/", "POST", 405)]:
            try:
                urllib.request.urlopen(urllib.request.Request(base + path, method=method, data=b""), timeout=5)
                raise AssertionError(f"{method} {path} answered 200")
            except urllib.error.HTTPError as e:
                assert e.code == status, (path, e.code)
        # a WebSocket anywhere but /chat is closed, with the reason
        async with websockets.connect(s.url("/")) as ws:
            closed = await closed_by_server(ws)
            assert closed.code == 4404 and "/chat" in closed.reason, closed


@process_only("several workers share the member table; BASE mode runs one")
async def test_chat_members_are_shared_by_the_workers():
    # dispatch_mode 1: one connection's messages go to both workers in turn,
    # so a join handled by one is seen by the other.
    with Server(chat_config("dispatch_mode: 1\n")) as s:
        ann, bob = clients = await connect(s, 2)
        try:
            await join(ann, "r", "ann")
            await join(bob, "r", "bob")
            await get(ann)
            for _ in range(4):
                assert (await ask(ann, type="who", room="r"))["nicks"] == ["ann", "bob"]
                assert (await ask(bob, type="who", room="r"))["nicks"] == ["ann", "bob"]
            for i in range(4):
                await say(bob, "r", f"m{i}")
                assert (await heard(bob))[1:] == ("bob", f"m{i}")
                assert (await heard(ann))[1:] == ("bob", f"m{i}")
        finally:
            await close_all(clients)


def worker_pids(s):
    with open(f"/proc/{s.proc.pid}/task/{s.proc.pid}/children") as f:
        return [int(p) for p in f.read().split()]


@process_only("BASE mode: a reload does not replace the workers, a crash closes its connections")
async def test_chat_rooms_survive_reload_and_worker_crash():
    with Server(chat_config()) as s:
        ann, bob = clients = await connect(s, 2)
        try:
            await join(ann, "r", "ann")
            await join(bob, "r", "bob")
            await get(ann)
            before = worker_pids(s)
            s.proc.send_signal(signal.SIGHUP)
            assert await s_log_has(s, "reload complete")
            assert not set(worker_pids(s)) & set(before), "the workers were not replaced"
            for ws in clients:
                assert (await ask(ws, type="who", room="r"))["nicks"] == ["ann", "bob"]
            await say(ann, "r", "after reload")
            assert await heard(ann) == ("r", "ann", "after reload")
            assert await heard(bob) == ("r", "ann", "after reload")

            killed = worker_pids(s)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            assert await s_log_has(s, "respawning worker", count=2)
            await say(bob, "r", "after crash")
            assert await heard(bob) == ("r", "bob", "after crash")
            assert await heard(ann) == ("r", "bob", "after crash")
            await asyncio.wait_for(bob.close(), 5)
            assert await get(ann) == {"type": "left", "room": "r", "nick": "bob"}
        finally:
            await close_all(c for c in clients if c.open)


async def s_log_has(s, needle, count=1, timeout=20.0):
    deadline = time.monotonic() + timeout
    while s.log().count(needle) < count:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True
