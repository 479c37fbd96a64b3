#include "node/data_dir.h"

#include <gtest/gtest.h>

#include "base/file_util.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::node {
namespace {

raft::Membership three_nodes() {
  return raft::Membership{
      {{1, true, "127.0.0.1:7400"}, {2, true, "127.0.0.1:7410"}, {3, true, "127.0.0.1:7420"}}};
}

TEST(DataDir, IdentityRoundTripsAndIsAbsentAtFirst) {
  testing::TempDir temp;
  DataDir dir{temp.sub("data")};
  ASSERT_TRUE(prepare_data_dir(dir).is_ok());
  Result<std::optional<Identity>> none = read_identity(dir);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(write_identity(dir, Identity{7, 12345678901234567890ull}).is_ok());
  Result<std::optional<Identity>> read = read_identity(dir);
  ASSERT_TRUE(read.is_ok());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->node, 7u);
  EXPECT_EQ((*read)->cluster, 12345678901234567890ull);
}

TEST(DataDir, GarbageIdentityIsAnErrorNotACrash) {
  testing::TempDir temp;
  DataDir dir{temp.sub("data")};
  ASSERT_TRUE(prepare_data_dir(dir).is_ok());
  ASSERT_TRUE(replace_file_durably(dir.identity(), "node x\ncluster y\n").is_ok());
  Result<std::optional<Identity>> read = read_identity(dir);
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kInternal);
}

TEST(DataDir, ClusterIdIsTheSameForEveryFounderAndDiffersBetweenClusters) {
  const raft::Membership founders = three_nodes();
  EXPECT_EQ(cluster_id_of(founders), cluster_id_of(three_nodes()));
  EXPECT_NE(cluster_id_of(founders), 0u);
  raft::Membership other = founders;
  other.members[2].address = "127.0.0.1:7421";
  EXPECT_NE(cluster_id_of(founders), cluster_id_of(other));
}

}  // namespace
}  // namespace neuroplex::node
