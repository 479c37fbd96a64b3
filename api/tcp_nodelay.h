// Disables Nagle's algorithm on a TCP stream. Every Neuroplex connection carries small
// request/response messages whose latency matters (a Raft append, its acknowledgement, a client
// write); with Nagle on, a small write waits for the peer's delayed ACK (up to 40 ms on Linux).
// Streams that are not TCP (e.g. Unix sockets in tests) are left alone.
#pragma once

#include <kj/async-io.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

namespace neuroplex::api {

inline void set_tcp_nodelay(kj::AsyncIoStream& stream) {
  int one = 1;
  try {
    stream.setsockopt(IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  } catch (const kj::Exception&) {
    // Not a TCP socket: nothing to tune.
  }
}

}  // namespace neuroplex::api
