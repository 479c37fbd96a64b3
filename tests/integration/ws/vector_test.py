"""Vector memories over the WebSocket protocol against real neuroplexd processes.

VectorOpsTest (one node): every collection and memory operation and its reply, each refusal with
its code (nothing stored), request_id retries that land once, expiry by the leader's clock.
VectorClusterTest (three nodes): writes through any node; every node's search gives the leader's
top-k; a clean restart loads the index files; a follower that fell behind installs a snapshot
carrying the index and answers the same; a killed leader loads its own snapshot's index file.
"""

import asyncio
import random
import re
import time

from ws_test_support import Client, ClusterTest, run

DIM = 16


def vectors(count, seed):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(count)]


class VectorOpsTest(ClusterTest):
    NODES = 1

    def test_collection_and_memory_operations(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            created = await c.ok("collection.create", name="notes", dim=3, metric="l2")
            self.assertEqual(set(created), {"index"})
            again = await c.ok("collection.create", name="notes", dim=3, metric="l2")
            self.assertGreater(again["index"], created["index"])  # identical: a no-op, still OK
            put = await c.ok("memory.put", collection="notes", vector=[1, 2, 3], text="hello",
                             metadata={"kind": "note", "n": 2})
            self.assertEqual(set(put), {"id", "index"})
            self.assertRegex(put["id"], r"^[0-9a-f]{32}$")
            named = await c.ok("memory.put", collection="notes", memory_id="b", vector=[3, 2, 1],
                               metadata={"kind": "todo"})
            self.assertEqual(named["id"], "b")
            got = await c.ok("memory.get", collection="notes", memory_id=put["id"])
            self.assertTrue(got["exists"])
            self.assertEqual(got["memory"], {"id": put["id"], "vector": [1.0, 2.0, 3.0],
                                             "text": "hello",
                                             "metadata": {"kind": "note", "n": 2}})
            hits = (await c.ok("memory.search", collection="notes", vector=[1, 2, 2], k=5))["hits"]
            self.assertEqual([h["id"] for h in hits], [put["id"], "b"])
            self.assertAlmostEqual(hits[0]["score"], 1.0, places=5)  # Euclidean distance
            self.assertLess(hits[0]["score"], hits[1]["score"])
            only = await c.ok("memory.search", collection="notes", vector=[1, 2, 2],
                              filter={"kind": "todo"})
            self.assertEqual([h["id"] for h in only["hits"]], ["b"])
            five = await c.ok("memory.search", collection="notes", vector=[1, 2, 2],
                              filter={"n": 2.0})  # 2 and 2.0 are the same JSON number
            self.assertEqual([h["id"] for h in five["hits"]], [put["id"]])
            for consistency in ("linearizable", "lease", "local"):
                r = await c.ok("memory.search", collection="notes", vector=[3, 2, 1], k=1,
                               ef=50, consistency=consistency)
                self.assertEqual([h["id"] for h in r["hits"]], ["b"], consistency)
            listed = await c.ok("collection.list")
            self.assertEqual(listed["collections"],
                             [{"name": "notes", "dim": 3, "metric": "l2", "count": 2}])
            await c.ok("memory.delete", collection="notes", memory_id="b")
            gone = await c.ok("memory.get", collection="notes", memory_id="b")
            self.assertEqual((gone["exists"], gone["memory"]), (False, None))
            await c.ok("collection.drop", name="notes")
            self.assertEqual((await c.ok("collection.list"))["collections"], [])
            await c.close()
        run(body())

    def test_bad_input_gets_a_code_and_stores_nothing(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("collection.create", name="c", dim=4, metric="cosine")
            v = [0.1, 0.2, 0.3, 0.4]
            refused = [
                ("NOT_FOUND", dict(op="memory.put", collection="nope", vector=v)),
                ("NOT_FOUND", dict(op="memory.search", collection="nope", vector=v)),
                ("NOT_FOUND", dict(op="memory.delete", collection="c", memory_id="never")),
                ("NOT_FOUND", dict(op="collection.drop", name="nope")),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=[1, 2])),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=[1, 2, 3, 1e39])),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=[1, "x", 3, 4])),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=[0, 0, 0, 0])),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=v,
                                          text="t" * 70000)),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=v,
                                          metadata={"nested": {"a": 1}})),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=v,
                                          metadata={f"f{i}": i for i in range(65)})),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=v, colour=1)),
                ("INVALID_ARGUMENT", dict(op="memory.put", collection="c", vector=v,
                                          ttl_seconds=-1)),
                ("INVALID_ARGUMENT", dict(op="memory.search", collection="c", vector=v, k=0)),
                ("INVALID_ARGUMENT", dict(op="memory.search", collection="c", vector=v, k=5000)),
                ("INVALID_ARGUMENT", dict(op="memory.search", collection="c", vector=v,
                                          filter={"a": [1]})),
                ("INVALID_ARGUMENT", dict(op="collection.create", name="c", dim=5)),
                ("INVALID_ARGUMENT", dict(op="collection.create", name="bad name", dim=5)),
                ("INVALID_ARGUMENT", dict(op="collection.create", name="d", dim=4097)),
                ("INVALID_ARGUMENT", dict(op="collection.create", name="d", dim=3,
                                          metric="hamming")),
            ]
            for code, request in refused:
                op = request.pop("op")
                self.assert_error(await c.call(op, **request), code)
            listed = await c.ok("collection.list")
            self.assertEqual(listed["collections"],
                             [{"name": "c", "dim": 4, "metric": "cosine", "count": 0}])
            await c.close()
        run(body())

    def test_a_retried_put_lands_once_under_one_generated_id(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("collection.create", name="c", dim=2)
            rid = {"client": 77, "seq": 1, "acked_below": 1}
            first = await c.ok("memory.put", collection="c", vector=[1, 0], request_id=rid)
            again = await c.ok("memory.put", collection="c", vector=[1, 0], request_id=rid)
            self.assertEqual(first, again)
            listed = await c.ok("collection.list")
            self.assertEqual(listed["collections"][0]["count"], 1)
            await c.close()
        run(body())

    def test_memories_expire_by_the_leaders_clock(self):
        async def body():
            c = await Client.open(self.cluster.uri(1))
            await c.ok("collection.create", name="c", dim=2)
            await c.ok("memory.put", collection="c", memory_id="brief", vector=[1, 0],
                       ttl_seconds=1)
            await c.ok("memory.put", collection="c", memory_id="lasting", vector=[1, 0.1])
            got = await c.ok("memory.get", collection="c", memory_id="brief")
            self.assertTrue(got["exists"])
            self.assertIn("expires_at_ms", got["memory"])
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                got = await c.ok("memory.get", collection="c", memory_id="brief")
                if not got["exists"]:
                    break
                await asyncio.sleep(0.2)
            self.assertFalse(got["exists"], "the memory did not expire")
            hits = (await c.ok("memory.search", collection="c", vector=[1, 0]))["hits"]
            self.assertEqual([h["id"] for h in hits], ["lasting"])
            # The leader's expire entry removes it from the index too (count falls to 1).
            while time.monotonic() < deadline:
                listed = await c.ok("collection.list")
                if listed["collections"][0]["count"] == 1:
                    break
                await asyncio.sleep(0.2)
            self.assertEqual(listed["collections"][0]["count"], 1)
            await c.close()
        run(body())


class VectorClusterTest(ClusterTest):
    NODES = 3
    # Small snapshots so that a follower that falls behind is sent one.
    NODE_ARGS = ("--snapshot-every", "200", "--snapshot-retain", "20")

    async def fill(self, count, seed, sequential=False, collection="mem"):
        """Puts `count` memories, round robin through every node (followers forward); all at
        once, or one after another (one log entry each)."""
        clients = [await Client.open(self.cluster.uri(n)) for n in self.cluster.running_ids()]
        data = vectors(count, seed)
        futures = []
        for i, v in enumerate(data):
            _, future = clients[i % len(clients)].submit(
                "memory.put", collection=collection, memory_id=f"{seed}-{i}", vector=v,
                text=f"memory {i}", metadata={"parity": i % 2, "seed": seed})
            if sequential:
                reply = await future
                self.assertTrue(reply["ok"], reply)
            else:
                futures.append(future)
        for reply in await asyncio.gather(*futures):
            self.assertTrue(reply["ok"], reply)
        for client in clients:
            await client.close()

    async def answers(self, node, queries, consistency="linearizable"):
        c = await Client.open(self.cluster.uri(node))
        out = []
        for q in queries:
            for flt in (None, {"parity": 1}):
                args = dict(collection="mem", vector=q, k=10, consistency=consistency)
                if flt:
                    args["filter"] = flt
                hits = (await c.ok("memory.search", **args))["hits"]
                out.append([(h["id"], round(h["score"], 5)) for h in hits])
        await c.close()
        return out

    def loaded_line(self, node):
        found = re.findall(r"vector indexes at index (\d+): (\d+) loaded from files \((\d+) of "
                           r"them caught up from the rows\), (\d+) rebuilt", self.cluster.log(node))
        return found[-1] if found else None

    def test_followers_serve_the_leaders_top_k_through_restarts_and_snapshots(self):
        async def body():
            leader = await self.leader_of()
            c = await Client.open(self.cluster.uri(leader))
            await c.ok("collection.create", name="mem", dim=DIM, metric="cosine")
            await c.close()
            await self.fill(300, seed=1)
            queries = vectors(8, seed=99)
            reference = await self.answers(leader, queries)
            self.assertTrue(all(len(a) > 0 for a in reference))
            for node in self.cluster.ids():
                self.assertEqual(await self.answers(node, queries), reference, f"node {node}")

            # A clean restart saves the index and loads it as it was.
            follower = next(n for n in self.cluster.ids() if n != leader)
            self.cluster.restart(follower)
            self.cluster.wait_ready()
            line = self.loaded_line(follower)
            self.assertIsNotNone(line, self.cluster.log(follower)[-2000:])
            self.assertEqual(line[1:], ("1", "0", "0"))  # loaded, nothing caught up or rebuilt
            self.assertEqual(await self.answers(follower, queries), reference)

            # A follower down while the log moves past a snapshot installs one, index included.
            other = next(n for n in self.cluster.ids() if n not in (leader, follower))
            self.cluster.kill(other)
            await self.fill(300, seed=2, sequential=True)  # 300 entries: past the log's retain
            c = await Client.open(self.cluster.uri(leader))
            snapshot = (await c.ok("cluster.snapshot"))["index"]
            await c.close()
            reference = await self.answers(leader, queries)
            self.cluster.start(other)
            self.cluster.wait_ready()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if await self.answers(other, queries) == reference:
                    break
                await asyncio.sleep(0.5)
            self.assertEqual(await self.answers(other, queries), reference)
            # Its last open was the installed snapshot's (at or past the leader's snapshot),
            # whose index file loaded as it was: not caught up, not rebuilt.
            line = self.loaded_line(other)
            self.assertIsNotNone(line, self.cluster.log(other)[-2000:])
            self.assertGreaterEqual(int(line[0]), snapshot, self.cluster.log(other)[-2000:])
            self.assertEqual(line[1:], ("1", "0", "0"))

            # The leader never stopped cleanly nor installed a snapshot: after a kill -9 its
            # index comes from its own latest snapshot's file, not from a rebuild.
            self.cluster.kill(leader)
            self.cluster.start(leader)
            self.cluster.wait_ready()
            line = self.loaded_line(leader)
            self.assertIsNotNone(line, self.cluster.log(leader)[-2000:])
            self.assertEqual((line[1], line[3]), ("1", "0"), self.cluster.log(leader)[-2000:])
            self.assertEqual(await self.answers(leader, queries), reference)
        run(body(), timeout=180)
