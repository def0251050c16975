// The etcd store (registry/etcd_store.h) against a real etcd (Debian's etcd-server, started by
// the test on loopback ports) over Portico's own HTTP/2 transport: loads and compare-and-swap
// writes, conflicts between two stores, etcd killed and restarted, failover, auth, TLS,
// corrupt values, ReplaceAll, and the entry size limit.
#include "registry/etcd_store.h"

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/etcd_layout.h"
#include "tests/support/etcd_server.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/tls_pki.h"
#include "tests/support/transport_harness.h"
#include "upstream/etcd_transport.h"

namespace portico::testing {
namespace {

using registry::EntryKind;
using registry::EntryRef;
using registry::EtcdStore;
using registry::EtcdStoreOptions;
using registry::StoreChange;
using registry::StoredState;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

google::protobuf::FileDescriptorProto File(const std::string& name,
                                           std::vector<std::string> imports = {}) {
  google::protobuf::FileDescriptorProto file;
  file.set_name(name);
  file.set_package("acme.v1");
  file.set_syntax("proto3");
  for (const auto& dep : imports) file.add_dependency(dep);
  file.add_message_type()->set_name("M" + std::to_string(name.size()));
  return file;
}

registry::BackendConfig Backend(const std::string& name, const std::string& endpoint) {
  registry::BackendConfig backend;
  backend.name = name;
  backend.endpoints = {endpoint};
  backend.services = {"acme.v1.Orders"};
  return backend;
}

registry::PolicyConfig Policy(const std::string& name) {
  auto policy = registry::PolicyFromJson(
      nlohmann::json::parse(R"({"hmac": {"keys": [{"id": "k1", "secret": "s3cret"}]}})"), name);
  EXPECT_TRUE(policy.ok()) << policy.status().message();
  return *policy;
}

registry::AggregateConfig Aggregate(const std::string& name) {
  auto aggregate = registry::AggregateFromJson(
      nlohmann::json::parse(R"({"route": "GET /v1/dash/{id}", "calls": {"o": {"method":
          "acme.v1.Orders/Get", "request": {"id": "{id}"}}}})"),
      name);
  EXPECT_TRUE(aggregate.ok()) << aggregate.status().message();
  return *aggregate;
}

// What a Load gives back, revisions aside.
void ExpectSameContent(const StoredState& got, const StoredState& want) {
  ASSERT_EQ(got.descriptors.file_size(), want.descriptors.file_size());
  for (int i = 0; i < got.descriptors.file_size(); ++i) {
    EXPECT_EQ(got.descriptors.file(i).SerializeAsString(),
              want.descriptors.file(i).SerializeAsString())
        << got.descriptors.file(i).name();
  }
  EXPECT_EQ(got.backends, want.backends);
  EXPECT_EQ(got.policies, want.policies);
  EXPECT_EQ(got.aggregates, want.aggregates);
}

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Available()) {
      GTEST_SKIP() << "etcd-server is not installed (" << EtcdServer::kBinary
                   << "); scripts/deps.sh installs it";
    }
  }

  void StartEtcd(EtcdServerOptions options = {}) {
    etcd_ = std::make_unique<EtcdServer>(std::move(options));
    ASSERT_TRUE(etcd_->Start()) << etcd_->Log();
  }

  std::unique_ptr<EtcdStore> MakeStore(EtcdStoreOptions options, registry::BackendTls tls = {}) {
    if (options.endpoints.empty()) options.endpoints = {etcd_->endpoint()};
    return std::make_unique<EtcdStore>(std::move(options),
                                       upstream::MakeEtcdTransportFactory(tls, loops_.loops()));
  }
  std::unique_ptr<EtcdStore> MakeStore() { return MakeStore(EtcdStoreOptions{}); }

  // Applies a change that makes the store hold `next` (computed against `base`).
  static StatusOr<std::int64_t> Write(EtcdStore& store, const StoredState& base,
                                      const StoredState& next, std::vector<EntryRef> written,
                                      std::vector<EntryRef> removed = {},
                                      StoredState* fresh = nullptr) {
    StoreChange change;
    change.next = &next;
    change.written = std::move(written);
    change.removed = std::move(removed);
    change.base_revision = base.revision;
    return store.Apply(change, fresh);
  }

  IoLoops loops_{1};
  std::unique_ptr<EtcdServer> etcd_;
};

