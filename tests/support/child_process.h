// Child processes for the crash tests: a writer or worker binary started with its stdout piped
// to the parent (which reads its reports), then killed with SIGKILL at a random moment.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace neuroplex::testing {

struct ChildProcess {
  pid_t pid = -1;
  int stdout_fd = -1;  // read end of the child's stdout; the caller closes it
};

// fork + exec of `program` with `args` (argv[0] is `program`); pid -1 when pipe or fork fails.
inline ChildProcess spawn_with_stdout_pipe(const std::string& program,
                                           const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return {};
  }
  return {pid, fds[0]};
}

}  // namespace neuroplex::testing
