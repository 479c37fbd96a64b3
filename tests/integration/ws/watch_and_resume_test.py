"""Watches: events in commit order across leadership transfer and a killed leader (every
acknowledged write exactly once, none invented); start_index is exactly where a watch starts even
while writes apply; resuming with from_index after a reconnect sends the missed changes (deletes
included) and then live ones; after a restart a resumed watch is served by a resync that ends with
resync_end, so deletes made while the watcher was away still reach it.
"""

import asyncio
import time

from ws_test_support import Client, ClusterTest, run


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
                        # Paced: every write reaches up to 40 watches on one Python client,
                        # which must keep reading them (a watch reply queues behind them).
                        await asyncio.sleep(0.005)
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
