// SearchPool: worker threads for vector searches, so a long filtered scan never stalls the core
// thread (apply, heartbeats, elections). The core prepares a search and reads the hits' rows
// itself; only the walk over the in-memory index runs here (replication/vector_reader.h).
//
// Thread safety: submit() from any thread. The destructor finishes the jobs already taken and
// drops the rest.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace neuroplex::node {

class SearchPool {
 public:
  explicit SearchPool(std::size_t threads);
  ~SearchPool();
  SearchPool(const SearchPool&) = delete;
  SearchPool& operator=(const SearchPool&) = delete;

  void submit(std::function<void()> job);
  // Returns once every job submitted before has finished (the caller must not submit meanwhile).
  void drain();

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
  std::size_t running_ = 0;                 // guarded by mutex_
  std::condition_variable idle_;
  std::vector<std::thread> threads_;
};

}  // namespace neuroplex::node
