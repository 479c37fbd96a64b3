"""Support for the WebSocket/JSON protocol conformance suite of neuroplexd (run_ws_tests.py): the
process and cluster harness, the asyncio client, metric and /proc helpers, the ClusterTest base
class, and the argument parsing that every run goes through.

Every test starts real neuroplexd processes (through a symlink named ws-test-node, so that a
`pkill neuroplexd` aimed at someone else's cluster does not hit them) on free ports with temporary
data directories, waits for /readyz, and kills every process it started on any exit: tearDown,
atexit, SIGTERM/SIGINT, and PR_SET_PDEATHSIG for when this interpreter is killed outright.
Importing this module installs the atexit and signal handlers.

Needs Debian's python3-websockets (the asyncio client); plain unittest.
"""

import argparse
import asyncio
import atexit
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

    def __init__(self, nodes=3, env=None, extra_args=()):
        self.env = env  # the nodes' environment (None: this process's)
        self.extra_args = list(extra_args)  # more neuroplexd flags for every node
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
        args += self.extra_args
        log_before = len(self.log(node))
        with open(self.log_path(node), "ab") as log:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       preexec_fn=_die_with_parent, close_fds=True, env=self.env)
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
    NODE_ENV = None  # extra environment variables for the nodes
    NODE_ARGS = ()  # extra neuroplexd flags for the nodes

    def setUp(self):
        env = None
        if self.NODE_ENV:
            env = dict(os.environ)
            for name, value in self.NODE_ENV.items():
                env[name] = env[name] + ":" + value if env.get(name) else value
        self.cluster = Cluster(self.NODES, env, self.NODE_ARGS)
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
# Arguments
# ---------------------------------------------------------------------------------------------

def main(test_module, description):
    """Parses `--neuroplexd PATH [unittest names]` and runs the named tests of `test_module`
    (all of them when none is named)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--neuroplexd", required=True, help="the neuroplexd binary")
    args, rest = parser.parse_known_args()
    global NEUROPLEXD  # pylint: disable=global-statement
    NEUROPLEXD = os.path.abspath(args.neuroplexd)
    if not os.access(NEUROPLEXD, os.X_OK):
        sys.exit(f"not an executable: {NEUROPLEXD}")
    unittest.main(module=test_module, argv=[sys.argv[0], "-v"] + rest)