TEST_F(EtcdStoreTest, LoadOfAnEmptyPrefixIsEmpty) {
  StartEtcd();
  ASSERT_TRUE(etcd_->Put("/other/backends/x", "not ours"));
  auto store = MakeStore();
  EXPECT_EQ(store->Describe(), "etcd store " + etcd_->endpoint() + " prefix \"/portico/\"");
  auto state = store->Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  EXPECT_EQ(state->descriptors.file_size(), 0);
  EXPECT_TRUE(state->backends.empty());
  EXPECT_TRUE(state->policies.empty());
  EXPECT_TRUE(state->aggregates.empty());
  EXPECT_TRUE(state->entry_revisions.empty());
  EXPECT_GT(state->revision, 0);
}

TEST_F(EtcdStoreTest, AppliesPutsAndDeletesOfEveryKindAndLoadsThemBack) {
  StartEtcd();
  auto store = MakeStore();
  auto empty = store->Load();
  ASSERT_TRUE(empty.ok()) << empty.status().message();

  StoredState next;
  // Importer first in name order, so a load must reorder them by dependency.
  *next.descriptors.add_file() = File("acme/v1/types.proto");
  *next.descriptors.add_file() = File("acme/v1/orders.proto", {"acme/v1/types.proto"});
  next.backends = {Backend("orders", "127.0.0.1:50051")};
  next.policies = {Policy("signed")};
  next.aggregates = {Aggregate("dash")};
  const std::vector<EntryRef> all = {{EntryKind::kDescriptor, "acme/v1/types.proto"},
                                     {EntryKind::kDescriptor, "acme/v1/orders.proto"},
                                     {EntryKind::kBackend, "orders"},
                                     {EntryKind::kPolicy, "signed"},
                                     {EntryKind::kAggregate, "dash"}};
  auto revision = Write(*store, *empty, next, all);
  ASSERT_TRUE(revision.ok()) << revision.status().message();
  EXPECT_GT(*revision, empty->revision);

  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ExpectSameContent(*loaded, next);
  EXPECT_EQ(loaded->revision, *revision);
  for (const EntryRef& entry : all) EXPECT_EQ(loaded->entry_revisions[entry], *revision);
  // Secrets are stored in the clear (the store is the only copy).
  EXPECT_EQ(loaded->policies[0].hmac->keys[0].secret, "s3cret");

  // Another store on the same prefix sees the same.
  auto other = MakeStore()->Load();
  ASSERT_TRUE(other.ok());
  ExpectSameContent(*other, next);

  // Remove one of each kind (the importer first: the rest stays consistent).
  StoredState after;
  *after.descriptors.add_file() = File("acme/v1/types.proto");
  auto removed = Write(*store, *loaded, after, {},
                       {{EntryKind::kDescriptor, "acme/v1/orders.proto"},
                        {EntryKind::kBackend, "orders"},
                        {EntryKind::kPolicy, "signed"},
                        {EntryKind::kAggregate, "dash"}});
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  auto reloaded = store->Load();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  ExpectSameContent(*reloaded, after);
  // The untouched entry keeps its revision.
  EXPECT_EQ((reloaded->entry_revisions[{EntryKind::kDescriptor, "acme/v1/types.proto"}]),
            *revision);
  EXPECT_EQ(reloaded->entry_revisions.size(), 1u);
}

TEST_F(EtcdStoreTest, AStaleBaseRevisionIsAbortedWithTheFreshContent) {
  StartEtcd();
  auto store = MakeStore();
  auto base = store->Load();
  ASSERT_TRUE(base.ok());
  StoredState one;
  one.backends = {Backend("a", "127.0.0.1:1")};
  auto first = Write(*store, *base, one, {{EntryKind::kBackend, "a"}});
  ASSERT_TRUE(first.ok()) << first.status().message();

  // Computed from `base` again: something was written since.
  StoredState two;
  two.backends = {Backend("b", "127.0.0.1:2")};
  StoredState fresh;
  auto stale = Write(*store, *base, two, {{EntryKind::kBackend, "b"}}, {}, &fresh);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), Code::kAborted) << stale.status().message();
  EXPECT_NE(stale.status().message().find(store->Describe()), std::string::npos)
      << stale.status().message();
  ExpectSameContent(fresh, one);
  EXPECT_EQ(fresh.revision, *first);
  EXPECT_EQ((fresh.entry_revisions[{EntryKind::kBackend, "a"}]), *first);
  // Nothing of the aborted write landed.
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  ExpectSameContent(*loaded, one);

  // Retried on the fresh state, it lands.
  StoredState both = fresh;
  both.backends.push_back(Backend("b", "127.0.0.1:2"));
  ASSERT_TRUE(Write(*store, fresh, both, {{EntryKind::kBackend, "b"}}).ok());
  loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  ExpectSameContent(*loaded, both);
}

