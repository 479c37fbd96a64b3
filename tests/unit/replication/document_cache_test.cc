#include "replication/document_cache.h"

#include <gtest/gtest.h>

namespace neuroplex::replication {
namespace {

crdt::Document counter(std::int64_t value) {
  crdt::Document document;
  EXPECT_TRUE(
      document.apply({{}, crdt::CrdtType::kCounter, crdt::CounterAdd{value}}, 1, 1).is_ok());
  return document;
}

TEST(DocumentCache, FindsWhatWasInsertedAndChangesInPlace) {
  DocumentCache cache(1 << 20);
  EXPECT_EQ(cache.find("a"), nullptr);
  DocumentCache::Entry* entry = cache.insert("a", counter(5), 40);
  ASSERT_NE(entry, nullptr);
  ASSERT_TRUE(
      entry->document.apply({{}, crdt::CrdtType::kCounter, crdt::CounterAdd{2}}, 1, 2).is_ok());
  DocumentCache::Entry* again = cache.find("a");
  ASSERT_EQ(again, entry);
  EXPECT_EQ(again->document.view(), 7);
  EXPECT_EQ(again->encoded_size, 40u);
}

TEST(DocumentCache, TrimEvictsLeastRecentlyUsedDownToCapacity) {
  // Each entry of encoded size 100 is charged 8 * 100 + 256 = 1056 bytes.
  DocumentCache cache(3 * 1056);
  for (const char* key : {"a", "b", "c", "d"}) cache.insert(key, counter(1), 100);
  EXPECT_EQ(cache.size(), 4u);          // no eviction before trim(): pointers stay valid
  ASSERT_NE(cache.find("a"), nullptr);  // "a" becomes the most recent; "b" the least
  cache.trim();
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("b"), nullptr);
  EXPECT_NE(cache.find("a"), nullptr);
  EXPECT_LE(cache.memory_bytes(), 3u * 1056);
}

TEST(DocumentCache, ResizeMovesTheChargeAndEmptyDocumentsStillCount) {
  DocumentCache cache(10'000);
  DocumentCache::Entry* entry = cache.insert("a", crdt::Document(), 0);
  EXPECT_EQ(cache.memory_bytes(), 256u);  // an absent key cached as empty still costs memory
  cache.resize(*entry, 1000);
  EXPECT_EQ(cache.memory_bytes(), 8256u);
  cache.insert("b", crdt::Document(), 500);
  cache.trim();
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find("a"), nullptr);  // the least recent went first
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.memory_bytes(), 0u);
}

}  // namespace
}  // namespace neuroplex::replication
