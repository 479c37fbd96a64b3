"""Every operation of the WebSocket/JSON protocol on a one-node cluster, as a client sees it:
counter.add, register.set, set.add/remove, update with nested map paths, request_id
deduplication, delete, list (prefix, after, limit, next), merge, watch/unwatch, cluster.status,
cluster.snapshot, cluster.transfer, cluster.add/remove, and replies matched to requests by id.
"""

import asyncio
import base64
import json

from ws_test_support import ERROR_CODES, Client, ClusterTest, connect, run


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

    def test_more_requests_than_the_in_flight_limit_all_get_replies(self):
        """A connection with more requests outstanding than the server takes at once (256) is
        paused, not dropped: every request still gets its reply."""
        async def body():
            ws = await connect(self.cluster.uri(1))
            count = 600
            for i in range(count):
                await ws.send(json.dumps({"id": i, "op": "counter.add", "ns": "ops",
                                          "key": f"burst{i % 7}", "by": 1}))
            ids = set()
            while len(ids) < count:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 20))
                self.assertTrue(reply["ok"], reply)
                ids.add(reply["id"])
            self.assertEqual(ids, set(range(count)))
            await ws.close()
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
