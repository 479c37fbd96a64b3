// neuroplexctl: the Neuroplex admin CLI. `neuroplexctl --help` lists the verbs
// (tools/ctl/usage.cc); args.h has the grammar, verbs.h what each verb does, output.h what it
// prints.
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/ctl/args.h"
#include "tools/ctl/output.h"
#include "tools/ctl/verbs.h"

int main(int argc, char** argv) {
  using namespace neuroplex::ctl;  // NOLINT(google-build-using-namespace): main only
  std::vector<std::string> args(argv + 1, argv + argc);
  std::optional<std::string_view> env_endpoint;
  if (const char* value = std::getenv("NEUROPLEX_ENDPOINT")) env_endpoint = value;

  neuroplex::Result<Invocation> invocation = parse_args(args, env_endpoint);
  if (!invocation.is_ok()) {
    std::cerr << format_usage_error(invocation.status());
    return kExitUsage;
  }
  int status = run_invocation(*invocation, std::cout, std::cerr);
  std::cout.flush();
  return status;
}
