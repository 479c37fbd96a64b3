// Base64 (RFC 4648, standard alphabet, padded) for the binary fields of the JSON protocol: a
// merge delta travels as base64 text. Decoding untrusted text never throws: bad characters,
// bad padding or a bad length are INVALID_ARGUMENT. Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace neuroplex::web {

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace neuroplex::web
