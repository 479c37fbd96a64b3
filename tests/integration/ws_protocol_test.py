#!/usr/bin/python3
"""Conformance suite for the WebSocket/JSON protocol of neuroplexd (DESIGN.md "WebSocket framing",
api/web/json_protocol.cc, api/web/channel.cc), spoken by a real client over loopback.

Every test starts real neuroplexd processes (through a symlink named ws-test-node, so that a
`pkill neuroplexd` aimed at someone else's cluster does not hit them) on free ports with temporary
data directories, waits for /readyz, and kills every process it started on any exit: tearDown,
atexit, SIGTERM/SIGINT, and PR_SET_PDEATHSIG for when this interpreter is killed outright.

Run:  /usr/bin/python3 tests/integration/ws_protocol_test.py --neuroplexd build/.../neuroplexd \
          [unittest names, e.g. OpsTest ErrorsTest.test_too_large]
Needs Debian's python3-websockets (the asyncio client); plain unittest.
"""

import argparse
import asyncio
import atexit
import base64
import ctypes
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import websockets
import websockets.exceptions

NEUROPLEXD = None  # set by main()
PROGRAM_NAME = "ws-test-node"
START_TIMEOUT_S = 30.0
REPLY_TIMEOUT_S = 10.0
ERROR_CODES = {"INVALID_ARGUMENT", "NOT_FOUND", "TYPE_MISMATCH", "TOO_LARGE", "NOT_LEADER",
               "UNAVAILABLE", "UNAUTHENTICATED", "PERMISSION_DENIED", "RATE_LIMITED", "INTERNAL"}

# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

_ALL_PROCESSES = []  # every Popen this script started, killed on any exit


def _kill_everything():
    for process in _ALL_PROCESSES:
        if process.poll() is None:
            try:
                process.kill()
                process.wait(timeout=10)
            except Exception:  # pylint: disable=broad-except
                pass


atexit.register(_kill_everything)


def _exit_on_signal(signum, _frame):
    _kill_everything()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _exit_on_signal)
signal.signal(signal.SIGINT, _exit_on_signal)

_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Runs in the child between fork and exec.
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_ports(count):
    """`count` distinct free loopback ports (all bound at once, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def rss_bytes(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Cluster:
    """Real neuroplexd nodes 1..n on loopback; the web front on a port the kernel picks."""

    def __init__(self, nodes=3):
        self.root = tempfile.mkdtemp(prefix="ws-protocol-test-")
        self.program = os.path.join(self.root, PROGRAM_NAME)
        os.symlink(os.path.abspath(NEUROPLEXD), self.program)
        self.ports = dict(zip(range(1, nodes + 1), free_ports(nodes)))
        self.peers = ",".join(f"{i}=127.0.0.1:{p}" for i, p in self.ports.items())
        self.processes = {}
        self.ws_address = {}
        self.unclean = []  # how nodes stopped with SIGTERM exited when that was not status 0

    def ids(self):
        return sorted(self.ports)

    def running_ids(self):
        return [i for i, p in sorted(self.processes.items()) if p.poll() is None]

    def log_path(self, node):
        return os.path.join(self.root, f"node{node}.log")

    def log(self, node):
        try:
            with open(self.log_path(node), encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self, node):
        assert node not in self.processes or self.processes[node].poll() is not None
        data_dir = os.path.join(self.root, f"data{node}")
        args = [self.program, "--id", str(node), "--listen", f"127.0.0.1:{self.ports[node]}",
                "--data-dir", data_dir, "--ws-listen", "127.0.0.1:0", "--peers", self.peers]
        log_before = len(self.log(node))
        with open(self.log_path(node), "ab") as log:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       preexec_fn=_die_with_parent, close_fds=True)
        _ALL_PROCESSES.append(process)
        self.processes[node] = process
        deadline = time.monotonic() + START_TIMEOUT_S
        pattern = re.compile(r"WebSocket and HTTP on (\S+)")
        while time.monotonic() < deadline:
            match = pattern.search(self.log(node)[log_before:])
            if match:
                self.ws_address[node] = match.group(1)
                return
            if process.poll() is not None:
                raise AssertionError(f"node {node} exited while starting:\n{self.log(node)[-3000:]}")
            time.sleep(0.02)
        raise AssertionError(f"node {node} did not listen within {START_TIMEOUT_S} s")

    def restart(self, node):
        """SIGTERM (must exit 0), then start again on the same data directory."""
        process = self.processes[node]
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
        if code != 0:
            self.unclean.append((node, code))
        self.start(node)

    def start_all(self):
        for node in self.ids():
            self.start(node)

    def pid(self, node):
        return self.processes[node].pid

    def kill(self, node):
        process = self.processes.get(node)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def stop_all(self):
        """SIGTERM every running node; a node that does not exit with status 0 is noted."""
        running = [(n, p) for n, p in self.processes.items() if p.poll() is None]
        for _, process in running:
            process.send_signal(signal.SIGTERM)
        for node, process in running:
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
                code = "no exit within 20 s of SIGTERM"
            if code != 0:
                self.unclean.append((node, code))

    def destroy(self, keep_logs=False):
        self.stop_all()
        if keep_logs:
            for node in self.processes:
                sys.stderr.write(f"---- node {node} log (tail) ----\n{self.log(node)[-4000:]}\n")
        shutil.rmtree(self.root, ignore_errors=True)

    def uri(self, node):
        return f"ws://{self.ws_address[node]}/ws"

    # HTTP ----------------------------------------------------------------------------------

    def http_get(self, node, path, timeout=5.0):
        host, port = self.ws_address[node].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", errors="replace")
        finally:
            conn.close()

    def wait_ready(self, nodes=None, timeout=20.0):
        nodes = self.running_ids() if nodes is None else nodes
        deadline = time.monotonic() + timeout
        for node in nodes:
            last = None
            while True:
                try:
                    last = self.http_get(node, "/readyz", timeout=2.0)
                    if last[0] == 200:
                        break
                except OSError as e:
                    last = e
                if time.monotonic() > deadline:
                    raise AssertionError(f"node {node} not ready within {timeout} s: {last}")
                time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------------

async def connect(uri, **kwargs):
    options = dict(compression=None, max_size=None, ping_interval=None, open_timeout=10,
                   close_timeout=2)
    options.update(kwargs)
    return await websockets.connect(uri, **options)


class Client:
    """One connection: requests matched to replies by id (any order), events queued per watch,
    replies whose id is null or unknown kept in `orphans`."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 1
        self.pending = {}
        self.watches = {}
        self.orphans = asyncio.Queue()
        self.closed = asyncio.get_running_loop().create_future()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(cls, uri, **kwargs):
        return cls(await connect(uri, **kwargs))

    def watch_queue(self, watch):
        return self.watches.setdefault(watch, asyncio.Queue())

    async def _read(self):
        try:
            async for message in self.ws:
                frame = json.loads(message)
                if "watch" in frame and "id" not in frame:
                    await self.watch_queue(frame["watch"]).put(frame)
                    continue
                key = json.dumps(frame.get("id"))
                future = self.pending.pop(key, None)
                if future is not None and not future.done():
                    future.set_result(frame)
                else:
                    await self.orphans.put(frame)
        except websockets.exceptions.ConnectionClosed as e:
            if not self.closed.done():
                self.closed.set_result(e)
        finally:
            if not self.closed.done():
                self.closed.set_result(None)
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("connection closed"))

    async def send_raw(self, data, reply_id=None, timeout=REPLY_TIMEOUT_S):
        """Sends one frame as is; awaits the reply with `reply_id` (a JSON value), or the next
        orphan reply when reply_id is None."""
        future = None
        if reply_id is not None:
            future = asyncio.get_running_loop().create_future()
            self.pending[json.dumps(reply_id)] = future
        await self.ws.send(data)
        if future is None:
            return await asyncio.wait_for(self.orphans.get(), timeout)
        return await asyncio.wait_for(future, timeout)

    def submit(self, op, **args):
        """Sends a request; returns (id, future of the reply frame)."""
        request_id = self.next_id
        self.next_id += 1
        request = {"id": request_id, "op": op}
        request.update(args)
        future = asyncio.get_running_loop().create_future()
        self.pending[json.dumps(request_id)] = future
        asyncio.get_running_loop().create_task(self.ws.send(json.dumps(request)))
        return request_id, future

    async def call(self, op, timeout=REPLY_TIMEOUT_S, **args):
        request_id, future = self.submit(op, **args)
        reply = await asyncio.wait_for(future, timeout)
        assert reply["id"] == request_id, reply
        return reply

    async def ok(self, op, timeout=REPLY_TIMEOUT_S, **args):
        reply = await self.call(op, timeout=timeout, **args)
        if not reply.get("ok"):
            raise AssertionError(f"{op} {args} failed: {reply}")
        assert set(reply) == {"id", "ok", "result"}, reply
        return reply["result"]

    async def next_watch_frame(self, watch, timeout=REPLY_TIMEOUT_S):
        return await asyncio.wait_for(self.watch_queue(watch).get(), timeout)

    async def close(self):
        await self.ws.close()
        try:
            await asyncio.wait_for(self.reader, 5)
        except (asyncio.TimeoutError, Exception):  # pylint: disable=broad-except
            self.reader.cancel()


