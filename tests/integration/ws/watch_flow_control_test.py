"""Watches and flow control: a catch-up bigger than a connection's send queue streams at the
reader's pace (through history replay, and through a resync after a restart) without overflowing a
reader that keeps up; slow consumers that stop reading overflow (resume_from) while the node's
memory stays bounded, other clients stay served, and resuming converges to the current state.
"""

import asyncio
import json
import sys
import time

import websockets.exceptions

from ws_test_support import Client, ClusterTest, connect, metric_values, rss_bytes, run


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
    # RSS should show what the server holds, not what its allocator keeps for later: under
    # AddressSanitizer (scripts/test.sh) freed memory sits in a 256 MiB quarantine, and jemalloc
    # (release builds) keeps freed pages of each thread's arena for seconds. A small quarantine
    # and immediate purging make RSS track the server's own bounds; each setting is ignored by
    # the build it does not apply to.
    NODE_ENV = {"ASAN_OPTIONS": "quarantine_size_mb=16",
                "MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}

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
