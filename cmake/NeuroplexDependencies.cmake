# System dependencies, all from Debian packages (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(CapnProto CONFIG REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)

# Debian's librocksdb-dev ships no CMake package; its pkg-config file is authoritative.
pkg_check_modules(ROCKSDB REQUIRED IMPORTED_TARGET rocksdb)

if(NEUROPLEX_BUILD_TESTS OR NEUROPLEX_BUILD_BENCH)
  find_package(GTest REQUIRED)
endif()

# io_uring for the Raft log (storage/log); Debian's liburing-dev ships a pkg-config file.
pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing)

# jemalloc for the server binary only (decision 0007): the server allocates per request and per
# message across threads, where glibc malloc's arena locking and consolidation cost measurably.
# Not under sanitizers, which bring their own allocator.
if(NOT NEUROPLEX_SANITIZE)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
