# Real neuroplexd clusters on loopback (cluster_harness.h starts, kills and restarts the
# processes): writes through any node, concurrent clients, leader failover, snapshot catch-up,
# membership changes through neuroplexctl, garbage on the Cap'n Proto port, and vector memories.
neuroplex_add_test(NAME cluster_test LABEL integration
  SOURCES
    cluster_harness.cc
    cluster_writes_test.cc
    cluster_failover_test.cc
    cluster_membership_test.cc
    cluster_garbage_test.cc
    cluster_vector_test.cc
    cluster_watch_test.cc
  LIBS neuroplex::client neuroplex::api_schema)
target_compile_definitions(cluster_test PRIVATE
  NEUROPLEX_NEUROPLEXD="$<TARGET_FILE:neuroplexd>"
  NEUROPLEX_NEUROPLEXCTL="$<TARGET_FILE:neuroplexctl>")
add_dependencies(cluster_test neuroplexd neuroplexctl)