TEST_F(EtcdStoreTest, KeysWrittenOutsidePortico_DoNotAbortAWrite) {
  StartEtcd();
  auto store = MakeStore();
  auto base = store->Load();
  ASSERT_TRUE(base.ok());
  // Not Portico's: no guard write, so no conflict (the guard is what Portico's writes bump).
  ASSERT_TRUE(etcd_->Put("/portico/notes/readme", "hello"));
  ASSERT_TRUE(etcd_->Put("/elsewhere", "x"));
  StoredState one;
  one.backends = {Backend("a", "127.0.0.1:1")};
  auto written = Write(*store, *base, one, {{EntryKind::kBackend, "a"}});
  EXPECT_TRUE(written.ok()) << written.status().message();
}

TEST_F(EtcdStoreTest, TwoStoresRacing_OneWinsTheOtherIsAborted) {
  StartEtcd();
  auto a = MakeStore();
  auto b = MakeStore();
  auto base = a->Load();
  ASSERT_TRUE(base.ok());
  StoredState from_a, from_b;
  from_a.backends = {Backend("x", "127.0.0.1:1")};
  from_b.backends = {Backend("x", "127.0.0.1:2")};
  StatusOr<std::int64_t> result_a = Status(Code::kUnknown, ""), result_b = result_a;
  StoredState fresh_a, fresh_b;
  std::thread ta([&] {
    result_a = Write(*a, *base, from_a, {{EntryKind::kBackend, "x"}}, {}, &fresh_a);
  });
  std::thread tb([&] {
    result_b = Write(*b, *base, from_b, {{EntryKind::kBackend, "x"}}, {}, &fresh_b);
  });
  ta.join();
  tb.join();
  ASSERT_NE(result_a.ok(), result_b.ok())
      << result_a.status().message() << " / " << result_b.status().message();
  const auto& loser = result_a.ok() ? result_b : result_a;
  EXPECT_EQ(loser.status().code(), Code::kAborted) << loser.status().message();
  const StoredState& winner_state = result_a.ok() ? from_a : from_b;
  ExpectSameContent(result_a.ok() ? fresh_b : fresh_a, winner_state);
  auto loaded = a->Load();
  ASSERT_TRUE(loaded.ok());
  ExpectSameContent(*loaded, winner_state);
}

TEST_F(EtcdStoreTest, LastWriteRevisionIsThatOfTheNewestPorticoWrite) {
  StartEtcd();
  auto a = MakeStore();
  auto b = MakeStore();
  auto none = a->LastWriteRevision();
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(*none, 0);
  auto base = a->Load();
  ASSERT_TRUE(base.ok());
  StoredState next;
  next.backends = {Backend("x", "127.0.0.1:1")};
  auto written = Write(*a, *base, next, {{EntryKind::kBackend, "x"}}, {}, nullptr);
  ASSERT_TRUE(written.ok()) << written.status().message();
  ASSERT_TRUE(etcd_->Put("/portico/notes/readme", "v"));  // not Portico's: no guard write
  auto latest = b->LastWriteRevision();
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  EXPECT_EQ(*latest, *written);
}

TEST_F(EtcdStoreTest, UnavailableNamesTheStoreWhenEtcdIsDownAndWorksAfterARestart) {
  StartEtcd();
  EtcdStoreOptions options;
  options.timeout = std::chrono::seconds(5);
  auto store = MakeStore(options);
  ASSERT_TRUE(store->Load().ok());
  etcd_->Kill();

  const auto start = Clock::now();
  auto down = store->Load();
  const auto took = Clock::now() - start;
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Code::kUnavailable);
  EXPECT_NE(down.status().message().find("etcd store " + etcd_->endpoint() +
                                         " prefix \"/portico/\" is unreachable: "),
            std::string::npos)
      << down.status().message();
  // A refused connection fails at once, not at the timeout.
  EXPECT_LT(took, std::chrono::seconds(3));
  StoredState next;
  next.backends = {Backend("a", "127.0.0.1:1")};
  auto write = Write(*store, StoredState{}, next, {{EntryKind::kBackend, "a"}});
  EXPECT_EQ(write.status().code(), Code::kUnavailable) << write.status().message();

  ASSERT_TRUE(etcd_->Start()) << etcd_->Log();
  // The transport may be backing off for a moment after the failures.
  StatusOr<StoredState> up = Status(Code::kUnknown, "");
  for (const auto deadline = Clock::now() + std::chrono::seconds(20); Clock::now() < deadline;) {
    up = store->Load();
    if (up.ok()) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_TRUE(Write(*store, *up, next, {{EntryKind::kBackend, "a"}}).ok());
}

