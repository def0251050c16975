// The Registry over a shared, versioned store (cluster mode's contract, registry/store.h): two
// Registries on one store stand for two replicas. A lost compare-and-swap is applied again on the
// store's newer content; a racing write to the same entry fails with Aborted (HTTP 409) instead
// of silently overwriting; ApplyStored brings in what other replicas wrote. The store here is an
// in-memory one with etcd's revision rules, so the Registry's logic is pinned without a server;
// the etcd store itself is tested against real etcd (tests/upstream/etcd_store_test.cc).
#include <functional>
#include <map>
#include <utility>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/registry.h"
#include "tests/registry/fake_transport.h"

namespace portico::registry {
namespace {

using ::testing::HasSubstr;

BackendTransportFactory Factory() {
  return [](const BackendConfig& backend) { return std::make_shared<FakeTransport>(backend); };
}

BackendConfig Backend(const std::string& name, const std::string& endpoint) {
  BackendConfig b;
  b.name = name;
  b.endpoints = {endpoint};
  b.services = {"svc.v1." + name};
  return b;
}

// Entries with revisions; a write lands only if no write happened after its base revision
// (what EtcdStore's guard key does), else Aborted with the content now.
class VersionedStore final : public Store {
 public:
  StatusOr<StoredState> Load() override {
    if (!available) return Status(Code::kUnavailable, Describe() + " is unreachable");
    return state_;
  }
  StatusOr<std::int64_t> Apply(const StoreChange& change, StoredState* fresh) override {
    if (!available) return Status(Code::kUnavailable, Describe() + " is unreachable");
    // A write of another replica committing after this one was checked (a true race).
    if (auto race = std::exchange(before_next_apply, nullptr)) race();
    if (change.base_revision < last_write_) {
      if (fresh != nullptr) *fresh = state_;
      return Status(Code::kAborted, "the store changed");
    }
    const std::int64_t revision = ++state_.revision;
    last_write_ = revision;
    StoredState next = *change.next;
    next.revision = revision;
    next.entry_revisions = state_.entry_revisions;
    for (const EntryRef& entry : change.written) next.entry_revisions[entry] = revision;
    for (const EntryRef& entry : change.removed) next.entry_revisions.erase(entry);
    state_ = std::move(next);
    ++writes;
    return revision;
  }
  std::string Describe() const override { return "memory store"; }
  StatusOr<std::int64_t> LastWriteRevision() override {
    if (!available) return Status(Code::kUnavailable, Describe() + " is unreachable");
    return last_write_;
  }

  // A write made by hand (not through a Registry): bumps the revision too.
  void PutBackendByHand(const BackendConfig& backend) {
    const std::int64_t revision = ++state_.revision;
    last_write_ = revision;
    std::erase_if(state_.backends, [&](const BackendConfig& b) { return b.name == backend.name; });
    state_.backends.push_back(backend);
    state_.entry_revisions[{EntryKind::kBackend, backend.name}] = revision;
  }
  const StoredState& state() const { return state_; }

  bool available = true;
  int writes = 0;
  std::function<void()> before_next_apply;

