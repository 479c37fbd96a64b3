# ---- neuroplex::sim: the deterministic cluster simulator (included from tests/sim/CMakeLists.txt) ----
# One thread, a simulated clock, network and disks around the real Raft core; see sim_cluster.h.
add_library(neuroplex_sim STATIC
  ${CMAKE_CURRENT_LIST_DIR}/kv_machine.cc
  ${CMAKE_CURRENT_LIST_DIR}/nemesis.cc
  ${CMAKE_CURRENT_LIST_DIR}/regressions.cc
  ${CMAKE_CURRENT_LIST_DIR}/safety_checker.cc
  ${CMAKE_CURRENT_LIST_DIR}/scenarios.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_bench.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_clients.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_cluster.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_disk.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_network.cc
  ${CMAKE_CURRENT_LIST_DIR}/sim_node.cc
)
add_library(neuroplex::sim ALIAS neuroplex_sim)
target_link_libraries(neuroplex_sim PUBLIC neuroplex::raft neuroplex::sim_check neuroplex::options)

# ---- sim_test: every scenario over a batch of seeds (ctest label `sim`) ----
neuroplex_add_test(NAME sim_test LABEL sim SOURCES sim_test.cc LIBS neuroplex::sim)

# ---- soak: 2,000 seeds per scenario (54,000 runs, ~6-7 h in the ASan build), starting where the
# default batch does not ----
add_test(NAME soak_sim COMMAND sim_test)
set_tests_properties(soak_sim PROPERTIES LABELS soak TIMEOUT 43200
                     ENVIRONMENT "NEUROPLEX_SIM_SEEDS=2000;NEUROPLEX_SIM_FIRST_SEED=1000000")
