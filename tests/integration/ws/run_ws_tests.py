#!/usr/bin/python3
"""Runs the WebSocket/JSON protocol conformance suite against real neuroplexd processes.

The protocol (DESIGN.md "WebSocket framing", api/web/json_protocol.cc, api/web/channel.cc) is
spoken by a real client over loopback.

Run:  /usr/bin/python3 tests/integration/ws/run_ws_tests.py --neuroplexd build/.../neuroplexd \
          [unittest names, e.g. OpsTest ErrorsTest.test_too_large_value_keeps_the_connection]
With no names, every class runs. ws.cmake registers one ctest test per class.

The tests live beside this script, grouped by subject:
  ops_test.py                  OpsTest: every operation
  errors_test.py               ErrorsTest: error codes, ids, frame limits, garbage on the port
  no_leader_and_http_test.py   NoLeaderTest, HttpTest: no leader; /healthz /readyz /metrics
  watch_and_resume_test.py     WatchTest, ResumeTest: event order, start_index, resume
  watch_flow_control_test.py   LargeCatchUpTest, SlowConsumerTest: catch-up, slow consumers
  vector_test.py               VectorOpsTest, VectorClusterTest: vector memories
and the harness they share in ws_test_support.py. Needs Debian's python3-websockets.
"""

import sys

# The test modules are imported from the source tree: leave no __pycache__ there.
sys.dont_write_bytecode = True

# pylint: disable=wrong-import-position,unused-import
import ws_test_support
from errors_test import ErrorsTest
from no_leader_and_http_test import HttpTest, NoLeaderTest
from ops_test import OpsTest
from watch_and_resume_test import ResumeTest, WatchTest
from vector_test import VectorClusterTest, VectorOpsTest
from watch_flow_control_test import LargeCatchUpTest, SlowConsumerTest

if __name__ == "__main__":
    ws_test_support.main(sys.modules[__name__], __doc__.splitlines()[0])
