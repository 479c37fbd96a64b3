# The WebSocket/JSON protocol spoken by a real client over loopback (ws/run_ws_tests.py and the
# test modules beside it, Debian's python3-websockets): every op and error code, ids, frame limits,
# garbage on the port, watches across leader changes, resume, slow consumers, /healthz /readyz
# /metrics. The runner starts and kills its own neuroplexd processes. One ctest test per test class,
# so they fail (and may run) separately; `ctest -R ws_` runs them all. Nothing to add_dependencies
# on: the tests are no build targets, and neuroplexd is part of `all` (build it before running
# ctest). -B: the test modules are imported from the source tree; no __pycache__ there.
set(NEUROPLEX_WS_TESTS
  "ws_protocol_ops:OpsTest:60"
  "ws_protocol_errors:ErrorsTest:90"
  "ws_protocol_no_leader:NoLeaderTest:90"
  "ws_protocol_watch:WatchTest:120"
  "ws_protocol_resume:ResumeTest:60"
  "ws_protocol_large_catch_up:LargeCatchUpTest:90"
  "ws_protocol_slow_consumer:SlowConsumerTest:90"
  "ws_protocol_http:HttpTest:60"
  "ws_vector_ops:VectorOpsTest:60"
  "ws_vector_cluster:VectorClusterTest:180")
foreach(spec IN LISTS NEUROPLEX_WS_TESTS)
  string(REPLACE ":" ";" parts "${spec}")
  list(GET parts 0 name)
  list(GET parts 1 test_class)
  list(GET parts 2 timeout)
  add_test(NAME ${name}
           COMMAND /usr/bin/python3 -B ${CMAKE_CURRENT_SOURCE_DIR}/ws/run_ws_tests.py
                   --neuroplexd $<TARGET_FILE:neuroplexd> ${test_class})
  set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT ${timeout})
endforeach()