 private:
  StoredState state_;
  std::int64_t last_write_ = 0;
};

std::vector<std::string> BackendNames(const Registry& registry) {
  std::vector<std::string> names;
  for (const auto& [name, backend] : registry.Current()->backends->by_name) names.push_back(name);
  return names;
}

std::string FirstEndpoint(const Registry& registry, const std::string& backend) {
  const auto& table = registry.Current()->backends->by_name;
  auto it = table.find(backend);
  if (it == table.end()) return "";
  return it->second->config().endpoints.at(0).address;
}

TEST(RegistryStoreTest, AWriteThatLostTheRaceToAnotherEntryIsAppliedOnTheNewerContent) {
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(b.Init({}, {}).ok());
  // a's write commits after b's was checked: b's compare-and-swap fails.
  store.before_next_apply = [&] { ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok()); };
  Status put = b.PutBackend(Backend("y", "10.0.0.2:1"));
  ASSERT_TRUE(put.ok()) << put.message();
  EXPECT_EQ(b.store_conflicts(), 1u);
  EXPECT_EQ(BackendNames(b), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(store.state().backends.size(), 2u);  // x was not lost
  EXPECT_EQ(b.Current()->store_revision, 2);
}

TEST(RegistryStoreTest, AWriteFollowingAnotherReplicasWriteIsBasedOnIt) {
  // b's watch has not delivered a's write yet; b's write still follows it, so it succeeds.
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok());
  ASSERT_TRUE(b.Init({}, {}).ok());
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.9:1")).ok());
  ASSERT_TRUE(a.PutBackend(Backend("z", "10.0.0.3:1")).ok());
  Status put = b.PutBackend(Backend("x", "10.0.0.5:1"));
  ASSERT_TRUE(put.ok()) << put.message();
  EXPECT_EQ(b.store_conflicts(), 0u);
  EXPECT_EQ(BackendNames(b), (std::vector<std::string>{"x", "z"}));
  EXPECT_EQ(FirstEndpoint(b, "x"), "10.0.0.5:1");
  EXPECT_EQ(store.state().backends.size(), 2u);
}

TEST(RegistryStoreTest, TheLoserOfARaceOnOneEntryGetsAbortedAndSeesTheWinner) {
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok());
  ASSERT_TRUE(b.Init({}, {}).ok());  // both at revision 1
  store.before_next_apply = [&] { ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.9:1")).ok()); };
  Status put = b.PutBackend(Backend("x", "10.0.0.5:1"));
  EXPECT_EQ(put.code(), Code::kAborted);
  EXPECT_THAT(put.message(), HasSubstr("backend \"x\" was changed by another replica"));
  EXPECT_EQ(FirstEndpoint(b, "x"), "10.0.0.9:1");  // b now serves the winner
  EXPECT_EQ(store.state().backends.at(0).endpoints.at(0).address, "10.0.0.9:1");
  // Sent again, the write follows the winner and succeeds.
  ASSERT_TRUE(b.PutBackend(Backend("x", "10.0.0.5:1")).ok());
  EXPECT_EQ(store.state().backends.at(0).endpoints.at(0).address, "10.0.0.5:1");
}

TEST(RegistryStoreTest, ARemovalRacingAnotherReplicasWriteOfTheSameEntryIsAborted) {
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok());
  ASSERT_TRUE(b.Init({}, {}).ok());
  store.before_next_apply = [&] { ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.2:1")).ok()); };
  EXPECT_EQ(b.RemoveBackend("x").code(), Code::kAborted);
  EXPECT_EQ(store.state().backends.size(), 1u);
}

TEST(RegistryStoreTest, ARemovalIsCheckedAgainOnTheNewerContent) {
  // b removes dep.proto while a uploads a file importing it: b's removal must not land, or
  // every replica would hold a file whose import is gone.
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(a.RegisterSources({{"dep.proto", "syntax = \"proto3\"; package d; message D {}"}}).ok());
  ASSERT_TRUE(b.Init({}, {}).ok());
  store.before_next_apply = [&] {
    ASSERT_TRUE(a.RegisterSources({{"user.proto",
                                    "syntax = \"proto3\"; package u; import \"dep.proto\";"
                                    " message U { d.D d = 1; }"}})
                    .ok());
  };
  Status removed = b.RemoveFile("dep.proto");
  EXPECT_EQ(removed.code(), Code::kFailedPrecondition) << removed.message();
  EXPECT_THAT(removed.message(), HasSubstr("imported by \"user.proto\""));
  EXPECT_EQ(store.state().descriptors.file_size(), 2);
}

TEST(RegistryStoreTest, ApplyStoredBringsInOtherReplicasWritesAndIgnoresOlderStates) {
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(b.Init({}, {}).ok());
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok());
  const StoredState at1 = store.state();
  ASSERT_TRUE(a.PutBackend(Backend("z", "10.0.0.3:1")).ok());
  const auto generation = b.Current()->generation;
  ASSERT_TRUE(b.ApplyStored(store.state()).ok());
  EXPECT_EQ(BackendNames(b), (std::vector<std::string>{"x", "z"}));
  EXPECT_EQ(b.Current()->generation, generation + 1);
  EXPECT_EQ(b.Current()->store_revision, 2);
  // An older read (a watch report that arrives late) changes nothing.
  ASSERT_TRUE(b.ApplyStored(at1).ok());
  EXPECT_EQ(BackendNames(b), (std::vector<std::string>{"x", "z"}));
  EXPECT_EQ(b.Current()->generation, generation + 1);
  // Neither does a replica's own write coming back through its watch.
  ASSERT_TRUE(a.ApplyStored(store.state()).ok());
  EXPECT_EQ(a.Current()->store_revision, 2);
}

TEST(RegistryStoreTest, AStoredStateThatDoesNotValidateKeepsTheSnapshotInForce) {
  VersionedStore store;
  Registry b(&store, Factory());
  ASSERT_TRUE(b.Init({}, {}).ok());
  ASSERT_TRUE(b.PutBackend(Backend("x", "10.0.0.1:1")).ok());
  StoredState broken = store.state();
  broken.revision = 7;
  google::protobuf::FileDescriptorProto orphan;  // imports a file nobody stored
  orphan.set_name("orphan.proto");
  orphan.add_dependency("missing.proto");
  *broken.descriptors.add_file() = orphan;
  const auto before = b.Current();
  Status applied = b.ApplyStored(broken);
  EXPECT_FALSE(applied.ok());
  EXPECT_THAT(applied.message(), HasSubstr("missing.proto"));
  EXPECT_EQ(b.Current(), before);
}

