// Registry and aggregates: put/remove, persisted through a FileStore and reloaded, a stored
// aggregate overriding the config file's of that name (reported), and every snapshot carrying
// them sorted by name.
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/descriptor_compiler.h"
#include "registry/file_store.h"
#include "registry/registry.h"
#include "tests/registry/fake_transport.h"
#include "tests/support/gateway_fixture.h"

namespace portico::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

BackendTransportFactory Factory() {
  return [](const BackendConfig& backend) { return std::make_shared<FakeTransport>(backend); };
}

// The test protos, as the config file would give them: every aggregate below calls one of
// their methods, which each snapshot's plans are checked against.
FileList TestFiles() {
  auto files = ParseDescriptorSet(portico::testing::TestDescriptorSetBytes());
  EXPECT_TRUE(files.ok()) << files.status().message();
  return files.ok() ? *files : FileList{};
}

AggregateConfig Aggregate(const std::string& name, const std::string& path) {
  AggregateConfig a;
  a.name = name;
  a.path = path;
  a.calls.resize(1);
  a.calls[0].name = "user";
  a.calls[0].method = "portico.test.v1.TestService/Echo";
  a.calls[0].request = {{"f_string", "{user_id}"}};  // a path variable or query parameter
  return a;
}

std::vector<std::string> Names(const Snapshot& snapshot) {
  std::vector<std::string> out;
  for (const auto& a : *snapshot.aggregate_configs) out.push_back(a.name);
  return out;
}

class RegistryAggregatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 random{std::random_device{}()};
    dir_ = std::filesystem::temp_directory_path() /
           ("portico-aggregates-" + std::to_string(random()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(RegistryAggregatesTest, EverySnapshotCarriesThemSortedByName) {
  Registry registry(nullptr, Factory());
  ASSERT_NE(registry.Current()->aggregate_configs, nullptr);
  ASSERT_NE(registry.Current()->stored_aggregates, nullptr);
  ASSERT_TRUE(
      registry.Init(TestFiles(), {}, {}, {Aggregate("b", "/b"), Aggregate("a", "/a")}).ok());
  EXPECT_THAT(Names(*registry.Current()), ElementsAre("a", "b"));
  EXPECT_THAT(*registry.Current()->stored_aggregates, IsEmpty());
  // The old overloads still work and load no aggregates from the config.
  Registry old(nullptr, Factory());
  ASSERT_TRUE(old.Init({}, {}).ok());
  EXPECT_THAT(Names(*old.Current()), IsEmpty());
}

TEST_F(RegistryAggregatesTest, InvalidConfigAggregateFailsInit) {
  Registry registry(nullptr, Factory());
  Status s = registry.Init({}, {}, {}, {Aggregate("a", "no-slash")});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("aggregate \"a\": key \"route\""));
}

TEST_F(RegistryAggregatesTest, PutAndRemoveArePersistedAndReloaded) {
  {
    FileStore store(dir_);
    Registry registry(&store, Factory());
    ASSERT_TRUE(registry.Init(TestFiles(), {}, {}, {}).ok());
    ASSERT_TRUE(registry.PutAggregate(Aggregate("dashboard", "/v1/dashboard/{user_id}")).ok());
    ASSERT_TRUE(registry.PutAggregate(Aggregate("gone", "/gone")).ok());
    ASSERT_TRUE(registry.PutAggregate(Aggregate("other", "/other")).ok());
    ASSERT_TRUE(registry.RemoveAggregate("gone").ok());
    EXPECT_EQ(registry.RemoveAggregate("gone").code(), Code::kNotFound);
    const std::uint64_t generation = registry.Current()->generation;
    Status bad = registry.PutAggregate(Aggregate("bad", "x"));
    EXPECT_EQ(bad.code(), Code::kInvalidArgument);
    EXPECT_EQ(registry.Current()->generation, generation);  // nothing changed
    // Replacing by name.
    AggregateConfig replaced = Aggregate("other", "/other2");
    ASSERT_TRUE(registry.PutAggregate(replaced).ok());
    auto snapshot = registry.Current();
    EXPECT_THAT(Names(*snapshot), ElementsAre("dashboard", "other"));
    EXPECT_THAT(*snapshot->stored_aggregates, ElementsAre("dashboard", "other"));
    EXPECT_EQ((*snapshot->aggregate_configs)[1].path, "/other2");
  }
  FileStore store(dir_);
  Registry registry(&store, Factory());
  // The old overload loads the store's aggregates too.
  ASSERT_TRUE(registry.Init(TestFiles(), {}).ok());
  auto snapshot = registry.Current();
  ASSERT_THAT(Names(*snapshot), ElementsAre("dashboard", "other"));
  EXPECT_EQ((*snapshot->aggregate_configs)[0], Aggregate("dashboard", "/v1/dashboard/{user_id}"));
  EXPECT_EQ((*snapshot->aggregate_configs)[1], Aggregate("other", "/other2"));
}

TEST_F(RegistryAggregatesTest, StoredAggregateOverridesTheConfigsAndIsReported) {
  {
    FileStore store(dir_);
    Registry registry(&store, Factory());
    ASSERT_TRUE(registry.Init(TestFiles(), {}).ok());
    ASSERT_TRUE(registry.PutAggregate(Aggregate("shared", "/stored")).ok());
  }
  FileStore store(dir_);
  Registry registry(&store, Factory());
  std::vector<std::string> overridden;
  ASSERT_TRUE(registry
                  .Init(TestFiles(), {}, {},
                        {Aggregate("shared", "/config"), Aggregate("mine", "/mine")},
                        &overridden)
                  .ok());
  EXPECT_THAT(overridden, ElementsAre("aggregate \"shared\""));
  auto snapshot = registry.Current();
  EXPECT_THAT(Names(*snapshot), ElementsAre("mine", "shared"));
  EXPECT_EQ((*snapshot->aggregate_configs)[1].path, "/stored");
  EXPECT_THAT(*snapshot->stored_aggregates, ElementsAre("shared"));

  // Removing a config file's aggregate lasts until the next start; the store is not touched.
  ASSERT_TRUE(registry.RemoveAggregate("mine").ok());
  EXPECT_THAT(Names(*registry.Current()), ElementsAre("shared"));
  FileStore again(dir_);
  EXPECT_THAT(again.Load()->aggregates, ElementsAre(Aggregate("shared", "/stored")));
  // Other changes leave the aggregates (and aggregates.json) alone.
  ASSERT_TRUE(registry.RemoveAggregate("shared").ok());
  EXPECT_THAT(FileStore(dir_).Load()->aggregates, IsEmpty());
}

}  // namespace
}  // namespace portico::registry
