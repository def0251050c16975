// Registry and policies: put/remove, persisted through a FileStore and reloaded, a stored
// policy overriding the config file's of that name, and the policy builder run on every change
// (files and backends too), its failure leaving everything as it was (nothing persisted).
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/file_store.h"
#include "registry/registry.h"
#include "tests/registry/fake_transport.h"

namespace portico::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

BackendTransportFactory Factory() {
  return [](const BackendConfig& backend) { return std::make_shared<FakeTransport>(backend); };
}

PolicyConfig Policy(const std::string& name, std::uint32_t max_concurrency) {
  PolicyConfig p;
  p.name = name;
  p.max_concurrency = max_concurrency;
  return p;
}

PolicyConfig Signed(const std::string& name, const std::string& secret) {
  PolicyConfig p;
  p.name = name;
  p.hmac.emplace().keys = {{"k1", secret}};
  return p;
}

BackendConfig Backend(const std::string& name, const std::string& service) {
  BackendConfig b;
  b.name = name;
  b.endpoints = {"127.0.0.1:1"};
  b.services = {service};
  return b;
}

// What the fake index remembers: the policies and route count it was compiled for.
class FakeIndex final : public PolicyIndex {
 public:
  FakeIndex(std::vector<std::string> names, std::size_t routes, std::size_t backends)
      : names(std::move(names)), routes(routes), backends(backends) {}
  std::vector<std::pair<std::string, std::string>> InForce(std::size_t) const override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& n : names) out.emplace_back("max_concurrency", n);
    return out;
  }
  const std::vector<std::string> names;
  const std::size_t routes;
  const std::size_t backends;
};

// A builder that counts its calls and fails, as a compile error would, for a policy named
// "uncompilable" or while `fail` is set.
struct FakeBuilder {
  int calls = 0;
  bool fail = false;

  PolicyIndexBuilder Get() {
    return [this](const Catalog& catalog, const BackendTable& backends,
                  const std::vector<PolicyConfig>& policies, const AggregateTable*)
               -> StatusOr<std::shared_ptr<const PolicyIndex>> {
      ++calls;
      if (fail) return InvalidArgument("the policies do not compile");
      std::vector<std::string> names;
      for (const auto& p : policies) {
        if (p.name == "uncompilable") {
          return InvalidArgument("policy \"" + p.name + "\": key \"ip.allow[0]\" is not a CIDR");
        }
        names.push_back(p.name);
      }
      return std::shared_ptr<const PolicyIndex>(std::make_shared<FakeIndex>(
          std::move(names), catalog.routes().size(), backends.by_name.size()));
    };
  }
};

const FakeIndex& Index(const Snapshot& snapshot) {
  return dynamic_cast<const FakeIndex&>(*snapshot.policies);
}

std::vector<std::string> Names(const Snapshot& snapshot) {
  std::vector<std::string> out;
  for (const auto& p : *snapshot.policy_configs) out.push_back(p.name);
  return out;
}

class RegistryPoliciesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 random{std::random_device{}()};
    dir_ =
        std::filesystem::temp_directory_path() / ("portico-policies-" + std::to_string(random()));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

TEST_F(RegistryPoliciesTest, WithoutABuilderSnapshotsCarryConfigsButNoIndex) {
  Registry registry(nullptr, Factory());
  EXPECT_EQ(registry.Current()->policies, nullptr);
  ASSERT_NE(registry.Current()->policy_configs, nullptr);
  ASSERT_TRUE(registry.Init({}, {}, {Policy("b", 2), Policy("a", 1)}).ok());
  auto snapshot = registry.Current();
  EXPECT_EQ(snapshot->policies, nullptr);
  EXPECT_THAT(Names(*snapshot), ElementsAre("a", "b"));  // sorted by name
  EXPECT_THAT(*snapshot->stored_policies, IsEmpty());
}

TEST_F(RegistryPoliciesTest, PutAndRemoveArePersistedAndReloaded) {
  {
    FileStore store(dir_);
    FakeBuilder builder;
    Registry registry(&store, Factory(), builder.Get());
    ASSERT_TRUE(registry.Init({}, {}, {}).ok());
    ASSERT_TRUE(registry.PutPolicy(Policy("limit", 5)).ok());
    ASSERT_TRUE(registry.PutPolicy(Signed("signed", "s3cret")).ok());
    ASSERT_TRUE(registry.PutPolicy(Policy("gone", 1)).ok());
    ASSERT_TRUE(registry.RemovePolicy("gone").ok());
    EXPECT_EQ(registry.RemovePolicy("gone").code(), Code::kNotFound);
    EXPECT_EQ(registry.PutPolicy(Policy("bad name", 1)).code(), Code::kInvalidArgument);
    auto snapshot = registry.Current();
    EXPECT_THAT(Names(*snapshot), ElementsAre("limit", "signed"));
    EXPECT_THAT(*snapshot->stored_policies, ElementsAre("limit", "signed"));
    EXPECT_THAT(Index(*snapshot).names, ElementsAre("limit", "signed"));
  }
  // The secret is kept (not redacted) in a file only the owner can read.
  const auto perms = std::filesystem::status(dir_ / FileStore::kPoliciesFile).permissions();
  EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  FileStore store(dir_);
  FakeBuilder builder;
  Registry registry(&store, Factory(), builder.Get());
  ASSERT_TRUE(registry.Init({}, {}, {}).ok());
  auto snapshot = registry.Current();
  ASSERT_THAT(Names(*snapshot), ElementsAre("limit", "signed"));
  EXPECT_EQ((*snapshot->policy_configs)[0], Policy("limit", 5));
  EXPECT_EQ((*snapshot->policy_configs)[1], Signed("signed", "s3cret"));
  EXPECT_EQ(builder.calls, 1);
}