TEST(RegistryStoreTest, ConfigEntriesComeBackWhenTheStoredOverrideGoesButNotWhenRemovedHere) {
  VersionedStore store;
  Registry a(&store, Factory()), b(&store, Factory());
  const std::vector<BackendConfig> config = {Backend("c", "127.0.0.1:1"),
                                             Backend("d", "127.0.0.1:2")};
  ASSERT_TRUE(a.Init({}, config).ok());
  ASSERT_TRUE(b.Init({}, config).ok());
  ASSERT_TRUE(a.PutBackend(Backend("c", "10.0.0.7:1")).ok());  // overrides the config's c
  ASSERT_TRUE(b.ApplyStored(store.state()).ok());
  EXPECT_EQ(FirstEndpoint(b, "c"), "10.0.0.7:1");
  ASSERT_TRUE(a.RemoveBackend("c").ok());  // the stored c goes: b serves its config's c again
  ASSERT_TRUE(b.ApplyStored(store.state()).ok());
  EXPECT_EQ(FirstEndpoint(b, "c"), "127.0.0.1:1");
  // A config entry removed through b's admin API stays removed on b's next merge.
  const int writes = store.writes;
  ASSERT_TRUE(b.RemoveBackend("d").ok());
  EXPECT_EQ(store.writes, writes);  // nothing stored to remove
  store.PutBackendByHand(Backend("e", "10.0.0.8:1"));
  ASSERT_TRUE(b.ApplyStored(store.state()).ok());
  EXPECT_EQ(BackendNames(b), (std::vector<std::string>{"c", "e"}));
}

TEST(RegistryStoreTest, AWriteThatKeepsLosingGivesUpAfterFiftyAttempts) {
  // Another writer commits before every attempt: the write is retried, then refused (409).
  VersionedStore store;
  Registry a(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  int races = 0;
  std::function<void()> race = [&] {
    store.PutBackendByHand(Backend("other" + std::to_string(races++), "10.0.0.2:1"));
    store.before_next_apply = race;
  };
  store.before_next_apply = race;
  Status put = a.PutBackend(Backend("x", "10.0.0.1:1"));
  store.before_next_apply = nullptr;
  EXPECT_EQ(put.code(), Code::kAborted);
  EXPECT_THAT(put.message(), HasSubstr("kept changing under this write (50 attempts)"));
  EXPECT_EQ(races, 50);
  EXPECT_EQ(a.store_conflicts(), 50u);
  EXPECT_EQ(store.writes, 0);  // x never landed
}

TEST(RegistryStoreTest, AnUnreachableStoreFailsTheWriteAndChangesNothing) {
  VersionedStore store;
  Registry a(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  store.available = false;
  const auto before = a.Current();
  Status put = a.PutBackend(Backend("x", "10.0.0.1:1"));
  EXPECT_EQ(put.code(), Code::kUnavailable);
  EXPECT_THAT(put.message(), HasSubstr("memory store is unreachable"));
  EXPECT_EQ(a.Current(), before);
  EXPECT_EQ(a.store_errors(), 1u);
  store.available = true;
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok());
}

TEST(RegistryStoreTest, AWriteByHandRacingOneHereIsNotOverwritten) {
  VersionedStore store;
  Registry a(&store, Factory());
  ASSERT_TRUE(a.Init({}, {}).ok());
  ASSERT_TRUE(a.PutBackend(Backend("x", "10.0.0.1:1")).ok());
  store.before_next_apply = [&] { store.PutBackendByHand(Backend("x", "10.0.0.4:1")); };
  EXPECT_EQ(a.PutBackend(Backend("x", "10.0.0.5:1")).code(), Code::kAborted);
  EXPECT_EQ(FirstEndpoint(a, "x"), "10.0.0.4:1");
  ASSERT_TRUE(a.PutBackend(Backend("w", "10.0.0.6:1")).ok());  // another entry: fine
  store.PutBackendByHand(Backend("w", "10.0.0.7:1"));  // before the write arrives: its base
  ASSERT_TRUE(a.PutBackend(Backend("w", "10.0.0.8:1")).ok());
  EXPECT_EQ(FirstEndpoint(a, "w"), "10.0.0.8:1");
}

}  // namespace
}  // namespace portico::registry
