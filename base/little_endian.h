// Little-endian fixed-width integers for the on-disk and wire encodings Neuroplex writes by hand
// (Raft log records, snapshot manifests and chunks, membership): append to a byte string, store
// into or load from bytes the caller has sized, and take from the front of untrusted input with
// a length check first.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace neuroplex {

template <typename T>
void store_le(char* out, T value) {
  static_assert(std::is_unsigned_v<T>);
  for (std::size_t i = 0; i < sizeof(T); ++i) out[i] = static_cast<char>(value >> (8 * i));
}

template <typename T>
void put_le(std::string& out, T value) {
  char bytes[sizeof(T)];
  store_le(bytes, value);
  out.append(bytes, sizeof(T));
}

template <typename T>
T load_le(const char* in) {
  static_assert(std::is_unsigned_v<T>);
  T value = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) {
    value = static_cast<T>(value | (static_cast<T>(static_cast<unsigned char>(in[i])) << (8 * i)));
  }
  return value;
}

// Reads a T from the front of `in` and drops it; false (and `in` unchanged) when too short.
template <typename T>
bool take_le(std::string_view& in, T& value) {
  if (in.size() < sizeof(T)) return false;
  value = load_le<T>(in.data());
  in.remove_prefix(sizeof(T));
  return true;
}

// Takes `size` bytes from the front of `in`; false (and `in` unchanged) when too short.
inline bool take_bytes(std::string_view& in, std::size_t size, std::string_view& out) {
  if (in.size() < size) return false;
  out = in.substr(0, size);
  in.remove_prefix(size);
  return true;
}

}  // namespace neuroplex