TEST_F(RegistryPoliciesTest, StoredPolicyOverridesTheConfigsAndIsReported) {
  {
    FileStore store(dir_);
    Registry registry(&store, Factory());
    ASSERT_TRUE(registry.Init({}, {}).ok());
    ASSERT_TRUE(registry.PutPolicy(Policy("shared", 7)).ok());
    ASSERT_TRUE(registry.PutBackend(Backend("chat", "chat.v1.Chat")).ok());
  }
  FileStore store(dir_);
  Registry registry(&store, Factory());
  std::vector<std::string> overridden;
  ASSERT_TRUE(registry
                  .Init({}, {Backend("chat", "chat.v1.Chat")},
                        {Policy("shared", 1), Policy("mine", 2)}, &overridden)
                  .ok());
  EXPECT_THAT(overridden, ElementsAre("backend \"chat\"", "policy \"shared\""));
  auto snapshot = registry.Current();
  EXPECT_THAT(Names(*snapshot), ElementsAre("mine", "shared"));
  EXPECT_EQ((*snapshot->policy_configs)[1].max_concurrency, 7u);
  EXPECT_THAT(*snapshot->stored_policies, ElementsAre("shared"));

  // Removing a config file's policy lasts until the next start; the store is not touched.
  ASSERT_TRUE(registry.RemovePolicy("mine").ok());
  EXPECT_THAT(Names(*registry.Current()), ElementsAre("shared"));
  FileStore again(dir_);
  EXPECT_THAT(again.Load()->policies, ElementsAre(Policy("shared", 7)));
}

TEST_F(RegistryPoliciesTest, BuilderRunsOnEveryChange) {
  FakeBuilder builder;
  Registry registry(nullptr, Factory(), builder.Get());
  ASSERT_TRUE(registry.Init({}, {}, {Policy("p", 1)}).ok());
  EXPECT_EQ(builder.calls, 1);
  ASSERT_TRUE(registry.PutBackend(Backend("b", "hello.v1.Hello")).ok());
  EXPECT_EQ(builder.calls, 2);
  EXPECT_EQ(Index(*registry.Current()).backends, 1u);
  ASSERT_TRUE(registry
                  .RegisterSources({{"hello.proto", R"(syntax = "proto3";
package hello.v1;
import "google/api/annotations.proto";
message Req { string name = 1; }
service Hello {
  rpc Say(Req) returns (Req) { option (google.api.http) = { get: "/v1/say/{name}" }; }
}
)"}}).ok());
  EXPECT_EQ(builder.calls, 3);
  EXPECT_GT(Index(*registry.Current()).routes, 0u);  // compiled against the new catalog
  EXPECT_EQ(Index(*registry.Current()).routes, registry.Current()->catalog->routes().size());
  ASSERT_TRUE(registry.RemoveBackend("b").ok());
  EXPECT_EQ(builder.calls, 4);
  EXPECT_EQ(Index(*registry.Current()).backends, 0u);
}

TEST_F(RegistryPoliciesTest, BuilderFailureLeavesTheRegistryAndTheStoreUnchanged) {
  FileStore store(dir_);
  FakeBuilder builder;
  Registry registry(&store, Factory(), builder.Get());
  ASSERT_TRUE(registry.Init({}, {}, {}).ok());
  ASSERT_TRUE(registry.PutPolicy(Policy("ok", 1)).ok());
  const auto before = registry.Current();
  const StatusOr<StoredState> saved = store.Load();
  ASSERT_TRUE(saved.ok());

  Status s = registry.PutPolicy(Policy("uncompilable", 1));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("policy \"uncompilable\": key \"ip.allow[0]\""));
  EXPECT_EQ(registry.Current(), before);

  // A backend change fails too while the policies do not compile, and persists nothing.
  builder.fail = true;
  EXPECT_EQ(registry.PutBackend(Backend("b", "x.v1.X")).code(), Code::kInvalidArgument);
  EXPECT_EQ(registry.RemovePolicy("ok").code(), Code::kInvalidArgument);
  EXPECT_EQ(registry.Current(), before);
  const StatusOr<StoredState> after = store.Load();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->policies, saved->policies);
  EXPECT_TRUE(after->backends.empty());

  builder.fail = false;
  ASSERT_TRUE(registry.RemovePolicy("ok").ok());
  EXPECT_THAT(Names(*registry.Current()), IsEmpty());
  EXPECT_THAT(store.Load()->policies, IsEmpty());
}

}  // namespace
}  // namespace portico::registry
