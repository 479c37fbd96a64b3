# kill -9 while receiving and installing snapshots (docs/snapshots.md, "Crash safety").
add_executable(snapshot_crash_worker snapshot_crash_worker.cc)
target_link_libraries(snapshot_crash_worker PRIVATE neuroplex::snapshot neuroplex::options)

neuroplex_add_test(NAME snapshot_crash_test LABEL integration
  SOURCES snapshot_crash_test.cc
  LIBS neuroplex::snapshot)
target_compile_definitions(snapshot_crash_test PRIVATE
  NEUROPLEX_SNAPSHOT_CRASH_WORKER="$<TARGET_FILE:snapshot_crash_worker>")
add_dependencies(snapshot_crash_test snapshot_crash_worker)
