"""Errors that need a cluster, and the HTTP side of the web front.

NoLeaderTest: with no leader, or with the majority down, writes and linearizable reads fail with
NOT_LEADER / UNAVAILABLE within seconds instead of hanging; a write through a follower works again
once a new leader is elected. HttpTest: /healthz, /readyz (503 without a leader), /metrics (role,
term, commit index, per-op request counts) and 404 for unknown paths.
"""

import asyncio
import time

from ws_test_support import Client, Cluster, ClusterTest, metric_values, requests_total, run


# ---------------------------------------------------------------------------------------------
# No leader: NOT_LEADER / UNAVAILABLE, and /readyz 503
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

