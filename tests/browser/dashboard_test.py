#!/usr/bin/python3
"""The built-in dashboard in a real browser.

Starts one neuroplexd (a single-node cluster on free loopback ports, data in a temp dir), opens
http://127.0.0.1:<ws port>/ in headless Chromium, drives Chromium over the DevTools protocol, and
checks that the dashboard shows the node as leader in its members table; that its watch view of
namespace "demo" shows a key written before the page opened and follows later writes and a
delete; that switching the view to another namespace unwatches the old one; that the operations
chart gets rates from /metrics; and that nothing was logged as an error. Leaves a screenshot.

Needs /usr/bin/chromium and python3-websockets (Debian: apt-get install chromium
python3-websockets). Run by hand after building neuroplexd:

    ninja -C build/<dir> neuroplexd
    /usr/bin/python3 tests/browser/dashboard_test.py \\
        --neuroplexd build/<dir>/tools/neuroplexd --screenshot /tmp/dashboard.png

or through ctest: `ctest --test-dir build/<dir> -R dashboard_browser_test --output-on-failure`
(the screenshot is then build/<dir>/tests/browser/dashboard.png). --keep-going leaves the node
and the browser running after the checks (print their addresses, wait for Ctrl-C) so you can
open the dashboard yourself. Exit status 0: passed; 1: a check failed (the message says which).
"""

import argparse
import asyncio
import base64
import ctypes
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import websockets

CHROMIUM = "/usr/bin/chromium"
TEST_BUDGET_S = 30
# No proxy for loopback, whatever the environment says.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failure(Exception):
    """A check failed; the message says what was expected and what was seen."""


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """preexec_fn: the child gets SIGKILL if this script dies, even by SIGKILL (ctest timeout)."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setsid()  # its own process group, so Chromium's helpers are stopped with it


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


class Processes:
    """The processes this test started; stop_all() ends exactly those (and their groups)."""

    def __init__(self):
        self.started = []  # (name, Popen, log path)

    def start(self, name, argv, log_path):
        log(f"starting {name}: {' '.join(argv)}")
        with open(log_path, "wb") as out:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.started.append((name, proc, log_path))
        return proc

    def check_alive(self):
        for name, proc, log_path in self.started:
            if proc.poll() is not None:
                raise Failure(f"{name} exited with status {proc.returncode}; its log ends:\n"
                              + tail(log_path))

    def stop_all(self):
        for name, proc, _ in reversed(self.started):
            if proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # the group is the one die_with_parent made
            except ProcessLookupError:
                continue
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"{name} ignored SIGTERM; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # helpers left in the group, if any
            except ProcessLookupError:
                pass


class Cdp:
    """A minimal Chrome DevTools Protocol client over one browser WebSocket (flat sessions)."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)
        self.waiting = {}
        self.listeners = []  # callables(method, params) for every event
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self):
        try:
            async for text in self.ws:
                self._dispatch(json.loads(text))
        except websockets.ConnectionClosed:
            pass  # the browser went away; pending sends time out with a clear message

    def _dispatch(self, msg):
        if "id" in msg:
            future = self.waiting.pop(msg["id"], None)
            if future and not future.done():
                future.set_result(msg)
        else:
            for listener in self.listeners:
                listener(msg.get("method"), msg.get("params", {}))

    async def send(self, method, params=None, session=None):
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self.waiting[msg_id] = future
        await self.ws.send(json.dumps(msg))
        reply = await asyncio.wait_for(future, 10)
        if "error" in reply:
            raise Failure(f"DevTools {method} failed: {reply['error']}")
        return reply.get("result", {})


