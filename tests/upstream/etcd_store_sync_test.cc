// EtcdStoreSync (upstream/etcd_store_sync.h) against a real etcd: what another replica writes
// reaches this Registry's snapshot; an outage degrades it and keeps the snapshot; a restart
// resynchronizes; a compaction under the watch reloads the prefix; a stored state that does
// not decode is refused, the snapshot kept.
#include "upstream/etcd_store_sync.h"

#include <chrono>
#include <functional>
#include <future>
#include <thread>

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "registry/carried_files.h"
#include "registry/descriptor_compiler.h"
#include "registry/etcd_store.h"
#include "tests/registry/fake_transport.h"
#include "tests/support/etcd_server.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/transport_harness.h"
#include "upstream/etcd_transport.h"

namespace portico::upstream {
namespace {

using namespace std::chrono_literals;
using registry::EntryKind;
using registry::EntryRef;
using registry::StoredState;
using testing::EtcdServer;

constexpr char kPrefix[] = "/sync/";

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// "orders" serves TestService; the others name no service (reflection backends), as a
// service has one backend.
registry::BackendConfig Backend(const std::string& name, const std::string& endpoint) {
  registry::BackendConfig backend;
  backend.name = name;
  backend.endpoints.push_back({endpoint, 1});
  if (name == "orders") {
    backend.services = {"portico.test.v1.TestService"};
  } else {
    backend.reflection = true;
  }
  return backend;
}

class EtcdStoreSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdServer::Available()) GTEST_SKIP() << "etcd-server is not installed";
    ASSERT_TRUE(etcd_.Start());
    replica_store_ = MakeStore();
    writer_ = MakeStore();
    // Descriptors first, as an upload would put them: the backends below serve their service.
    auto files = registry::ParseDescriptorSet(testing::TestDescriptorSetBytes());
    ASSERT_TRUE(files.ok());
    ASSERT_TRUE(Write([&](StoredState& state, std::vector<EntryRef>& written) {
      for (auto& file : *files) {
        if (registry::IsCarriedFile(file.name())) continue;
        written.push_back({EntryKind::kDescriptor, file.name()});
        *state.descriptors.add_file() = file;
      }
    }));
    registry_ = std::make_unique<registry::Registry>(
        replica_store_.get(), [](const registry::BackendConfig& backend) {
          return std::make_shared<registry::FakeTransport>(backend);
        });
    ASSERT_TRUE(registry_->Init({}, {}).ok());
    EtcdWatchOptions watch;
    watch.endpoints = {etcd_.endpoint()};
    watch.prefix = kPrefix;
    sync_ = std::make_unique<EtcdStoreSync>(*registry_, watch_loop(), watch,
                                            replica_store_->Describe());
    sync_->Start();
  }
  void TearDown() override {
    if (sync_) sync_->Stop();
  }

  std::unique_ptr<registry::EtcdStore> MakeStore() {
    registry::EtcdStoreOptions options;
    options.endpoints = {etcd_.endpoint()};
    options.prefix = kPrefix;
    options.timeout = 3s;
    return std::make_unique<registry::EtcdStore>(
        options, MakeEtcdTransportFactory({}, store_loops_.loops()));
  }
  boost::asio::io_context& watch_loop() { return *watch_loops_.loops()[0]; }

  // Another replica's write: `edit` changes what the store holds now and names what it wrote.
  // Returns the revision after it (0 on failure).
  std::int64_t Write(const std::function<void(StoredState&, std::vector<EntryRef>&)>& edit) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      StatusOr<StoredState> state = writer_->Load();
      if (!state.ok()) {
        std::this_thread::sleep_for(200ms);
        continue;
      }
      registry::StoreChange change;
      edit(*state, change.written);
      change.next = &*state;
      change.base_revision = state->revision;
      StatusOr<std::int64_t> revision = writer_->Apply(change, nullptr);
      if (revision.ok()) return *revision;
      ADD_FAILURE() << revision.status().message();
      return 0;
    }
    ADD_FAILURE() << "the writer could not load the store";
    return 0;
  }
  std::int64_t PutBackend(const registry::BackendConfig& backend) {
    return Write([&](StoredState& state, std::vector<EntryRef>& written) {
      std::erase_if(state.backends, [&](const auto& b) { return b.name == backend.name; });
      state.backends.push_back(backend);
      written.push_back({EntryKind::kBackend, backend.name});
    });
  }
  bool Serves(const std::string& backend, const std::string& endpoint) {
    const auto snapshot = registry_->Current();
    const auto it = snapshot->backends->by_name.find(backend);
    return it != snapshot->backends->by_name.end() &&
           !it->second->config().endpoints.empty() &&
           it->second->config().endpoints[0].address == endpoint;
  }

  EtcdServer etcd_;
  testing::IoLoops store_loops_{1};
  testing::IoLoops watch_loops_{1};
  std::unique_ptr<registry::EtcdStore> replica_store_;
  std::unique_ptr<registry::EtcdStore> writer_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<EtcdStoreSync> sync_;
};

