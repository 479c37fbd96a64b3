// capnp_text(): a std::string as Cap'n Proto Text, with its size.
//
// Passing a std::string to a capnp setter converts it through c_str() and strlen, which cuts it
// at an embedded NUL — and U+0000 is valid UTF-8 in a key or field name. Every codec sets text
// through this helper instead.
#pragma once

#include <capnp/blob.h>

#include <string>

namespace neuroplex::crdt {

inline capnp::Text::Reader capnp_text(const std::string& value) {
  return capnp::Text::Reader(value.data(), value.size());
}

}  // namespace neuroplex::crdt
