// BackendTransports and Registry: which backend updates keep a backend's transport and which
// replace it, and that transport and tls survive the file store (a restart).
#include "registry/backends.h"

#include <chrono>
#include <functional>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "registry/file_store.h"
#include "registry/registry.h"
#include "tests/registry/fake_transport.h"

namespace portico::registry {
namespace {

// A factory counting what it creates.
struct Factory {
  std::shared_ptr<int> created = std::make_shared<int>(0);

  BackendTransportFactory Make() const {
    return [created = created](const BackendConfig& backend) {
      ++*created;
      return std::make_shared<FakeTransport>(backend);
    };
  }
};

BackendConfig Chat() {
  BackendConfig b;
  b.name = "chat";
  b.endpoints = {"127.0.0.1:50051", "127.0.0.1:50052"};
  b.services = {"chat.v1.Chat"};
  return b;
}

const FakeTransport& Fake(const BackendTransport& transport) {
  return dynamic_cast<const FakeTransport&>(transport);
}

TEST(BackendTransportsTest, FactorySeesTheBackend) {
  Factory factory;
  BackendTransports cache(factory.Make());
  BackendConfig b = Chat();
  b.transport = "grpc";
  b.tls = {true, "ca.pem", "chat.internal"};
  std::shared_ptr<BackendTransport> t = cache.Get(b);
  EXPECT_EQ(Fake(*t).backend, b);
  EXPECT_EQ(*factory.created, 1);
}

TEST(BackendTransportsTest, RetainKeepsWhatTheTableUses) {
  Factory factory;
  BackendTransports cache(factory.Make());
  BackendConfig chat = Chat();
  BackendConfig other = Chat();
  other.name = "other";
  other.services = {"other.v1.S"};
  auto table = BuildBackendTable({chat}, &cache);
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::shared_ptr<BackendTransport> kept = (*table)->by_name.at("chat")->shared_transport();
  std::weak_ptr<BackendTransport> dropped = cache.Get(other);
  EXPECT_EQ(*factory.created, 2);

  cache.Retain(**table);
  EXPECT_TRUE(dropped.expired());  // never published: nothing holds it
  EXPECT_EQ(cache.Get(chat), kept);
  EXPECT_EQ(*factory.created, 2);
  cache.Get(other);  // created anew
  EXPECT_EQ(*factory.created, 3);
}

// --- Registry ---------------------------------------------------------------------------------

const BackendTransport* TransportOf(const Registry& registry, const std::string& name) {
  return &registry.Current()->backends->by_name.at(name)->transport();
}

TEST(RegistryTransportsTest, UpdatesKeepOrReplaceTheTransport) {
  Factory factory;
  Registry registry(nullptr, factory.Make());
  BackendConfig b = Chat();
  ASSERT_TRUE(registry.PutBackend(b).ok());
  const BackendTransport* first = TransportOf(registry, "chat");
  EXPECT_EQ(*factory.created, 1);

  // Deadlines, services and reflection settings do not touch the transport.
  b.timeout = std::chrono::milliseconds(1500);
  b.stream_timeout = std::chrono::milliseconds(2500);
  b.services.push_back("chat.v1.Admin");
  b.reflection_interval = std::chrono::seconds(5);
  ASSERT_TRUE(registry.PutBackend(b).ok());
  EXPECT_EQ(TransportOf(registry, "chat"), first);
  EXPECT_EQ(*factory.created, 1);
  EXPECT_EQ(registry.Current()->backends->by_name.at("chat")->config(), b);

  // Every upstream setting does: endpoints, transport, tls, lb, health checks, retries, ...
  std::vector<std::function<void(BackendConfig&)>> changes = {
      [](BackendConfig& c) { c.endpoints = {"127.0.0.1:50051", "127.0.0.1:50053"}; },
      [](BackendConfig& c) { c.endpoints[0].weight = 3; },
      [](BackendConfig& c) { c.transport = "grpc"; },
      [](BackendConfig& c) { c.tls = {true, "", ""}; },
      [](BackendConfig& c) { c.tls = {true, "ca.pem", ""}; },
      [](BackendConfig& c) { c.tls = {true, "ca.pem", "chat.internal"}; },
      [](BackendConfig& c) { c.lb = "least_request"; },
      [](BackendConfig& c) { c.health_check.enabled = true; },
      [](BackendConfig& c) { c.outlier.consecutive_failures = 2; },
      [](BackendConfig& c) { c.retry.attempts = 3; },
      [](BackendConfig& c) { c.max_requests = 5; },
      [](BackendConfig& c) { c.pool.connections = 1; },
  };
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const BackendTransport* before = TransportOf(registry, "chat");
    const int created = *factory.created;
    changes[i](b);
    ASSERT_TRUE(registry.PutBackend(b).ok()) << i;
    EXPECT_NE(TransportOf(registry, "chat"), before) << i;
    EXPECT_EQ(*factory.created, created + 1) << i;
    EXPECT_EQ(Fake(*TransportOf(registry, "chat")).backend, b) << i;
  }

  // The same settings again: nothing new.
  const BackendTransport* settled = TransportOf(registry, "chat");
  ASSERT_TRUE(registry.PutBackend(b).ok());
  EXPECT_EQ(TransportOf(registry, "chat"), settled);
}

TEST(RegistryTransportsTest, RejectsAnInvalidTransport) {
  Factory factory;
  Registry registry(nullptr, factory.Make());
  BackendConfig b = Chat();
  b.transport = "quic";
  Status status = registry.PutBackend(b);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "backend \"chat\": \"transport\" must be \"h2\" or \"grpc\", got \"quic\"");
  EXPECT_TRUE(registry.Current()->backends->by_name.empty());
  EXPECT_EQ(*factory.created, 0);
}

TEST(RegistryTransportsTest, TransportAndTlsSurviveARestart) {
  std::random_device rd;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("portico-backends-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::vector<BackendConfig> saved;
  {
    FileStore store(dir);
    Factory factory;
    Registry registry(&store, factory.Make());
    ASSERT_TRUE(registry.Init({}, {}).ok());
    BackendConfig a = Chat();
    a.transport = "grpc";
    a.tls = {true, "certs/ca.pem", "chat.internal"};
    BackendConfig b = Chat();
    b.name = "plain";
    b.services = {"plain.v1.S"};
    BackendConfig c = Chat();
    c.name = "system-roots";
    c.services = {"roots.v1.S"};
    c.tls.enabled = true;
    for (const BackendConfig& config : {a, b, c}) {
      ASSERT_TRUE(registry.PutBackend(config).ok());
      saved.push_back(config);
    }
  }
  FileStore store(dir);
  Factory factory;
  Registry registry(&store, factory.Make());
  ASSERT_TRUE(registry.Init({}, {}).ok());
  const auto& by_name = registry.Current()->backends->by_name;
  ASSERT_EQ(by_name.size(), saved.size());
  for (const BackendConfig& config : saved) {
    EXPECT_EQ(by_name.at(config.name)->config(), config) << config.name;
    // The recreated transports follow the stored settings.
    EXPECT_EQ(Fake(by_name.at(config.name)->transport()).backend, config);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace portico::registry
