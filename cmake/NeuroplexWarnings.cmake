# neuroplex_options: the compile features and warnings every Neuroplex target links against.
add_library(neuroplex_options INTERFACE)
add_library(neuroplex::options ALIAS neuroplex_options)
target_compile_features(neuroplex_options INTERFACE cxx_std_20)
target_compile_options(neuroplex_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  # Designated initializers leave fields to their default member initializers on purpose.
  -Wno-missing-field-initializers
  # GCC 12 at -O2/-O3 reports std::string concatenation as overlapping memcpy (GCC PR 105651), a
  # false positive that otherwise breaks optimized -Werror builds of the tests.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_GREATER_EQUAL:$<CXX_COMPILER_VERSION>,12>>:-Wno-restrict>
  $<$<BOOL:${NEUROPLEX_WERROR}>:-Werror>)
# Includes are written from the repository root: #include "raft/log.h".
target_include_directories(neuroplex_options INTERFACE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
