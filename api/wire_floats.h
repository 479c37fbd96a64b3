// float32 vectors to and from Cap'n Proto List(Float32), shared by the client library, the
// server's calls and the follower's forwarder.
#pragma once

#include <capnp/list.h>

#include <vector>

namespace neuroplex::api {

inline std::vector<float> floats_from_wire(capnp::List<float>::Reader list) {
  std::vector<float> out;
  out.reserve(list.size());
  for (float x : list) out.push_back(x);
  return out;
}

// `out` was initialized with v.size() elements.
inline void floats_to_wire(capnp::List<float>::Builder out, const std::vector<float>& v) {
  for (unsigned i = 0; i < v.size(); ++i) out.set(i, v[i]);
}

}  // namespace neuroplex::api
