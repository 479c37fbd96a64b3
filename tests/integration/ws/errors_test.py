"""Error replies of the WebSocket/JSON protocol on a one-node cluster: INVALID_ARGUMENT for every
malformed request (bad JSON, unknown ops and fields, wrong types, bad namespaces and keys, deep
nesting), TYPE_MISMATCH, TOO_LARGE, NOT_FOUND; ids echoed; frames over the limit closed with
1009; binary frames; garbage on the port. After each error the connection (or at least the node)
still works and nothing changed.
"""

import asyncio
import json
import os
import socket

import websockets.exceptions

from ws_test_support import Client, ClusterTest, run


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
            # Refused before it is parsed into values, yet its id is read and echoed.
            self.assertEqual(reply["id"], 77)
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
