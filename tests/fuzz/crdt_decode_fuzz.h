// The CRDT decoder fuzz target (crdt_decode_fuzz.cc), shared by the libFuzzer binary and the
// always-built corpus replay test (crdt_decode_corpus_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>

// Decodes `data` as untrusted CRDT bytes and checks what must hold; aborts when a check fails.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