TEST_F(EtcdStoreTest, FailsOverFromADeadEndpointToALiveOne) {
  StartEtcd();
  EtcdStoreOptions options;
  // Nothing listens on the first.
  const std::string dead = "127.0.0.1:" + std::to_string(PickFreePort());
  options.endpoints = {dead, etcd_->endpoint()};
  auto store = MakeStore(options);
  EXPECT_EQ(store->Describe(),
            "etcd store " + dead + "," + etcd_->endpoint() + " prefix \"/portico/\"");
  auto state = store->Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  StoredState next;
  next.backends = {Backend("a", "127.0.0.1:1")};
  auto write = Write(*store, *state, next, {{EntryKind::kBackend, "a"}});
  ASSERT_TRUE(write.ok()) << write.status().message();

  // Both down: the message names both endpoints.
  etcd_->Kill();
  auto down = store->Load();
  ASSERT_EQ(down.status().code(), Code::kUnavailable);
  EXPECT_NE(down.status().message().find(dead + ": "), std::string::npos)
      << down.status().message();
  EXPECT_NE(down.status().message().find(etcd_->endpoint() + ": "), std::string::npos)
      << down.status().message();
}

TEST_F(EtcdStoreTest, AGarbageValueIsDataLossNamingTheKey) {
  StartEtcd();
  ASSERT_TRUE(etcd_->Put("/portico/backends/broken", "{not json"));
  auto state = MakeStore()->Load();
  ASSERT_FALSE(state.ok());
  EXPECT_EQ(state.status().code(), Code::kDataLoss);
  EXPECT_NE(state.status().message().find("\"/portico/backends/broken\""), std::string::npos)
      << state.status().message();
}

TEST_F(EtcdStoreTest, AnEntryOverOneMebibyteIsRefusedNamingIt) {
  StartEtcd();
  auto store = MakeStore();
  auto base = store->Load();
  ASSERT_TRUE(base.ok());
  StoredState next;
  auto file = File("acme/v1/huge.proto");
  file.mutable_message_type(0)->add_field()->set_json_name(std::string(1100 * 1024, 'x'));
  *next.descriptors.add_file() = file;
  auto write = Write(*store, *base, next, {{EntryKind::kDescriptor, "acme/v1/huge.proto"}});
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), Code::kInvalidArgument);
  EXPECT_NE(write.status().message().find("descriptor \"acme/v1/huge.proto\" is too large"),
            std::string::npos)
      << write.status().message();
}

TEST_F(EtcdStoreTest, AChangeOverEtcdsOperationLimitIsRefusedSayingSo) {
  // etcd's default --max-txn-ops is 128; 200 entries (plus the guard) in one change exceed it.
  StartEtcd();
  auto store = MakeStore();
  auto base = store->Load();
  ASSERT_TRUE(base.ok());
  StoredState next;
  std::vector<EntryRef> written;
  for (int i = 0; i < 200; ++i) {
    const std::string name = "b" + std::to_string(i);
    next.backends.push_back(Backend(name, "127.0.0.1:1"));
    written.push_back({EntryKind::kBackend, name});
  }
  auto write = Write(*store, *base, next, written);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.status().code(), Code::kInvalidArgument);
  EXPECT_NE(write.status().message().find("--max-txn-ops"), std::string::npos)
      << write.status().message();
  auto loaded = store->Load();  // nothing was written
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->backends.empty());
}

