# kill -9 while appending to the Raft log (storage/log): log_crash_test forks log_crash_writer,
# kills it at random moments and checks what the log recovers after every kill.
add_executable(log_crash_writer log_crash_writer.cc)
target_link_libraries(log_crash_writer PRIVATE neuroplex::wal neuroplex::options)

neuroplex_add_test(NAME log_crash_test LABEL integration
  SOURCES log_crash_test.cc
  LIBS neuroplex::wal)
target_compile_definitions(log_crash_test PRIVATE
  NEUROPLEX_LOG_CRASH_WRITER="$<TARGET_FILE:log_crash_writer>")
add_dependencies(log_crash_test log_crash_writer)
