// neuroplexctl's collection and memory verbs: reading a vector from its argument, a file or
// stdin, calling the cluster, and printing what came back (a table, or one JSON object).
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "api/client/client.h"
#include "base/status.h"
#include "tools/ctl/args.h"

namespace neuroplex::ctl {

bool is_vector_verb(Verb verb);

// --vector: a JSON array, @FILE holding one, or - to read one from `in`.
Result<std::vector<float>> read_vector(const std::string& source, std::istream& in);

// Runs one of the vector verbs; `vector` is what read_vector gave (empty when none is needed).
int run_vector_verb(client::Client& client, const Invocation& invocation,
                    const std::vector<float>& vector, std::ostream& out, std::ostream& err);

}  // namespace neuroplex::ctl