class Page:
    """The dashboard tab: evaluate JavaScript in it, collect its console errors."""

    def __init__(self, cdp, session):
        self.cdp = cdp
        self.session = session
        self.errors = []
        cdp.listeners.append(self._on_event)

    def _on_event(self, method, params):
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            self.errors.append(f"console.{params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exception = details.get("exception", {})
            self.errors.append("uncaught exception: "
                               + exception.get("description", details.get("text", "?")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log ({entry.get('source')}): {entry.get('text')} "
                               f"{entry.get('url', '')}".rstrip())

    async def send(self, method, params=None):
        return await self.cdp.send(method, params, self.session)

    async def evaluate(self, expression):
        result = await self.send("Runtime.evaluate",
                                 {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise Failure(f"evaluating {expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, what, expression, accept=bool, timeout_s=10, processes=None):
        """Evaluates `expression` until accept(value); fails naming `what` and the last value."""
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            try:
                value = await self.evaluate(expression)
            except Failure as e:  # e.g. mid-navigation: the context is gone, the element not yet
                value = f"(threw: {e})"
            else:
                if accept(value):
                    return value
            if processes:
                processes.check_alive()
            await asyncio.sleep(0.1)
        raise Failure(f"timed out after {timeout_s} s waiting for {what}; last seen: {value!r}")


async def node_request(ws, request):
    """Sends one request on the node's /ws and returns its result (skips watch messages)."""
    await ws.send(json.dumps(request))
    while True:
        reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if reply.get("id") == request["id"]:
            break
    if not reply.get("ok"):
        raise Failure(f"{request['op']} failed: {reply.get('error')}")
    return reply.get("result", {})


def wait_ready(url, processes, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        processes.check_alive()
        try:
            with HTTP.open(url, timeout=1) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as e:
            last = f"HTTP {e.code}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise Failure(f"{url} did not return 200 within {timeout_s} s (last: {last})")


def wait_devtools_url(log_path, processes, timeout_s=15):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        processes.check_alive()
        with open(log_path, errors="replace") as f:
            match = re.search(r"DevTools listening on (ws://\S+)", f.read())
        if match:
            return match.group(1)
        time.sleep(0.1)
    raise Failure(f"Chromium did not print its DevTools URL within {timeout_s} s; its log ends:\n"
                  + tail(log_path))


# The texts of one table row's cells, or null: members by id, watched keys by key.
MEMBER_ROW = """(() => {
  const tr = document.querySelector('#members tbody tr[data-id="1"]');
  return tr ? [...tr.cells].map((c) => c.textContent) : null; })()"""
WATCH_ROWS = """Object.fromEntries([...document.querySelectorAll('#watch-table tbody tr[data-key]')]
  .map((tr) => [tr.dataset.key, tr.cells[1].textContent]))"""


async def run(args, processes, tmp, step):
    ws_port, raft_port = free_port(), free_port()
    node_log = os.path.join(tmp, "neuroplexd.log")
    step[0] = "starting neuroplexd"
    processes.start("neuroplexd", [args.neuroplexd, "--listen", f"127.0.0.1:{raft_port}",
                                   "--ws-listen", f"127.0.0.1:{ws_port}",
                                   "--data-dir", os.path.join(tmp, "data")], node_log)
    base = f"http://127.0.0.1:{ws_port}"
    wait_ready(base + "/readyz", processes)
    log(f"neuroplexd ready at {base}")

    step[0] = "starting Chromium"
    browser_log = os.path.join(tmp, "chromium.log")
    processes.start("chromium", [
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-port=0",
        f"--user-data-dir={os.path.join(tmp, 'chromium-profile')}", "--no-first-run",
        "--no-default-browser-check", "--no-proxy-server", "--disable-background-networking",
        "--disable-component-update", "--disable-dev-shm-usage", "--hide-scrollbars",
        "--window-size=1280,1000", "about:blank"], browser_log)
    devtools_url = wait_devtools_url(browser_log, processes)
    log(f"DevTools at {devtools_url}")

    async with websockets.connect(devtools_url, max_size=None, ping_interval=None) as browser_ws:
        cdp = Cdp(browser_ws)
        targets = (await cdp.send("Target.getTargets"))["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        if not pages:
            raise Failure(f"Chromium has no page target: {targets}")
        session = (await cdp.send("Target.attachToTarget",
                                  {"targetId": pages[0]["targetId"], "flatten": True}))["sessionId"]
        page = Page(cdp, session)
        for domain in ("Runtime", "Log", "Page"):
            await page.send(f"{domain}.enable")
        await page.send("Emulation.setDeviceMetricsOverride",
                        {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        try:
            await check_dashboard(args, processes, page, base, ws_port, step)
        finally:
            if page.errors:
                log("page errors so far:\n  " + "\n  ".join(page.errors))
            if args.screenshot:
                await save_screenshot(page, args.screenshot)
        if args.keep_going:
            log(f"checks done; dashboard at {base}/ — Ctrl-C to stop")
            await asyncio.Event().wait()


async def check_dashboard(args, processes, page, base, ws_port, step):
    async with websockets.connect(f"ws://127.0.0.1:{ws_port}/ws", max_size=None) as ws:
        ids = itertools.count(1)

        async def write(op, ns, key, **fields):
            request = {"id": next(ids), "op": op, "ns": ns, "key": key, **fields}
            return await node_request(ws, request)

        step[0] = "writing before the dashboard opens"
        await write("register.set", "demo", "before", value="written first")
        await write("register.set", "other", "k9", value="not in demo")
        await check_page(processes, page, base, step)

        step[0] = "writing to the node over its WebSocket"
        await write("register.set", "demo", "k1", value={"a": 1})
        await write("register.set", "demo", "k2", value="deleted soon")
        await write("delete", "demo", "k2")
        for _ in range(3):
            await write("counter.add", "demo", "hits", by=1)
        result = await write("register.set", "demo", "k3", value=[1, "two", None])
        log("wrote demo/k1, demo/k2 (then deleted it), demo/hits (3 adds), demo/k3 "
            f"(last index {result.get('index')})")

        step[0] = "checking the watch view"
        # k3 is the last write, so once it shows, every earlier event has been applied.
        expected = {"before": '"written first"', "k1": '{"a":1}', "hits": "3",
                    "k3": '[1,"two",null]'}
        rows = await page.wait_for(f"the watch view of 'demo' to read {expected}", WATCH_ROWS,
                                   lambda v: v and "k3" in v, processes=processes)
        log(f"watch view rows: {rows}")
        if rows != expected:
            raise Failure(f"the watch view of 'demo' should read {expected}; it reads {rows}")

    step[0] = "switching the watch to namespace other and back"
    await page.evaluate("document.getElementById('watch-ns').value = 'other';"
                        "document.getElementById('watch-button').click()")
    rows = await page.wait_for("the watch view of 'other' to read only k9", WATCH_ROWS,
                               lambda v: v == {"k9": '"not in demo"'}, processes=processes)
    log(f"watch view of 'other': {rows}")
    # And back (the screenshot shows demo): a new watch shows the namespace's whole contents.
    await page.evaluate("document.getElementById('watch-ns').value = 'demo';"
                        "document.getElementById('watch-button').click()")
    rows = await page.wait_for(f"the watch view of 'demo' to read {expected} again", WATCH_ROWS,
                               lambda v: v == expected, processes=processes)
    metrics = HTTP.open(base + "/metrics", timeout=5).read().decode()
    unwatches = sum(float(m.group(1)) for m in re.finditer(
        r'^neuroplex_requests_total\{[^}]*op="unwatch"[^}]*result="OK"[^}]*\} (\S+)$', metrics,
        re.MULTILINE))
    if unwatches != 2:
        raise Failure(f"two namespace switches should send two unwatch requests; /metrics counts "
                      f"{unwatches:g} (neuroplex_requests_total{{op=\"unwatch\",result=\"OK\"}})")

    step[0] = "checking the operations chart"
    rate = await page.wait_for("rates of applied ops and requests in the chart legend",
                               "['rate-applied', 'rate-requests'].map((id) => "
                               "document.getElementById(id).textContent)",
                               lambda v: "—" not in v and "" not in v, processes=processes)
    notice = await page.evaluate("document.getElementById('metrics-error').hidden ? '' : "
                                 "document.getElementById('metrics-error').textContent")
    if notice:
        raise Failure(f"the chart reports a /metrics problem: {notice}")
    log(f"applied ops/s, requests/s shown: {rate}")

    step[0] = "checking for console errors"
    await asyncio.sleep(0.5)  # a late error from the last updates still counts
    if page.errors:
        raise Failure("the dashboard logged errors:\n  " + "\n  ".join(page.errors))


async def check_page(processes, page, base, step):
    """Loads the dashboard, checks the members table, starts watching namespace demo."""
    step[0] = "loading the dashboard"
    await page.send("Page.navigate", {"url": base + "/"})
    await page.wait_for("the page to load", "[location.href, document.readyState]",
                        lambda v: v == [base + "/", "complete"], processes=processes)
    await page.wait_for("the connection state 'connected'", "document.getElementById('conn')"
                        ".textContent", lambda v: v == "connected", processes=processes)

    step[0] = "checking the members table"
    cells = await page.wait_for("member 1 as leader in the members table", MEMBER_ROW,
                                lambda v: v and v[2] == "leader", processes=processes)
    log(f"members table row: {cells}")
    if cells[0] != "1" or cells[3] != "yes":
        raise Failure(f"member 1's row should read id 1, voter yes; it reads {cells}")
    role = await page.wait_for("this node's role 'leader'",
                               "document.getElementById('node-role').textContent",
                               lambda v: v == "leader", processes=processes)
    log(f"this node's role: {role}")

    step[0] = "starting the watch of namespace demo"
    await page.evaluate("document.getElementById('watch-ns').value = 'demo';"
                        "document.getElementById('watch-button').click()")
    state = await page.wait_for("the watch to start", "document.getElementById('watch-state')"
                                ".textContent", lambda v: v.startswith("Watching"),
                                processes=processes)
    log(f"watch state: {state}")


async def save_screenshot(page, path):
    try:
        shot = await page.send("Page.captureScreenshot", {"format": "png"})
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        log(f"screenshot saved to {path}")
    except Exception as e:  # the screenshot is a courtesy; never hide the real outcome
        log(f"could not save the screenshot: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--neuroplexd", required=True, help="path to the neuroplexd binary")
    parser.add_argument("--screenshot", default=os.path.join(os.getcwd(), "dashboard.png"),
                        help="where to save a PNG of the dashboard (default ./dashboard.png)")
    parser.add_argument("--keep-going", action="store_true",
                        help="after the checks, keep the node and browser up until Ctrl-C")
    args = parser.parse_args()
    for path in (args.neuroplexd, CHROMIUM):
        if not os.access(path, os.X_OK):
            print(f"FAIL: {path} is not an executable", file=sys.stderr)
            return 1

    # SIGTERM (ctest, a person) ends the run through the same cleanup as a failure.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    processes = Processes()
    step = ["starting"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="neuroplex-dashboard-") as tmp:
        try:
            budget = None if args.keep_going else TEST_BUDGET_S
            asyncio.run(asyncio.wait_for(run(args, processes, tmp, step), budget))
        except (Failure, asyncio.TimeoutError, OSError, websockets.WebSocketException) as e:
            what = (f"the test took over {TEST_BUDGET_S} s"
                    if isinstance(e, asyncio.TimeoutError) else f"{type(e).__name__}: {e}")
            print(f"FAIL while {step[0]}: {what}", file=sys.stderr)
            print(f"neuroplexd log ends:\n{tail(os.path.join(tmp, 'neuroplexd.log'), 15)}",
                  file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        finally:
            processes.stop_all()
    log(f"PASS in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
