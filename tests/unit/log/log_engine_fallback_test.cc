// Where io_uring is unavailable (old kernels, container seccomp policies, io_uring_disabled), a
// log asked for the uring engine falls back to sync with a warning and works. The test makes
// io_uring unavailable for real: a forked child installs a seccomp filter that fails
// io_uring_setup with ENOSYS, then opens, appends to and reopens a log.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include "storage/log/log.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::wal {
namespace {

// Fails io_uring_setup with ENOSYS; allows every other system call.
bool deny_io_uring_setup() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// Runs in the child; the exit code says which check failed (0: all passed).
int open_append_reopen_without_io_uring(const std::string& dir) {
  if (!deny_io_uring_setup()) return 10;
  std::string warnings;
  LogOptions options;
  options.dir = dir;
  options.segment_bytes = 64 * 1024;
  options.engine = IoEngineKind::kUring;
  options.warn = [&](const std::string& line) { warnings += line + "\n"; };
  {
    auto log = Log::open(options);
    if (!log.is_ok()) return 11;
    if ((*log)->engine() != IoEngineKind::kSync) return 12;
    if (warnings.find("io_uring is unavailable") == std::string::npos) return 13;
    for (raft::Index i = 1; i <= 100; ++i) {
      raft::Entry entry{i, 1, raft::EntryType::kNormal, std::string(500, 'x')};
      if (!(*log)
               ->append_and_wait({{entry}, raft::HardState{1, 1, i}, std::nullopt, true})
               .is_ok()) {
        return 14;
      }
    }
  }
  auto reopened = Log::open(options);
  if (!reopened.is_ok() || (*reopened)->last_index() != 100) return 15;
  return 0;
}

TEST(LogEngineFallback, UringUnavailableFallsBackToSyncWithAWarning) {
  testing::TempDir dir;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(open_append_reopen_without_io_uring(dir.sub("log")));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died: " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: seccomp refused, 11: open failed, 12: not the sync engine, 13: no warning, "
         "14: append failed, 15: reopen lost entries";
}

}  // namespace
}  // namespace neuroplex::wal