TEST_F(EtcdStoreSyncTest, AnotherReplicasWriteReachesTheSnapshot) {
  const std::int64_t revision = PutBackend(Backend("orders", "127.0.0.1:7001"));
  ASSERT_GT(revision, 0);
  ASSERT_TRUE(WaitUntil([&] { return Serves("orders", "127.0.0.1:7001"); }));
  EXPECT_EQ(registry_->Current()->store_revision, revision);
  registry::StoreHealthReport health = sync_->Health();
  EXPECT_FALSE(health.degraded) << health.reason;
  EXPECT_EQ(health.revision, revision);
  EXPECT_GE(health.updates, 1u);
  EXPECT_EQ(health.resyncs, 0u);
  EXPECT_EQ(health.store, replica_store_->Describe());

  // A change, then a removal, each arrives.
  ASSERT_GT(PutBackend(Backend("orders", "127.0.0.1:7002")), 0);
  ASSERT_TRUE(WaitUntil([&] { return Serves("orders", "127.0.0.1:7002"); }));
  ASSERT_TRUE(etcd_.Delete(std::string(kPrefix) + "backends/orders"));
  ASSERT_TRUE(WaitUntil([&] { return !registry_->Current()->backends->by_name.contains("orders"); }));
  EXPECT_GE(sync_->Health().updates, 3u);
}

TEST_F(EtcdStoreSyncTest, OutageKeepsTheSnapshotAndARestartResynchronizes) {
  ASSERT_GT(PutBackend(Backend("orders", "127.0.0.1:7001")), 0);
  ASSERT_TRUE(WaitUntil([&] { return Serves("orders", "127.0.0.1:7001"); }));

  etcd_.Kill();
  ASSERT_TRUE(WaitUntil([&] { return sync_->Health().degraded; }));
  registry::StoreHealthReport health = sync_->Health();
  EXPECT_FALSE(health.reason.empty());
  EXPECT_GE(health.errors, 1u);
  EXPECT_TRUE(Serves("orders", "127.0.0.1:7001"));  // the last snapshot stays

  // etcd comes back and another replica writes at once, before this one's watch reconnects
  // (its backoff is at least 500 ms): the resync brings the change.
  ASSERT_TRUE(etcd_.Start());
  ASSERT_GT(PutBackend(Backend("orders", "127.0.0.1:7009")), 0);
  ASSERT_GT(PutBackend(Backend("users", "127.0.0.1:7010")), 0);
  ASSERT_TRUE(WaitUntil([&] {
    return Serves("orders", "127.0.0.1:7009") && Serves("users", "127.0.0.1:7010") &&
           !sync_->Health().degraded;
  }, 60s)) << sync_->Health().reason;
  health = sync_->Health();
  EXPECT_GE(health.resyncs, 1u);
  EXPECT_TRUE(health.reason.empty());
}

TEST_F(EtcdStoreSyncTest, CompactionUnderALaggingWatchReloadsEverything) {
  ASSERT_GT(PutBackend(Backend("orders", "127.0.0.1:7001")), 0);
  ASSERT_TRUE(WaitUntil([&] { return Serves("orders", "127.0.0.1:7001"); }));

  // Hold the watch's loop so it falls behind (etcd parks a watcher whose stream is full), then
  // compact what it would have replayed (as tests/upstream/etcd_watch_test.cc does).
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> held;
  boost::asio::post(watch_loop(), [&held, released] {
    held.set_value();
    released.wait();
  });
  held.get_future().wait();
  const std::string bulk(8192, 'v');
  for (int i = 0; i < 400; ++i) {  // words Portico does not write: skipped by the decoder
    ASSERT_TRUE(etcd_.Put(std::string(kPrefix) + "bulk/" + std::to_string(i), bulk));
  }
  ASSERT_GT(PutBackend(Backend("orders", "127.0.0.1:7005")), 0);
  ASSERT_GT(PutBackend(Backend("late", "127.0.0.1:7006")), 0);
  std::optional<std::int64_t> revision = etcd_.Revision();
  ASSERT_TRUE(revision);
  ASSERT_TRUE(etcd_.Compact(*revision));
  release.set_value();

  ASSERT_TRUE(WaitUntil([&] {
    return Serves("orders", "127.0.0.1:7005") && Serves("late", "127.0.0.1:7006") &&
           !sync_->Health().degraded;
  }, 60s)) << sync_->Health().reason;
  EXPECT_GE(sync_->Health().resyncs, 1u);
  EXPECT_EQ(registry_->Current()->store_revision, *revision);
}

TEST_F(EtcdStoreSyncTest, ContentThatDoesNotDecodeIsRefusedAndTheSnapshotKept) {
  ASSERT_GT(PutBackend(Backend("orders", "127.0.0.1:7001")), 0);
  ASSERT_TRUE(WaitUntil([&] { return Serves("orders", "127.0.0.1:7001"); }));
  const std::int64_t before = registry_->Current()->store_revision;

  // Written by hand, not by Portico: not a backend.
  const std::string key = std::string(kPrefix) + "backends/broken";
  ASSERT_TRUE(etcd_.Put(key, "{not json"));
  ASSERT_TRUE(WaitUntil([&] { return sync_->Health().degraded; }));
  registry::StoreHealthReport health = sync_->Health();
  EXPECT_NE(health.reason.find("backends/broken"), std::string::npos) << health.reason;
  EXPECT_EQ(health.revision, before);
  EXPECT_TRUE(Serves("orders", "127.0.0.1:7001"));

  // Removing it applies again and clears the state.
  ASSERT_TRUE(etcd_.Delete(key));
  ASSERT_TRUE(WaitUntil([&] { return !sync_->Health().degraded; })) << sync_->Health().reason;
  EXPECT_GT(sync_->Health().revision, before);
  EXPECT_TRUE(Serves("orders", "127.0.0.1:7001"));
}

}  // namespace
}  // namespace portico::upstream
