#include "api/buffered_stream.h"

#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <string>

namespace neuroplex::api {
namespace {

std::string pattern(std::size_t size, char seed) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(seed + i * 7);
  return bytes;
}

// Reads exactly `size` bytes from `stream`.
std::string read_exactly(kj::AsyncIoStream& stream, std::size_t size, kj::WaitScope& wait) {
  std::string bytes(size, '\0');
  std::size_t got = stream.tryRead(bytes.data(), size, size).wait(wait);
  bytes.resize(got);
  return bytes;
}

TEST(BufferedStream, ManySmallWritesArriveWholeAndInOrder) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();
  BufferedStream writer(kj::mv(pipe.ends[0]));
  std::string expected;
  for (int i = 0; i < 1000; ++i) {
    std::string piece = pattern(1 + i % 97, static_cast<char>(i));
    expected += piece;
    writer.write(piece.data(), piece.size()).wait(io.waitScope);  // returns before the flush
  }
  EXPECT_EQ(read_exactly(*pipe.ends[1], expected.size(), io.waitScope), expected);
}

TEST(BufferedStream, ReadsServeSmallAndLargeRequestsFromOneStream) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();
  BufferedStream reader(kj::mv(pipe.ends[1]));
  const std::string small = pattern(10, 'a');
  const std::string large = pattern(BufferedStream::kReadBufferBytes * 3 + 5, 'b');
  auto writes = pipe.ends[0]->write(small.data(), small.size()).then([&] {
    return pipe.ends[0]->write(large.data(), large.size());
  });
  EXPECT_EQ(read_exactly(reader, 4, io.waitScope), small.substr(0, 4));
  EXPECT_EQ(read_exactly(reader, 6, io.waitScope), small.substr(4));
  EXPECT_EQ(read_exactly(reader, large.size(), io.waitScope), large);
  writes.wait(io.waitScope);
}

TEST(BufferedStream, ShutdownWriteWaitsForPendingBytesThenEndsTheStream) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();
  BufferedStream writer(kj::mv(pipe.ends[0]));
  const std::string bytes = pattern(5000, 'x');
  writer.write(bytes.data(), bytes.size()).wait(io.waitScope);
  writer.shutdownWrite();
  EXPECT_EQ(read_exactly(*pipe.ends[1], bytes.size(), io.waitScope), bytes);
  char extra;
  EXPECT_EQ(pipe.ends[1]->tryRead(&extra, 1, 1).wait(io.waitScope), 0u);  // end of stream
}

TEST(BufferedStream, AFailedWriteFailsTheWritesAfterIt) {
  auto io = kj::setupAsyncIo();
  auto pipe = io.provider->newTwoWayPipe();
  BufferedStream writer(kj::mv(pipe.ends[0]));
  pipe.ends[1] = nullptr;  // the peer goes away
  const std::string bytes = pattern(100, 'y');
  // The first writes are accepted into the buffer; once a flush has failed, every write throws.
  bool failed = false;
  for (int attempt = 0; attempt < 100 && !failed; ++attempt) {
    try {
      writer.write(bytes.data(), bytes.size()).wait(io.waitScope);
      io.provider->getTimer().afterDelay(1 * kj::MILLISECONDS).wait(io.waitScope);
    } catch (const kj::Exception&) {
      failed = true;
    }
  }
  EXPECT_TRUE(failed);
  EXPECT_ANY_THROW(writer.write(bytes.data(), bytes.size()).wait(io.waitScope));
}

}  // namespace
}  // namespace neuroplex::api