def run(coroutine, timeout=90):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def metric_values(text, name):
    """{labels text: value} of every sample of `name` in a Prometheus page."""
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)$", line)
        if match:
            values[match.group(1) or ""] = float(match.group(2))
    return values


def requests_total(text):
    """{(api, op, result): count} of neuroplex_requests_total."""
    counts = {}
    for labels, value in metric_values(text, "neuroplex_requests_total").items():
        fields = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        counts[(fields.get("api"), fields.get("op"), fields.get("result"))] = value
    return counts


# ---------------------------------------------------------------------------------------------
# Test bases
# ---------------------------------------------------------------------------------------------

class ClusterTest(unittest.TestCase):
    """Starts a cluster of `NODES` fresh nodes before each test and waits until all are ready;
    stops it (SIGTERM, which every node must survive with exit status 0) after the test, printing
    the nodes' logs when the test failed."""
    NODES = 1

    def setUp(self):
        self.cluster = Cluster(self.NODES)
        self.addCleanup(self._cleanup)
        self.cluster.start_all()
        self.cluster.wait_ready()

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None:
            return True
        return any(test is self for test, _ in result.failures + result.errors)

    def _cleanup(self):
        self.cluster.destroy(keep_logs=self._failed())
        # A node must survive everything a client can send and shut down cleanly on SIGTERM.
        self.assertEqual(self.cluster.unclean, [], "nodes that did not exit 0 after SIGTERM")

    def assert_error(self, reply, code, request_id=None):
        self.assertFalse(reply["ok"], reply)
        self.assertEqual(reply["error"]["code"], code, reply)
        self.assertIsInstance(reply["error"]["message"], str)
        self.assertTrue(reply["error"]["message"], reply)
        if request_id is not None:
            self.assertEqual(reply["id"], request_id, reply)

    async def leader_of(self, nodes=None, timeout=15.0):
        """Waits until every node in `nodes` names the same leader, which says it leads."""
        nodes = self.cluster.running_ids() if nodes is None else nodes
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                statuses = {}
                for node in nodes:
                    client = await Client.open(self.cluster.uri(node))
                    try:
                        statuses[node] = await client.ok("cluster.status", timeout=2)
                    finally:
                        await client.close()
                leaders = {s["leader"] for s in statuses.values()}
                last = statuses
                if len(leaders) == 1:
                    leader = leaders.pop()
                    if leader in statuses and statuses[leader]["role"] == "leader":
                        return leader
            except (OSError, asyncio.TimeoutError, ConnectionError,
                    websockets.exceptions.WebSocketException) as e:
                last = e
            await asyncio.sleep(0.1)
        raise AssertionError(f"no agreed leader among {nodes} within {timeout} s: {last}")


# ---------------------------------------------------------------------------------------------
# Every operation
# ---------------------------------------------------------------------------------------------

