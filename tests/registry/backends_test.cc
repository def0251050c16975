// TransportCache and Registry: which backend updates keep a transport (its connection) and
// which replace it, and that transport and tls survive the file store (a restart).
#include "registry/backends.h"

#include <chrono>
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

  TransportFactory Make() const {
    return [created = created](const BackendConfig& backend, const std::string& endpoint) {
      ++*created;
      return std::make_shared<FakeTransport>(backend, endpoint);
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

const FakeTransport& Fake(const std::shared_ptr<Transport>& transport) {
  return dynamic_cast<const FakeTransport&>(*transport);
}

TEST(TransportCacheTest, FactorySeesTheBackendAndTheEndpoint) {
  Factory factory;
  TransportCache cache(factory.Make());
  BackendConfig b = Chat();
  b.transport = "grpc";
  b.tls = {true, "ca.pem", "chat.internal"};
  std::shared_ptr<Transport> t = cache.Get(b, "127.0.0.1:50052");
  EXPECT_EQ(Fake(t).endpoint, "127.0.0.1:50052");
  EXPECT_EQ(Fake(t).backend, b);
  EXPECT_EQ(*factory.created, 1);
}

TEST(TransportCacheTest, SameEndpointTransportAndTlsShareOneTransport) {
  Factory factory;
  TransportCache cache(factory.Make());
  BackendConfig a = Chat();
  BackendConfig b = Chat();
  b.name = "other";                          // another backend,
  b.services = {"other.v1.S"};               // other services,
  b.timeout = std::chrono::milliseconds(1);  // another timeout: still the same connection
  EXPECT_EQ(cache.Get(a, "127.0.0.1:50051"), cache.Get(b, "127.0.0.1:50051"));
  EXPECT_EQ(*factory.created, 1);
}

TEST(TransportCacheTest, TransportKindAndEveryTlsFieldArePartOfTheKey) {
  Factory factory;
  TransportCache cache(factory.Make());
  const std::string endpoint = "127.0.0.1:50051";
  std::vector<BackendConfig> variants;
  variants.push_back(Chat());
  variants.push_back(Chat());
  variants.back().transport = "grpc";
  variants.push_back(Chat());
  variants.back().tls = {true, "", ""};
  variants.push_back(Chat());
  variants.back().tls = {true, "ca.pem", ""};
  variants.push_back(Chat());
  variants.back().tls = {true, "", "chat.internal"};
  variants.push_back(Chat());
  variants.back().tls = {true, "ca.pem", "chat.internal"};
  variants.push_back(variants.back());
  variants.back().transport = "grpc";

  std::vector<std::shared_ptr<Transport>> transports;
  for (const BackendConfig& b : variants) transports.push_back(cache.Get(b, endpoint));
  EXPECT_EQ(*factory.created, static_cast<int>(variants.size()));
  for (std::size_t i = 0; i < transports.size(); ++i) {
    for (std::size_t j = i + 1; j < transports.size(); ++j) {
      EXPECT_NE(transports[i], transports[j]) << i << " vs " << j;
    }
    // Asking again gives the same one.
    EXPECT_EQ(cache.Get(variants[i], endpoint), transports[i]) << i;
  }
  EXPECT_EQ(*factory.created, static_cast<int>(variants.size()));
}

TEST(TransportCacheTest, RetainKeepsWhatTheTableUsesByTheSameKey) {
  Factory factory;
  TransportCache cache(factory.Make());
  BackendConfig plain = Chat();
  BackendConfig tls = Chat();
  tls.tls.enabled = true;
  auto table = BuildBackendTable({tls}, &cache);
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::shared_ptr<Transport> kept = (*table)->by_name.at("chat")->transports()[0];
  std::weak_ptr<Transport> dropped = cache.Get(plain, plain.endpoints[0].address);
  EXPECT_EQ(*factory.created, 3);

  cache.Retain(**table);
  EXPECT_TRUE(dropped.expired());  // the cache let go of the plaintext transport
  EXPECT_EQ(cache.Get(tls, tls.endpoints[0].address), kept);
  EXPECT_EQ(*factory.created, 3);
  cache.Get(plain, plain.endpoints[0].address);  // created anew
  EXPECT_EQ(*factory.created, 4);
}

// --- Registry ---------------------------------------------------------------------------------

std::vector<const Transport*> TransportsOf(const Registry& registry, const std::string& name) {
  std::vector<const Transport*> out;
  for (const auto& t : registry.Current()->backends->by_name.at(name)->transports()) {
    out.push_back(t.get());
  }
  return out;
}

TEST(RegistryTransportsTest, UpdatesKeepOrReplaceTransports) {
  Factory factory;
  Registry registry(nullptr, factory.Make());
  BackendConfig b = Chat();
  ASSERT_TRUE(registry.PutBackend(b).ok());
  const std::vector<const Transport*> first = TransportsOf(registry, "chat");
  EXPECT_EQ(*factory.created, 2);

  // Timeout and services do not touch the connections.
  b.timeout = std::chrono::milliseconds(1500);
  b.services.push_back("chat.v1.Admin");
  ASSERT_TRUE(registry.PutBackend(b).ok());
  EXPECT_EQ(TransportsOf(registry, "chat"), first);
  EXPECT_EQ(*factory.created, 2);

  // A new endpoint gets a transport; the unchanged one keeps its own.
  b.endpoints = {"127.0.0.1:50051", "127.0.0.1:50053"};
  ASSERT_TRUE(registry.PutBackend(b).ok());
  std::vector<const Transport*> now = TransportsOf(registry, "chat");
  EXPECT_EQ(now[0], first[0]);
  EXPECT_NE(now[1], first[1]);
  EXPECT_EQ(*factory.created, 3);

  // Changing the transport kind replaces every transport of the backend.
  const std::vector<const Transport*> before_kind = now;
  b.transport = "grpc";
  ASSERT_TRUE(registry.PutBackend(b).ok());
  now = TransportsOf(registry, "chat");
  EXPECT_NE(now[0], before_kind[0]);
  EXPECT_NE(now[1], before_kind[1]);
  EXPECT_EQ(*factory.created, 5);
  for (const auto& t : registry.Current()->backends->by_name.at("chat")->transports()) {
    EXPECT_EQ(Fake(t).backend.transport, "grpc");
  }

  // So does changing tls, field by field.
  for (const BackendTls& tls : {BackendTls{true, "", ""}, BackendTls{true, "ca.pem", ""},
                                BackendTls{true, "ca.pem", "chat.internal"}}) {
    const std::vector<const Transport*> before = TransportsOf(registry, "chat");
    const int created = *factory.created;
    b.tls = tls;
    ASSERT_TRUE(registry.PutBackend(b).ok());
    now = TransportsOf(registry, "chat");
    EXPECT_NE(now[0], before[0]);
    EXPECT_NE(now[1], before[1]);
    EXPECT_EQ(*factory.created, created + 2);
    EXPECT_EQ(Fake(registry.Current()->backends->by_name.at("chat")->transports()[0]).backend.tls,
              tls);
  }

  // The same settings again: nothing new.
  const std::vector<const Transport*> settled = TransportsOf(registry, "chat");
  ASSERT_TRUE(registry.PutBackend(b).ok());
  EXPECT_EQ(TransportsOf(registry, "chat"), settled);
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
    EXPECT_EQ(Fake(by_name.at(config.name)->transports()[0]).backend, config);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace portico::registry
