// UTF-8 validation for names that appear in JSON (keys, field names).
#pragma once

#include <string_view>

namespace neuroplex {

// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace neuroplex