class OpsTest(ClusterTest):
    NODES = 1

    def test_counter_add_then_get_shows_the_sum(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            r1 = await c.ok("counter.add", ns="ops", key="c", by=5)
            r2 = await c.ok("counter.add", ns="ops", key="c", by=-2)
            r3 = await c.ok("counter.add", ns="ops", key="c", by=40.0)  # integral float counts
            for r in (r1, r2, r3):
                self.assertEqual(set(r), {"index"})
                self.assertIsInstance(r["index"], int)
            self.assertLess(r1["index"], r2["index"])
            self.assertLess(r2["index"], r3["index"])
            got = await c.ok("get", ns="ops", key="c")
            self.assertEqual(set(got), {"exists", "value", "types", "index"})
            self.assertTrue(got["exists"])
            self.assertEqual(got["value"], 43)
            self.assertGreaterEqual(got["index"], r3["index"])
            for consistency in ("linearizable", "lease", "local"):
                got = await c.ok("get", ns="ops", key="c", consistency=consistency)
                self.assertEqual(got["value"], 43, consistency)
            await c.close()
        run(body())

    def test_register_set_and_get(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            value = {"name": "agent-7", "tags": ["a", "b"], "n": 1.5, "ok": True, "none": None}
            await c.ok("register.set", ns="ops", key="r", value=value)
            got = await c.ok("get", ns="ops", key="r")
            self.assertTrue(got["exists"])
            self.assertEqual(got["value"], value)
            await c.ok("register.set", ns="ops", key="r", value="second")
            self.assertEqual((await c.ok("get", ns="ops", key="r"))["value"], "second")
            await c.close()
        run(body())

    def test_set_add_and_remove(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("set.add", ns="ops", key="s", members=["x", "y", 1, True, None])
            got = await c.ok("get", ns="ops", key="s")
            self.assertTrue(got["exists"])
            self.assertCountEqual(got["value"], ["x", "y", 1, True, None])
            await c.ok("set.remove", ns="ops", key="s", members=["y", 1])
            got = await c.ok("get", ns="ops", key="s")
            self.assertCountEqual(got["value"], ["x", True, None])
            await c.ok("set.add", ns="ops", key="s", members=[])  # a no-op
            self.assertCountEqual((await c.ok("get", ns="ops", key="s"))["value"],
                                  ["x", True, None])
            await c.close()
        run(body())

    def test_update_with_nested_map_paths(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            ops = [
                {"path": ["stats", "hits"], "type": "counter", "mutator": "add", "args": 3},
                {"path": ["profile", "name"], "type": "register", "mutator": "set",
                 "args": "ada"},
                {"path": ["profile", "tags"], "type": "set", "mutator": "add",
                 "args": ["p", "q"]},
                {"path": ["gone"], "type": "register", "mutator": "set", "args": 1},
            ]
            r = await c.ok("update", ns="ops/nested", key="doc", ops=ops)
            self.assertEqual(set(r), {"index"})
            got = await c.ok("get", ns="ops/nested", key="doc")
            self.assertTrue(got["exists"])
            value = got["value"]
            self.assertEqual(value["stats"], {"hits": 3})
            self.assertEqual(value["profile"]["name"], "ada")
            self.assertCountEqual(value["profile"]["tags"], ["p", "q"])
            self.assertEqual(value["gone"], 1)
            self.assertIsInstance(got["types"], (dict, list, str))
            self.assertIn("counter", json.dumps(got["types"]))
            more = [
                {"path": ["stats", "hits"], "type": "counter", "mutator": "add", "args": 4},
                {"type": "map", "mutator": "remove", "args": "gone"},  # path omitted = []
                {"path": ["profile", "tags"], "type": "set", "mutator": "remove", "args": ["p"]},
            ]
            request_id = {"client": 99, "seq": 1, "acked_below": 0}
            await c.ok("update", ns="ops/nested", key="doc", ops=more, request_id=request_id)
            value = (await c.ok("get", ns="ops/nested", key="doc"))["value"]
            self.assertEqual(value["stats"]["hits"], 7)
            self.assertNotIn("gone", value)
            self.assertEqual(value["profile"]["tags"], ["q"])
            await c.close()
        run(body())

    def test_request_id_deduplicates_retries(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            rid = {"client": 4242, "seq": 1}
            first = await c.ok("counter.add", ns="ops", key="dedup", by=10, request_id=rid)
            retry = await c.ok("counter.add", ns="ops", key="dedup", by=10, request_id=rid)
            self.assertEqual(retry["index"], first["index"])
            self.assertEqual((await c.ok("get", ns="ops", key="dedup"))["value"], 10)
            rid2 = {"client": 4242, "seq": 2, "acked_below": 2}
            await c.ok("counter.add", ns="ops", key="dedup", by=1, request_id=rid2)
            self.assertEqual((await c.ok("get", ns="ops", key="dedup"))["value"], 11)
            await c.close()
        run(body())

    def test_delete_then_get_does_not_exist(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("register.set", ns="ops", key="d", value=1)
            r = await c.ok("delete", ns="ops", key="d")
            self.assertEqual(set(r), {"index"})
            got = await c.ok("get", ns="ops", key="d")
            self.assertFalse(got["exists"])
            never = await c.ok("get", ns="ops", key="never-written")
            self.assertFalse(never["exists"])
            listed = await c.ok("list", ns="ops", prefix="d")
            self.assertNotIn("d", listed["keys"])
            await c.close()
        run(body())

    def test_list_with_prefix_after_limit_next(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            keys = [f"a{i:02d}" for i in range(7)] + ["b1", "b2"]
            last = None
            for key in keys:
                last = await c.ok("counter.add", ns="ops/list", key=key, by=1)
            everything = await c.ok("list", ns="ops/list")
            self.assertEqual(set(everything), {"keys", "next", "index"})
            self.assertEqual(everything["keys"], sorted(keys))
            self.assertIsNone(everything["next"])
            self.assertGreaterEqual(everything["index"], last["index"])
            prefixed = await c.ok("list", ns="ops/list", prefix="b")
            self.assertEqual(prefixed["keys"], ["b1", "b2"])
            # Pages of 3 through the "a" keys, following next.
            pages, after = [], None
            while True:
                args = {"ns": "ops/list", "prefix": "a", "limit": 3}
                if after is not None:
                    args["after"] = after
                page = await c.ok("list", **args)
                self.assertLessEqual(len(page["keys"]), 3)
                pages.append(page["keys"])
                if page["next"] is None:
                    break
                self.assertEqual(page["next"], page["keys"][-1])
                after = page["next"]
                self.assertLess(len(pages), 10, pages)
            self.assertEqual([k for p in pages for k in p], [f"a{i:02d}" for i in range(7)])
            self.assertEqual(pages[0], ["a00", "a01", "a02"])
            after_only = await c.ok("list", ns="ops/list", after="a05")
            self.assertEqual(after_only["keys"], ["a06", "b1", "b2"])
            empty = await c.ok("list", ns="ops/empty-namespace")
            self.assertEqual(empty["keys"], [])
            await c.close()
        run(body())

    def test_merge(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("counter.add", ns="ops", key="m", by=1)
            bad = await c.call("merge", ns="ops", key="m", delta="!!!not base64!!!")
            self.assert_error(bad, "INVALID_ARGUMENT")
            self.assertIn("delta", bad["error"]["message"])
            empty = await c.call("merge", ns="ops", key="m", delta="")
            self.assert_error(empty, "INVALID_ARGUMENT")
            # Valid base64 of bytes that are no CRDT delta: refused, never applied blindly.
            junk = await c.call("merge", ns="ops", key="m",
                                delta=base64.b64encode(b"\x00garbage delta\xff" * 4).decode())
            self.assertFalse(junk["ok"], junk)
            self.assertIn(junk["error"]["code"], {"INVALID_ARGUMENT", "TYPE_MISMATCH"}, junk)
            got = await c.ok("get", ns="ops", key="m")
            self.assertEqual(got["value"], 1)
            await c.close()
        run(body())

    def test_watch_and_unwatch(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            w = await c.ok("watch", ns="ops/w", prefix="k")
            self.assertEqual(set(w), {"watch", "start_index"})
            watch = w["watch"]
            r1 = await c.ok("register.set", ns="ops/w", key="k1", value="v1")
            await c.ok("register.set", ns="ops/w", key="other", value="x")  # not matching
            r2 = await c.ok("delete", ns="ops/w", key="k1")
            await c.ok("register.set", ns="ops/other", key="k1", value="x")  # other ns
            e1 = await c.next_watch_frame(watch)
            self.assertEqual(e1, {"watch": watch, "event": {
                "index": r1["index"], "ns": "ops/w", "key": "k1", "value": "v1"}})
            e2 = await c.next_watch_frame(watch)
            self.assertEqual(e2, {"watch": watch, "event": {
                "index": r2["index"], "ns": "ops/w", "key": "k1", "deleted": True}})
            self.assertGreater(r1["index"], w["start_index"])
            u = await c.ok("unwatch", watch=watch)
            self.assertEqual(u, {})
            await c.ok("register.set", ns="ops/w", key="k2", value="after unwatch")
            await c.ok("get", ns="ops/w", key="k2")  # a round trip after the write applied
            await asyncio.sleep(0.2)
            self.assertTrue(c.watch_queue(watch).empty(), "an event after unwatch")
            again = await c.call("unwatch", watch=watch)
            self.assert_error(again, "NOT_FOUND")
            await c.close()
        run(body())

    def test_cluster_status_snapshot_transfer(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("counter.add", ns="ops", key="before-snapshot", by=1)
            status = await c.ok("cluster.status")
            for field in ("id", "role", "term", "leader", "leader_address", "commit", "applied",
                          "snapshot_index", "first_log_index", "last_log_index", "cluster_id",
                          "members"):
                self.assertIn(field, status)
            self.assertEqual(status["id"], 1)
            self.assertEqual(status["role"], "leader")
            self.assertEqual(status["leader"], 1)
            self.assertEqual(status["leader_address"], f"127.0.0.1:{self.cluster.ports[1]}")
            self.assertGreaterEqual(status["term"], 1)
            self.assertGreaterEqual(status["commit"], status["applied"] - 0)
            self.assertIsInstance(status["cluster_id"], str)
            self.assertEqual(len(status["members"]), 1)
            member = status["members"][0]
            self.assertEqual(set(member), {"id", "address", "role", "voter", "match"})
            self.assertEqual(member["id"], 1)
            self.assertTrue(member["voter"])

            snap = await c.ok("cluster.snapshot", timeout=20)
            self.assertIn("index", snap)
            self.assertGreaterEqual(snap["index"], status["applied"])
            after = await c.ok("cluster.status")
            self.assertGreaterEqual(after["snapshot_index"], status["applied"])

            transfer = await c.call("cluster.transfer", node=42)
            self.assert_error(transfer, "INVALID_ARGUMENT")
            self.assertEqual((await c.ok("cluster.status"))["leader"], 1)

            # Membership changes: adding a learner that never starts is accepted and shows up;
            # removing it again works; removing an unknown node is an error.
            add = await c.call("cluster.add", node=7, address="127.0.0.1:1", learner=True,
                               timeout=15)
            if add["ok"]:
                members = (await c.ok("cluster.status"))["members"]
                self.assertIn(7, [m["id"] for m in members], members)
                removed = await c.call("cluster.remove", node=7, timeout=15)
                self.assertTrue(removed["ok"], removed)
            else:
                self.assertIn(add["error"]["code"], ERROR_CODES - {"INTERNAL"}, add)
            missing = await c.call("cluster.remove", node=55, timeout=15)
            self.assertFalse(missing["ok"], missing)
            self.assertIn(missing["error"]["code"], {"INVALID_ARGUMENT", "NOT_FOUND"}, missing)
            no_address = await c.call("cluster.add", node=8, address="")
            self.assert_error(no_address, "INVALID_ARGUMENT")
            self.assertEqual((await c.ok("get", ns="ops", key="before-snapshot"))["value"], 1)
            await c.close()
        run(body())

    def test_replies_in_any_order_are_matched_by_id(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            futures = []
            for i in range(50):
                futures.append(c.submit("counter.add", ns="ops/many", key=f"k{i % 5}", by=1))
                futures.append(c.submit("get", ns="ops/many", key=f"k{i % 5}",
                                        consistency="local"))
            replies = await asyncio.wait_for(asyncio.gather(*(f for _, f in futures)), 20)
            for (request_id, _), reply in zip(futures, replies):
                self.assertEqual(reply["id"], request_id)
                self.assertTrue(reply["ok"], reply)
            listed = await c.ok("list", ns="ops/many")
            self.assertEqual(listed["keys"], [f"k{i}" for i in range(5)])
            for i in range(5):
                self.assertEqual((await c.ok("get", ns="ops/many", key=f"k{i}"))["value"], 10)
            await c.close()
        run(body())


# ---------------------------------------------------------------------------------------------
# Errors: codes, echoed ids, connection still usable, nothing changed
# ---------------------------------------------------------------------------------------------

class ErrorsTest(ClusterTest):
    NODES = 1

    async def _baseline(self, c):
        await c.ok("register.set", ns="err", key="k", value="old")
        await c.ok("counter.add", ns="err", key="n", by=1)
        return await c.ok("get", ns="err", key="k")

    async def _unchanged(self, c):
        got = await c.ok("get", ns="err", key="k")
        self.assertEqual(got["value"], "old")
        self.assertEqual((await c.ok("get", ns="err", key="n"))["value"], 1)
        listed = await c.ok("list", ns="err")
        self.assertEqual(listed["keys"], ["k", "n"])

    def test_invalid_argument_cases(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            # Not JSON at all: the id cannot be read, so it is null.
            for text in ("{not json", "", "\"unterminated", "{\"id\": 5, \"op\": \"get\""):
                reply = await c.send_raw(text)
                self.assert_error(reply, "INVALID_ARGUMENT")
                self.assertIsNone(reply["id"], reply)
                self.assertEqual(set(reply), {"id", "ok", "error"})
            # JSON but not an object.
            for text in ("[1, 2]", "42", "\"get\"", "null", "true"):
                reply = await c.send_raw(text)
                self.assert_error(reply, "INVALID_ARGUMENT")
                self.assertIsNone(reply["id"], reply)
            cases = [
                ({"op": "frobnicate"}, "unknown op"),
                ({"op": "get", "ns": "err", "key": "k", "bogus": 1}, "unknown field"),
                ({"op": "register.set", "ns": "err", "key": "k", "value": 2, "vlaue": 3},
                 "unknown field"),
                ({"op": "update", "ns": "err", "key": "k",
                  "ops": [{"path": [], "type": "register", "mutator": "set", "args": 1,
                           "extra": 1}]}, "unknown field in a mutation"),
                ({"op": "update", "ns": "err", "key": "k", "ops": {"not": "an array"}},
                 "ops not an array"),
                ({"op": "update", "ns": "err", "key": "k", "ops": []}, "no ops"),
                ({"op": "update", "ns": "err", "key": "k",
                  "ops": [{"type": "counter", "mutator": "set", "args": 1}]}, "bad mutator"),
                ({"op": "update", "ns": "err", "key": "k",
                  "ops": [{"type": "hyperloglog", "mutator": "add", "args": 1}]}, "bad type"),
                ({"op": "counter.add", "ns": "err", "key": "n", "by": "five"}, "wrong arg type"),
                ({"op": "counter.add", "ns": "err", "key": "n", "by": 1.5}, "fractional by"),
                ({"op": "counter.add", "ns": "err", "key": "n", "by": 2 ** 63}, "by > int64"),
                ({"op": "counter.add", "ns": "err", "key": "n"}, "missing by"),
                ({"op": "set.add", "ns": "err", "key": "s", "members": "x"}, "members not array"),
                ({"op": "set.add", "ns": "err", "key": "s", "members": [{"a": 1}]},
                 "non-scalar member"),
                ({"op": "get", "ns": 5, "key": "k"}, "ns wrong type"),
                ({"op": "get", "ns": "err"}, "missing key"),
                ({"op": "get", "ns": "err", "key": "k", "consistency": "eventual"},
                 "bad consistency"),
                ({"op": "list", "ns": "err", "limit": -1}, "negative limit"),
                ({"op": "list", "ns": "err", "limit": "ten"}, "limit wrong type"),
                ({"op": "register.set", "ns": "bad ns!", "key": "k", "value": 1},
                 "bad namespace (write)"),
                ({"op": "register.set", "ns": "", "key": "k", "value": 1}, "empty namespace"),
                ({"op": "register.set", "ns": "a//b", "key": "k", "value": 1},
                 "empty namespace segment"),
                ({"op": "register.set", "ns": "x" * 300, "key": "k", "value": 1},
                 "namespace > 256 bytes"),
                ({"op": "get", "ns": "bad ns!", "key": "k"}, "bad namespace (get)"),
                ({"op": "list", "ns": "bad ns!"}, "bad namespace (list)"),
                ({"op": "watch", "ns": "bad ns!"}, "bad namespace (watch)"),
                ({"op": "register.set", "ns": "err", "key": "", "value": 1}, "empty key"),
                ({"op": "register.set", "ns": "err", "key": "k" * 2000, "value": 1},
                 "key > 1 KiB"),
                ({"op": "update", "ns": "err", "key": "k",
                  "ops": [{"path": [], "type": "register", "mutator": "set", "args": 1}],
                  "request_id": {"client": 1}}, "request_id without seq"),
                ({"op": "update", "ns": "err", "key": "k",
                  "ops": [{"path": [], "type": "register", "mutator": "set", "args": 1}],
                  "request_id": "abc"}, "request_id not an object"),
                ({"op": "counter.add", "ns": "err", "key": "n", "by": 1,
                  "request_id": {"client": 1, "seq": 1, "sequence": 2}},
                 "unknown field in request_id"),
                ({"op": "unwatch", "watch": "one"}, "watch wrong type"),
                ({"op": "cluster.status", "verbose": True}, "cluster.status with a field"),
                ({"op": "cluster.transfer", "node": -1}, "negative node"),
                ({"op": "cluster.add", "node": 4, "address": "h:1", "learner": "yes"},
                 "learner wrong type"),
                ({"op": 7, "ns": "err"}, "op not a string"),
                ({"ns": "err", "key": "k"}, "op missing"),
            ]
            for n, (request, what) in enumerate(cases):
                request_id = 1000 + n
                request = dict(request, id=request_id)
                reply = await c.send_raw(json.dumps(request), reply_id=request_id)
                with self.subTest(what):
                    self.assert_error(reply, "INVALID_ARGUMENT", request_id)
            # An id of the wrong type is refused, and cannot be echoed.
            reply = await c.send_raw(json.dumps({"id": [1], "op": "cluster.status"}))
            self.assert_error(reply, "INVALID_ARGUMENT")
            self.assertIsNone(reply["id"])
            await self._unchanged(c)
            await c.close()
        run(body())

    def test_deep_nesting(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            deep = "[" * 5000 + "]" * 5000
            text = '{"id": 77, "op": "register.set", "ns": "err", "key": "k", "value": ' + \
                deep + "}"
            reply = await c.send_raw(text)
            self.assert_error(reply, "INVALID_ARGUMENT")
            # The request is refused before it is parsed: its id cannot be echoed.
            self.assertIn(reply["id"], (None, 77))
            # Unbalanced nesting deeper than any parser should try.
            reply = await c.send_raw("{" * 200000)
            self.assert_error(reply, "INVALID_ARGUMENT")
            # Deep, but within the limit and inside a string: fine.
            value = "[" * 1000
            await c.ok("register.set", ns="err", key="brackets", value=value)
            self.assertEqual((await c.ok("get", ns="err", key="brackets"))["value"], value)
            await c.ok("delete", ns="err", key="brackets")
            await self._unchanged(c)
            await c.close()
        run(body())

    def test_type_mismatch(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            # n holds a counter at the root; k a register.
            reply = await c.call("register.set", ns="err", key="n", value="text")
            self.assert_error(reply, "TYPE_MISMATCH")
            reply = await c.call("counter.add", ns="err", key="k", by=1)
            self.assert_error(reply, "TYPE_MISMATCH")
            reply = await c.call("set.add", ns="err", key="n", members=["x"])
            self.assert_error(reply, "TYPE_MISMATCH")
            await c.ok("update", ns="err", key="doc", ops=[
                {"path": ["a"], "type": "counter", "mutator": "add", "args": 1}])
            reply = await c.call("update", ns="err", key="doc", ops=[
                {"path": ["a", "b"], "type": "counter", "mutator": "add", "args": 1}])
            self.assert_error(reply, "TYPE_MISMATCH")
            # All of an update or nothing: the valid first op must not apply either.
            reply = await c.call("update", ns="err", key="doc", ops=[
                {"path": ["b"], "type": "counter", "mutator": "add", "args": 5},
                {"path": ["a"], "type": "register", "mutator": "set", "args": "x"}])
            self.assert_error(reply, "TYPE_MISMATCH")
            self.assertEqual((await c.ok("get", ns="err", key="doc"))["value"], {"a": 1})
            await c.ok("delete", ns="err", key="doc")
            await self._unchanged(c)
            await c.close()
        run(body())

    def test_too_large_value_keeps_the_connection(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            big = "v" * (2 << 20)
            reply = await c.call("register.set", ns="err", key="k", value=big, timeout=20)
            self.assert_error(reply, "TOO_LARGE")
            reply = await c.call("update", ns="err", key="k", timeout=20, ops=[
                {"path": ["f"], "type": "register", "mutator": "set", "args": big}])
            self.assert_error(reply, "TOO_LARGE")
            reply = await c.call("set.add", ns="err", key="s", members=["m" * (3 << 20)],
                                 timeout=20)
            self.assert_error(reply, "TOO_LARGE")
            await self._unchanged(c)
            # A value just under the limit is fine.
            await c.ok("register.set", ns="err", key="big", value="w" * 900000, timeout=20)
            self.assertEqual(len((await c.ok("get", ns="err", key="big"))["value"]), 900000)
            await c.close()
        run(body())

    def test_not_found(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            reply = await c.call("unwatch", watch=12345)
            self.assert_error(reply, "NOT_FOUND")
            # A watch belongs to its connection: another one cannot end it.
            w = (await c.ok("watch", ns="err"))["watch"]
            other = await Client.open(self.cluster.uri(1))
            self.assert_error(await other.call("unwatch", watch=w), "NOT_FOUND")
            r = await c.ok("counter.add", ns="err", key="n", by=0)
            event = await c.next_watch_frame(w)
            self.assertEqual(event["event"]["index"], r["index"])
            await other.close()
            await c.ok("unwatch", watch=w)
            await self._unchanged(c)
            await c.close()
        run(body())

    def test_ids_are_echoed(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            for request_id in (0, 7, 2 ** 53, -3, "abc", "", "ünï-✓", 1.5):
                text = json.dumps({"id": request_id, "op": "get", "ns": "err", "key": "k"})
                reply = await c.send_raw(text, reply_id=request_id)
                self.assertEqual(reply["id"], request_id)
                self.assertTrue(reply["ok"], reply)
                text = json.dumps({"id": request_id, "op": "nope"})
                reply = await c.send_raw(text, reply_id=request_id)
                self.assertEqual(reply["id"], request_id)
                self.assert_error(reply, "INVALID_ARGUMENT")
            # No id at all: the reply still comes, with id null.
            reply = await c.send_raw(json.dumps({"op": "cluster.status"}))
            self.assertIsNone(reply["id"])
            self.assertTrue(reply["ok"], reply)
            await c.close()
        run(body())

    def test_oversize_frame_closes_with_1009(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            frame = json.dumps({"id": 1, "op": "register.set", "ns": "err", "key": "k",
                                "value": "z" * (17 << 20)})
            try:
                await c.ws.send(frame)
            except websockets.exceptions.ConnectionClosed:
                pass
            closed = await asyncio.wait_for(c.closed, 15)
            self.assertIsInstance(closed, websockets.exceptions.ConnectionClosed)
            self.assertIsNotNone(closed.rcvd, f"no close frame from the server: {closed}")
            self.assertEqual(closed.rcvd.code, 1009, closed)
            # The node lives on; nothing changed.
            c2 = await Client.open(self.cluster.uri(1))
            await self._unchanged(c2)
            await c2.close()
        run(body())

    def test_binary_frames(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await self._baseline(c)
            # Garbage in a binary frame: refused like any malformed request.
            reply = await c.send_raw(bytes(range(256)) * 4)
            self.assert_error(reply, "INVALID_ARGUMENT")
            self.assertIsNone(reply["id"])
            # A request in a binary frame: either served or refused, never a hang or a crash.
            text = json.dumps({"id": 9, "op": "get", "ns": "err", "key": "k"})
            reply = await c.send_raw(text.encode(), reply_id=9)
            self.assertEqual(reply["id"], 9)
            if reply["ok"]:
                self.assertEqual(reply["result"]["value"], "old")
            else:
                self.assertEqual(reply["error"]["code"], "INVALID_ARGUMENT")
            await self._unchanged(c)
            await c.close()
        run(body())

    def test_garbage_on_the_port(self):
        cluster = self.cluster
        host, port = cluster.ws_address[1].rsplit(":", 1)
        port = int(port)
        payloads = [
            os.urandom(4096),
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500),  # a TLS hello
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 13\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            b"POST /ws HTTP/1.1\r\n" + b"X-Long: " + b"a" * 100000 + b"\r\n\r\n",
            b"\r\n" * 1000,
            b"GET /healthz HTTP/1.1\r\n",  # a request cut off half-way
        ]
        for payload in payloads:
            with socket.create_connection((host, port), timeout=5) as s:
                try:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    s.settimeout(3)
                    while s.recv(65536):
                        pass
                except OSError:
                    pass

        async def garbage_after_upgrade():
            # A real upgrade, then bytes that are no WebSocket frame (unmasked, bad opcodes).
            c = await Client.open(cluster.uri(1))
            c.ws.transport.write(b"\x8f\xff" + os.urandom(2000))
            closed = await asyncio.wait_for(c.closed, 10)
            self.assertIsNotNone(closed)
            c2 = await Client.open(cluster.uri(1))
            await self._unchanged(c2)
            await c2.close()

        async def body():
            c = await Client.open(cluster.uri(1))
            await self._baseline(c)
            await c.close()
            await garbage_after_upgrade()

        run(body())
        self.assertIsNone(cluster.processes[1].poll(), "the node died")
        self.assertEqual(cluster.http_get(1, "/healthz")[0], 200)


# ---------------------------------------------------------------------------------------------
# Errors that need a cluster: NOT_LEADER / UNAVAILABLE, and /readyz 503
# ---------------------------------------------------------------------------------------------

class NoLeaderTest(ClusterTest):
    NODES = 3

    def test_lone_node_has_no_leader(self):
        self.cluster.kill(2)
        self.cluster.kill(3)
        # node 1 alone may still be the leader for a moment; restart it so it knows none.
        self.cluster.kill(1)
        self.cluster.start(1)
        status, body = self.cluster.http_get(1, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("leader", body)
        self.assertEqual(self.cluster.http_get(1, "/healthz")[0], 200)

        async def body_():
            c = await Client.open(self.cluster.uri(1))
            before = await c.ok("get", ns="nl", key="k", consistency="local")
            start = time.monotonic()
            reply = await c.call("counter.add", ns="nl", key="k", by=1, timeout=15)
            elapsed = time.monotonic() - start
            self.assertFalse(reply["ok"], reply)
            self.assertIn(reply["error"]["code"], {"NOT_LEADER", "UNAVAILABLE"}, reply)
            self.assertLess(elapsed, 7.0)
            reply = await c.call("get", ns="nl", key="k", timeout=15)  # linearizable
            self.assertFalse(reply["ok"], reply)
            self.assertIn(reply["error"]["code"], {"NOT_LEADER", "UNAVAILABLE"}, reply)
            status = await c.ok("cluster.status")
            self.assertNotEqual(status["role"], "leader")
            after = await c.ok("get", ns="nl", key="k", consistency="local")
            self.assertEqual(after["exists"], before["exists"])
            await c.close()
        run(body_())

    def test_majority_down_writes_fail_within_six_seconds(self):
        async def body():
            leader = await self.leader_of()
            c = await Client.open(self.cluster.uri(leader))
            await c.ok("register.set", ns="nl", key="k", value="old")
            followers = [n for n in self.cluster.ids() if n != leader]
            self.cluster.kill(followers[1])
            # One follower down: still a majority.
            await c.ok("register.set", ns="nl", key="k", value="still-ok")
            self.cluster.kill(followers[0])
            start = time.monotonic()
            reply = await c.call("register.set", ns="nl", key="k", value="new", timeout=15)
            elapsed = time.monotonic() - start
            self.assertFalse(reply["ok"], reply)
            self.assertIn(reply["error"]["code"], {"UNAVAILABLE", "NOT_LEADER"}, reply)
            self.assertLess(elapsed, 7.0, reply)
            # The connection still works; a local read shows the old value.
            got = await c.ok("get", ns="nl", key="k", consistency="local")
            self.assertEqual(got["value"], "still-ok")
            await c.close()
        run(body())

    def test_write_on_follower_after_leader_killed(self):
        async def body():
            leader = await self.leader_of()
            follower = next(n for n in self.cluster.ids() if n != leader)
            c = await Client.open(self.cluster.uri(follower))
            r = await c.ok("register.set", ns="nl", key="f", value="forwarded")  # forwarded
            self.assertGreater(r["index"], 0)
            self.assertEqual((await c.ok("get", ns="nl", key="f"))["value"], "forwarded")
            self.cluster.kill(leader)
            # Right after the kill the follower still names the dead leader: the write is
            # forwarded into the void or refused; it must be answered, not hang.
            start = time.monotonic()
            reply = await c.call("register.set", ns="nl", key="f", value="maybe", timeout=15)
            self.assertLess(time.monotonic() - start, 7.0)
            if not reply["ok"]:
                self.assertIn(reply["error"]["code"], {"UNAVAILABLE", "NOT_LEADER"}, reply)
                if reply["error"]["code"] == "NOT_LEADER" and "leader_id" in reply["error"]:
                    self.assertIsInstance(reply["error"]["leader_id"], int)
            # A new leader is elected among the two left; writes through the follower work.
            await self.leader_of([n for n in self.cluster.ids() if n != leader])
            deadline = time.monotonic() + 10
            while True:
                reply = await c.call("register.set", ns="nl", key="f", value="after",
                                     timeout=15)
                if reply["ok"] or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.2)
            self.assertTrue(reply["ok"], reply)
            self.assertEqual((await c.ok("get", ns="nl", key="f"))["value"], "after")
            await c.close()
        run(body())


# ---------------------------------------------------------------------------------------------
# Watches
# ---------------------------------------------------------------------------------------------

class WatchTest(ClusterTest):
    NODES = 3

    def test_events_in_commit_order_across_leader_changes(self):
        async def body():
            leader = await self.leader_of()
            watcher_node = next(n for n in self.cluster.ids() if n != leader)
            watcher = await Client.open(self.cluster.uri(watcher_node))
            w = await watcher.ok("watch", ns="order", prefix="w")
            watch = w["watch"]
            clients = {n: await Client.open(self.cluster.uri(n)) for n in self.cluster.ids()}
            attempted = {}  # key -> value
            acked = {}      # key -> index
            failures = []
            counter = 0

            async def write_round(nodes, count):
                nonlocal counter
                pending = []
                for _ in range(count):
                    node = nodes[counter % len(nodes)]
                    key, value = f"w{counter:05d}", {"n": counter, "via": node}
                    counter += 1
                    attempted[key] = value
                    _, future = clients[node].submit("register.set", ns="order", key=key,
                                                     value=value)
                    pending.append((key, future))
                    await asyncio.sleep(0.002)
                for key, future in pending:
                    try:
                        reply = await asyncio.wait_for(future, 15)
                    except (asyncio.TimeoutError, ConnectionError) as e:
                        failures.append((key, repr(e)))
                        continue
                    if reply["ok"]:
                        acked[key] = reply["result"]["index"]
                    else:
                        self.assertIn(reply["error"]["code"], {"NOT_LEADER", "UNAVAILABLE"},
                                      reply)
                        failures.append((key, reply["error"]["code"]))

            everyone = self.cluster.ids()
            await write_round(everyone, 60)
            # Writes through followers are forwarded to the leader and acknowledged.
            self.assertEqual({attempted[k]["via"] for k in acked}, set(everyone), failures)
            # Phase 1: hand leadership to the third node mid-stream.
            third = next(n for n in everyone if n not in (leader, watcher_node))
            transfer_task = asyncio.ensure_future(
                clients[leader].call("cluster.transfer", node=third, timeout=15))
            await write_round(everyone, 60)
            transfer = await transfer_task
            self.assertTrue(transfer["ok"], transfer)
            new_leader = await self.leader_of()
            self.assertEqual(new_leader, third)
            await write_round(everyone, 40)
            # Phase 2: kill -9 the leader mid-stream (never the watcher's node).
            kill_task = asyncio.get_running_loop().run_in_executor(
                None, self.cluster.kill, new_leader)
            survivors = [n for n in everyone if n != new_leader]
            await write_round(survivors, 60)
            await kill_task
            await self.leader_of(survivors)
            await write_round(survivors, 60)
            acked_after_kill = [k for k in acked if int(k[1:]) >= 220]
            self.assertGreater(len(acked_after_kill), 30, failures)

            # Every acknowledged write's event arrives, in order.
            events = []
            wanted = dict(acked)
            deadline = time.monotonic() + 15
            seen = set()
            while wanted.keys() - seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    missing = sorted(wanted.keys() - seen)
                    self.fail(f"{len(missing)} acknowledged writes never reached the watcher, "
                              f"e.g. {missing[:10]} at {[wanted[k] for k in missing[:10]]}")
                frame = await watcher.next_watch_frame(watch, timeout=remaining)
                self.assertIn("event", frame, frame)
                event = frame["event"]
                events.append(event)
                seen.add(event["key"])
            indexes = [e["index"] for e in events]
            self.assertEqual(indexes, sorted(indexes), "events out of index order")
            self.assertEqual(len({(e["index"], e["key"]) for e in events}), len(events),
                             "an event delivered twice")
            self.assertGreater(indexes[0], w["start_index"])
            by_key = {}
            for e in events:
                self.assertFalse(e.get("resync", False), e)
                self.assertEqual(e["ns"], "order")
                self.assertIn(e["key"], attempted, f"an event for a write never made: {e}")
                self.assertEqual(e.get("value"), attempted[e["key"]], e)
                by_key.setdefault(e["key"], []).append(e["index"])
            for key, index in acked.items():
                self.assertEqual(by_key.get(key), [index], key)
            for client in list(clients.values()) + [watcher]:
                await client.close()
        run(body(), timeout=100)

    def test_start_index_is_where_the_watch_starts(self):
        """Events after start_index all arrive, even when writes apply while the watch opens."""
        async def body():
            leader = await self.leader_of()
            writer = await Client.open(self.cluster.uri(leader))
            watcher = await Client.open(self.cluster.uri(leader))
            acked = {}
            stop = asyncio.Event()

            async def write_stream():
                i = 0
                in_flight = {}  # future -> key
                while not stop.is_set():
                    key = f"s{i:06d}"
                    _, future = writer.submit("register.set", ns="start", key=key, value=i)
                    in_flight[future] = key
                    i += 1
                    if len(in_flight) >= 16:
                        done, _ = await asyncio.wait(
                            list(in_flight), return_when=asyncio.FIRST_COMPLETED)
                        for f in done:
                            reply = f.result()
                            self.assertTrue(reply["ok"], reply)
                            acked[in_flight.pop(f)] = reply["result"]["index"]
                for f, key in in_flight.items():
                    reply = await asyncio.wait_for(f, 15)
                    self.assertTrue(reply["ok"], reply)
                    acked[key] = reply["result"]["index"]

            stream = asyncio.ensure_future(write_stream())
            await asyncio.sleep(0.3)
            watches = []
            for _ in range(40):  # each opening is one chance for the race
                watches.append(await watcher.ok("watch", ns="start"))
                await asyncio.sleep(0.03)
            await asyncio.sleep(0.2)
            stop.set()
            await stream
            self.assertGreater(len(acked), 100)
            last_index = max(acked.values())
            problems = []
            deadline = time.monotonic() + 5  # every event is due by now: the writes were acked
            for w in watches:
                expected = {k: i for k, i in acked.items() if i > w["start_index"]}
                got = {}
                while len(got) < len(expected):
                    try:
                        frame = await watcher.next_watch_frame(
                            w["watch"], timeout=max(0.2, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        break
                    got[frame["event"]["key"]] = frame["event"]["index"]
                missing = sorted(set(expected) - set(got), key=expected.get)
                early = [k for k, i in got.items() if i <= w["start_index"]]
                if missing or early:
                    problems.append(
                        f"watch {w['watch']} start_index {w['start_index']}: "
                        f"{len(missing)} events missing (indexes "
                        f"{[expected[k] for k in missing[:5]]}), {len(early)} at or before "
                        f"start_index")
            self.assertEqual(problems, [], f"last write index {last_index}")
            await writer.close()
            await watcher.close()
        run(body(), timeout=90)


class ResumeTest(ClusterTest):
    NODES = 1

    def test_resume_from_index_after_reconnect(self):
        async def body():
            uri = self.cluster.uri(1)
            c = await Client.open(uri)
            await c.ok("register.set", ns="res", key="old", value="before the watch")
            w = await c.ok("watch", ns="res", prefix="k")
            acks = {}
            for i in range(5):
                acks[f"k{i}"] = (await c.ok("register.set", ns="res", key=f"k{i}",
                                            value=f"v{i}"))["index"]
            last_seen = 0
            for i in range(5):
                event = (await c.next_watch_frame(w["watch"]))["event"]
                self.assertEqual(event["key"], f"k{i}")
                self.assertEqual(event["index"], acks[f"k{i}"])
                last_seen = event["index"]
            await c.close()

            # While disconnected: k1 twice, k2 deleted, k5 new, a key outside the prefix.
            other = await Client.open(uri)
            await other.ok("register.set", ns="res", key="k1", value="v1-b")
            await other.ok("register.set", ns="res", key="zzz", value="not watched")
            await other.ok("delete", ns="res", key="k2")
            last_k1 = await other.ok("register.set", ns="res", key="k1", value="v1-c")
            k5 = await other.ok("counter.add", ns="res", key="k5", by=3)
            await other.close()

            c = await Client.open(uri)
            w2 = await c.ok("watch", ns="res", prefix="k", from_index=last_seen + 1)
            missed = []
            for _ in range(3):
                missed.append((await c.next_watch_frame(w2["watch"]))["event"])
            self.assertEqual([e["key"] for e in missed], ["k2", "k1", "k5"], missed)
            self.assertTrue(missed[0].get("deleted"), missed[0])
            self.assertEqual(missed[1]["value"], "v1-c")
            self.assertEqual(missed[1]["index"], last_k1["index"])
            self.assertEqual(missed[2]["value"], 3)
            self.assertEqual(missed[2]["index"], k5["index"])
            for e in missed:
                self.assertGreater(e["index"], last_seen)
                self.assertFalse(e.get("resync", False), e)
            # Then live events.
            live = await c.ok("register.set", ns="res", key="k9", value="live")
            event = (await c.next_watch_frame(w2["watch"]))["event"]
            self.assertEqual((event["key"], event["value"], event["index"]),
                             ("k9", "live", live["index"]))
            await asyncio.sleep(0.2)
            self.assertTrue(c.watch_queue(w2["watch"]).empty(), "more than the missed changes")
            await c.close()
        run(body())


    def test_resume_after_restart_sees_deletes(self):
        """After a restart the node has no change history, so a resumed watch is served by a
        resync; a key deleted while the watcher was away must still reach it as deleted."""
        uri = self.cluster.uri(1)

        async def before():
            c = await Client.open(uri)
            w = await c.ok("watch", ns="res2")
            await c.ok("register.set", ns="res2", key="stays", value=1)
            await c.ok("register.set", ns="res2", key="goes", value=2)
            events = [(await c.next_watch_frame(w["watch"]))["event"] for _ in range(2)]
            await c.close()
            other = await Client.open(uri)
            await other.ok("delete", ns="res2", key="goes")
            await other.ok("register.set", ns="res2", key="stays", value=3)
            await other.close()
            return events[-1]["index"]

        last_seen = run(before())
        self.cluster.restart(1)
        self.cluster.wait_ready()

        async def after():
            c = await Client.open(self.cluster.uri(1))
            w = await c.ok("watch", ns="res2", from_index=last_seen + 1)
            # The watcher's view before it went away; a resync resends every live document
            # and then ends with resync_end: whatever it did not resend is gone.
            view = {"stays": 1, "goes": 2}
            resent = set()
            frames = []
            while True:
                frame = await c.next_watch_frame(w["watch"], timeout=5)
                frames.append(frame)
                if "resync_end" in frame:
                    view = {k: v for k, v in view.items() if k in resent}
                    break
                event = frame["event"]
                self.assertTrue(event.get("resync"), frame)
                resent.add(event["key"])
                view[event["key"]] = event["value"]
            await c.close()
            self.assertEqual(view, {"stays": 3},
                             f"frames after resuming from {last_seen + 1}: {frames}")
        run(after())


class LargeCatchUpTest(ClusterTest):
    """A watch whose catch-up is bigger than a connection's send queue (4 MiB) streams at its
    reader's pace: a client that keeps reading gets the whole state without an overflow (and if
    one came, following resume_from must still reach the current state)."""
    NODES = 1
    KEYS, VALUE_BYTES = 30, 300000  # 9 MB of matching documents

    async def _write_state(self):
        c = await Client.open(self.cluster.uri(1))
        for i in range(self.KEYS):
            await c.ok("register.set", ns="big", key=f"k{i:02d}",
                       value=f"{i}:" + "y" * self.VALUE_BYTES, timeout=20)
        await c.close()

    async def _catch_up(self, from_index, rounds_max=12):
        """Watches from `from_index`, reading as fast as it can and following overflows; the keys
        seen, or a failure describing the rounds."""
        c = await Client.open(self.cluster.uri(1))
        seen, rounds = set(), []
        try:
            while len(seen) < self.KEYS:
                if len(rounds) >= rounds_max:
                    self.fail(f"no convergence after {len(rounds)} resumes "
                              f"(from_index, events, resume_from): {rounds}; "
                              f"{len(seen)}/{self.KEYS} keys seen")
                w = await c.ok("watch", ns="big", from_index=from_index)
                events = 0
                while len(seen) < self.KEYS:
                    try:
                        frame = await c.next_watch_frame(w["watch"], timeout=5)
                    except asyncio.TimeoutError:
                        self.fail(f"the watch from_index {from_index} went silent after {events} "
                                  f"events with {len(seen)}/{self.KEYS} keys seen: the rest of "
                                  f"the state never arrives; resumes so far (from_index, "
                                  f"events, resume_from): {rounds}")
                    if "overflow" in frame:
                        rounds.append((from_index, events, frame["overflow"]["resume_from"]))
                        from_index = frame["overflow"]["resume_from"]
                        break
                    if "resync_end" in frame:
                        continue
                    self.assertIn("event", frame, frame)
                    event = frame["event"]
                    i = int(event["key"][1:])
                    self.assertTrue(event["value"].startswith(f"{i}:"), event["key"])
                    seen.add(event["key"])
                    events += 1
            return rounds
        finally:
            await c.close()

    def test_resume_converges_through_history_replay(self):
        async def body():
            await self._write_state()
            rounds = await self._catch_up(from_index=1)
            self.assertEqual(rounds, [], "a reader that keeps up overflowed")
        run(body())

    def test_resume_converges_through_resync_after_restart(self):
        async def body():
            await self._write_state()
        run(body())
        # After a restart the node keeps no change history: a resumed watch gets a resync (every
        # live document, all at the applied index).
        self.cluster.restart(1)
        self.cluster.wait_ready()

        async def resume():
            rounds = await self._catch_up(from_index=1)
            self.assertEqual(rounds, [], "a reader that keeps up overflowed")
        run(resume())


class SlowConsumerTest(ClusterTest):
    NODES = 1

    def test_slow_watcher_overflows_and_the_node_stays_bounded(self):
        cluster = self.cluster
        pid = cluster.pid(1)
        VALUE_BYTES, WRITES, WATCHERS = 150000, 200, 8  # pylint: disable=invalid-name

        async def body():
            uri = cluster.uri(1)
            # Slow watchers: the client stops reading (a 1-message queue, a 64 KiB buffer), so
            # TCP pushes back on the node.
            slow = []
            for _ in range(WATCHERS):
                ws = await connect(uri, max_queue=1, read_limit=1 << 16)
                await ws.send(json.dumps({"id": 1, "op": "watch", "ns": "slow"}))
                reply = json.loads(await ws.recv())
                self.assertTrue(reply["ok"], reply)
                slow.append((ws, reply["result"]["watch"]))
            writer = await Client.open(uri)
            await writer.ok("counter.add", ns="warm", key="k", by=1)
            rss_before = rss_bytes(pid)
            value = "x" * VALUE_BYTES
            total = 0
            started = time.monotonic()
            futures = []
            latest_write = {}
            for i in range(WRITES):
                latest_write[f"k{i % 20}"] = i
                _, future = writer.submit("register.set", ns="slow", key=f"k{i % 20}",
                                          value=f"{i}:{value}")
                futures.append(future)
                total += len(value)
                if len(futures) >= 8:
                    reply = await asyncio.wait_for(futures.pop(0), 20)
                    self.assertTrue(reply["ok"], reply)
            for future in futures:
                reply = await asyncio.wait_for(future, 20)
                self.assertTrue(reply["ok"], reply)
            write_seconds = time.monotonic() - started
            # Another client is served promptly meanwhile.
            other = await Client.open(uri)
            t = time.monotonic()
            last = WRITES - 1
            got = await other.ok("get", ns="slow", key=f"k{last % 20}")
            self.assertLess(time.monotonic() - t, 2.0)
            self.assertTrue(got["value"].startswith(f"{last}:"))
            status, metrics = cluster.http_get(1, "/metrics")
            self.assertEqual(status, 200)
            rss_after = rss_bytes(pid)
            print(f"slow consumers: RSS {rss_before >> 20} -> {rss_after >> 20} MiB, "
                  f"{total >> 20} MiB written in {write_seconds:.1f} s", file=sys.stderr)
            # Without the bound, each stalled watcher would hold every event (~29 MiB each, so
            # ~230 MiB for 8 of them) on top of what the writes themselves cost the node (~80 MiB:
            # memtable, log, allocator). With it, each holds at most 4 MiB of unsent frames.
            growth = rss_after - rss_before
            self.assertLess(growth, (80 << 20) + WATCHERS * (12 << 20),
                            f"RSS grew by {growth >> 20} MiB while {len(slow)} watchers stalled "
                            f"on {total >> 20} MiB of writes ({write_seconds:.1f} s)")
            overflows = metric_values(metrics, "neuroplex_watch_overflows_total")
            self.assertGreaterEqual(sum(overflows.values()), len(slow), overflows)

            # Now read: each slow watcher finds an overflow frame (or a closed connection).
            for ws, watch in slow:
                frames = 0
                overflow = None
                try:
                    while overflow is None:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        frames += 1
                        self.assertEqual(frame.get("watch"), watch, frame)
                        if "overflow" in frame:
                            overflow = frame["overflow"]
                        else:
                            self.assertIn("event", frame, frame)
                except websockets.exceptions.ConnectionClosed:
                    continue
                self.assertLess(frames, WRITES, "every event was queued: no flow control")
                self.assertIsInstance(overflow["resume_from"], int)
                self.assertGreater(overflow["resume_from"], 0)
                self.assertIn("from_index", overflow["message"])
                # The connection still works, and resuming converges to the current state.
                await ws.send(json.dumps({"id": 2, "op": "watch", "ns": "slow",
                                          "from_index": overflow["resume_from"]}))
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                self.assertEqual(reply["id"], 2, reply)
                self.assertTrue(reply["ok"], reply)
                resumed = reply["result"]["watch"]
                unseen = dict(latest_write)
                deadline = time.monotonic() + 10
                while unseen:
                    frame = json.loads(await asyncio.wait_for(
                        ws.recv(), max(0.1, deadline - time.monotonic())))
                    self.assertEqual(frame.get("watch"), resumed, str(frame)[:300])
                    self.assertIn("event", frame, str(frame)[:300])
                    event = frame["event"]
                    if event["value"].startswith(f"{unseen.get(event['key'])}:"):
                        del unseen[event["key"]]
                await ws.close()
            for v in (writer, other):
                await v.close()
        run(body(), timeout=60)
        self.assertIsNone(cluster.processes[1].poll(), "the node died")


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------

class HttpTest(ClusterTest):
    NODES = 1

    def test_health_ready_metrics_and_404(self):
        cluster = self.cluster
        status, body = cluster.http_get(1, "/healthz")
        self.assertEqual(status, 200, body)
        status, body = cluster.http_get(1, "/readyz")
        self.assertEqual(status, 200, body)
        self.assertIn("ready", body)
        for path in ("/nope", "/ws/extra", "/metrics/x", "/../../etc/passwd"):
            status, body = cluster.http_get(1, path)
            self.assertEqual(status, 404, path)

        status, before_text = cluster.http_get(1, "/metrics")
        self.assertEqual(status, 200)
        before = requests_total(before_text)

        async def body_():
            c = await Client.open(cluster.uri(1))
            for _ in range(3):
                await c.ok("counter.add", ns="http", key="k", by=1)
            for _ in range(2):
                await c.ok("get", ns="http", key="k")
            await c.call("frobnicate")
            await c.call("get", ns="http", key="k", surprise=1)
            await c.send_raw("not json")
            w = await c.ok("watch", ns="http")
            await c.ok("unwatch", watch=w["watch"])
            await c.call("unwatch", watch=999)
            await c.close()
        run(body_())

        status, text = cluster.http_get(1, "/metrics")
        self.assertEqual(status, 200)
        for name in ("neuroplex_role", "neuroplex_term", "neuroplex_commit_index"):
            self.assertTrue(metric_values(text, name), f"{name} missing from /metrics")
        role = metric_values(text, "neuroplex_role")
        self.assertEqual(role.get('{role="leader"}'), 1.0, role)
        self.assertGreaterEqual(list(metric_values(text, "neuroplex_term").values())[0], 1)
        after = requests_total(text)
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        delta = {k: v for k, v in delta.items() if v}
        self.assertEqual(delta, {
            ("ws", "counter.add", "OK"): 3,
            ("ws", "get", "OK"): 2,
            ("ws", "unknown", "INVALID_ARGUMENT"): 2,
            ("ws", "get", "INVALID_ARGUMENT"): 1,
            ("ws", "watch", "OK"): 1,
            ("ws", "unwatch", "OK"): 1,
            ("ws", "unwatch", "NOT_FOUND"): 1,
        })

    def test_readyz_503_without_a_leader(self):
        lone = Cluster(3)
        try:
            lone.start(1)  # its peers never start: no leader can be elected
            time.sleep(0.5)
            status, body = lone.http_get(1, "/readyz")
            self.assertEqual(status, 503, body)
            self.assertIn("no leader", body)
            self.assertEqual(lone.http_get(1, "/healthz")[0], 200)
            status, text = lone.http_get(1, "/metrics")
            self.assertEqual(status, 200)
            self.assertNotEqual(metric_values(text, "neuroplex_role").get('{role="leader"}'), 1.0)
        finally:
            lone.destroy()
        self.assertEqual(lone.unclean, [])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neuroplexd", required=True, help="the neuroplexd binary")
    args, rest = parser.parse_known_args()
    global NEUROPLEXD  # pylint: disable=global-statement
    NEUROPLEXD = os.path.abspath(args.neuroplexd)
    if not os.access(NEUROPLEXD, os.X_OK):
        sys.exit(f"not an executable: {NEUROPLEXD}")
    unittest.main(argv=[sys.argv[0], "-v"] + rest)


if __name__ == "__main__":
    main()