TEST_F(EtcdStoreTest, ReplaceAllWritesExactlyTheGivenState) {
  StartEtcd();
  auto store = MakeStore();
  auto base = store->Load();
  ASSERT_TRUE(base.ok());
  StoredState old;
  old.backends = {Backend("old", "127.0.0.1:1"), Backend("kept", "127.0.0.1:2")};
  old.policies = {Policy("p")};
  ASSERT_TRUE(
      Write(
          *store, *base, old,
          {{EntryKind::kBackend, "old"}, {EntryKind::kBackend, "kept"}, {EntryKind::kPolicy, "p"}})
          .ok());
  ASSERT_TRUE(etcd_->Put("/portico/unknown/thing", "x"));

  StoredState imported;
  *imported.descriptors.add_file() = File("acme/v1/types.proto");
  imported.backends = {Backend("kept", "127.0.0.1:3"), Backend("new", "127.0.0.1:4")};
  imported.aggregates = {Aggregate("dash")};
  auto revision = store->ReplaceAll(imported);
  ASSERT_TRUE(revision.ok()) << revision.status().message();
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ExpectSameContent(*loaded, imported);
  EXPECT_EQ(loaded->revision, *revision);

  // A write computed before the import is refused: the import bumped the guard.
  StoredState stale = old;
  stale.backends.push_back(Backend("late", "127.0.0.1:5"));
  auto late = Write(*store, *base, stale, {{EntryKind::kBackend, "late"}});
  EXPECT_EQ(late.status().code(), Code::kAborted);
}

TEST_F(EtcdStoreTest, AuthWithTheRightPasswordWorksAndAWrongOneSaysSo) {
  StartEtcd();
  ASSERT_TRUE(etcd_->EnableAuth("rootpw")) << etcd_->Log();

  EtcdStoreOptions options;
  options.username = "root";
  options.password = "rootpw";
  auto store = MakeStore(options);
  auto base = store->Load();
  ASSERT_TRUE(base.ok()) << base.status().message();
  StoredState next;
  next.backends = {Backend("a", "127.0.0.1:1")};
  ASSERT_TRUE(Write(*store, *base, next, {{EntryKind::kBackend, "a"}}).ok());

  options.password = "wrong";
  auto wrong = MakeStore(options)->Load();
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied) << wrong.status().message();
  EXPECT_NE(wrong.status().message().find("refused the credentials of user \"root\""),
            std::string::npos)
      << wrong.status().message();

  auto anonymous = MakeStore()->Load();
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthenticated) << anonymous.status().message();
  EXPECT_NE(anonymous.status().message().find("requires etcd credentials"), std::string::npos)
      << anonymous.status().message();
}

// etcd's simple tokens expire after --auth-token-ttl unused: the store gets a new one and the
// call goes through.
TEST_F(EtcdStoreTest, AnExpiredTokenIsRenewed) {
  EtcdServerOptions etcd_options;
  etcd_options.auth_token_ttl_seconds = 1;
  StartEtcd(etcd_options);
  ASSERT_TRUE(etcd_->EnableAuth("rootpw")) << etcd_->Log();
  EtcdStoreOptions options;
  options.username = "root";
  options.password = "rootpw";
  auto store = MakeStore(options);
  ASSERT_TRUE(store->Load().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));  // past the token's TTL
  auto again = store->Load();
  EXPECT_TRUE(again.ok()) << again.status().message();
}

TEST_F(EtcdStoreTest, SpeaksTlsVerifyingEtcdsCertificate) {
  TempDir dir;
  std::optional<EtcdServerOptions> etcd_options = TlsEtcdOptions(dir.path());
  ASSERT_TRUE(etcd_options);
  StartEtcd(*etcd_options);

  registry::BackendTls tls;
  tls.enabled = true;
  tls.ca_file = etcd_options->ca_file;
  auto store = MakeStore(EtcdStoreOptions{}, tls);
  auto base = store->Load();
  ASSERT_TRUE(base.ok()) << base.status().message();
  StoredState next;
  next.backends = {Backend("a", "127.0.0.1:1")};
  ASSERT_TRUE(Write(*store, *base, next, {{EntryKind::kBackend, "a"}}).ok());
  auto loaded = store->Load();
  ASSERT_TRUE(loaded.ok());
  ExpectSameContent(*loaded, next);

  // Plaintext to a TLS port does not work, and says which store.
  auto plain = MakeStore()->Load();
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("etcd store " + etcd_->endpoint()), std::string::npos)
      << plain.status().message();
}

}  // namespace
}  // namespace portico::testing
