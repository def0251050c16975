// EndpointTransports: which endpoints share one transport (one set of connections) across
// backends and backend updates, and that an unused one is let go.
#include "upstream/endpoint_transports.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

using registry::BackendConfig;
using registry::BackendTls;

class NullTransport final : public registry::Transport {
 public:
  std::shared_ptr<registry::CallHandle> CallUnary(
      registry::CallSpec, std::string, std::function<void(registry::UnaryResult)>) override {
    return nullptr;
  }
  std::shared_ptr<registry::StreamCall> StartStream(
      registry::CallSpec, std::shared_ptr<registry::StreamObserver>) override {
    return nullptr;
  }
  std::string State() const override { return "IDLE"; }
};

struct Counting {
  std::shared_ptr<int> created = std::make_shared<int>(0);
  std::shared_ptr<std::vector<DiscoveredEndpoint>> seen =
      std::make_shared<std::vector<DiscoveredEndpoint>>();

  EndpointTransportFactory Make() const {
    return [created = created, seen = seen](const BackendConfig&, const DiscoveredEndpoint& e) {
      ++*created;
      seen->push_back(e);
      return std::make_shared<NullTransport>();
    };
  }
};

BackendConfig Chat() {
  BackendConfig b;
  b.name = "chat";
  b.endpoints = {"127.0.0.1:50051"};
  b.services = {"chat.v1.Chat"};
  return b;
}

const DiscoveredEndpoint kEndpoint{"127.0.0.1:50051", "127.0.0.1:50051", 1, "static"};

TEST(EndpointTransportsTest, FactorySeesAddressAndAuthority) {
  Counting factory;
  EndpointTransports cache(factory.Make());
  const DiscoveredEndpoint named{"10.0.0.7:443", "orders.internal:443", 2, "dns"};
  auto t = cache.Get(Chat(), named);
  ASSERT_EQ(factory.seen->size(), 1u);
  EXPECT_EQ(factory.seen->front(), named);
}

TEST(EndpointTransportsTest, OtherBackendSettingsShareOneTransport) {
  Counting factory;
  EndpointTransports cache(factory.Make());
  BackendConfig a = Chat();
  BackendConfig b = Chat();
  b.name = "other";
  b.services = {"other.v1.S"};
  b.timeout = std::chrono::milliseconds(1);
  b.lb = "least_request";
  b.retry.attempts = 5;
  auto first = cache.Get(a, kEndpoint);
  EXPECT_EQ(cache.Get(b, kEndpoint), first);
  EXPECT_EQ(*factory.created, 1);
}

TEST(EndpointTransportsTest, AddressAuthorityKindTlsAndPoolArePartOfTheKey) {
  Counting factory;
  EndpointTransports cache(factory.Make());
  std::vector<std::pair<BackendConfig, DiscoveredEndpoint>> variants;
  variants.emplace_back(Chat(), kEndpoint);
  variants.emplace_back(Chat(),
                        DiscoveredEndpoint{"127.0.0.1:50052", "127.0.0.1:50052", 1, "static"});
  variants.emplace_back(Chat(),
                        DiscoveredEndpoint{"127.0.0.1:50051", "chat.internal:50051", 1, "dns"});
  for (auto change : std::vector<std::function<void(BackendConfig&)>>{
           [](BackendConfig& c) { c.transport = "grpc"; },
           [](BackendConfig& c) {
             c.tls = BackendTls{true, "", ""};
           },
           [](BackendConfig& c) {
             c.tls = BackendTls{true, "ca.pem", ""};
           },
           [](BackendConfig& c) {
             c.tls = BackendTls{true, "", "chat.internal"};
           },
           [](BackendConfig& c) { c.pool.connections = 1; },
           [](BackendConfig& c) { c.pool.streams_per_connection = 100; },
       }) {
    BackendConfig c = Chat();
    change(c);
    variants.emplace_back(c, kEndpoint);
  }
  std::vector<std::shared_ptr<registry::Transport>> transports;
  for (const auto& [config, endpoint] : variants) transports.push_back(cache.Get(config, endpoint));
  EXPECT_EQ(*factory.created, static_cast<int>(variants.size()));
  for (std::size_t i = 0; i < transports.size(); ++i) {
    for (std::size_t j = i + 1; j < transports.size(); ++j) {
      EXPECT_NE(transports[i], transports[j]) << i << " vs " << j;
    }
    EXPECT_EQ(cache.Get(variants[i].first, variants[i].second), transports[i]) << i;
  }
  EXPECT_EQ(*factory.created, static_cast<int>(variants.size()));
}

TEST(EndpointTransportsTest, AnUnusedTransportIsLetGo) {
  Counting factory;
  EndpointTransports cache(factory.Make());
  std::weak_ptr<registry::Transport> weak = cache.Get(Chat(), kEndpoint);
  EXPECT_TRUE(weak.expired());  // the cache does not keep it alive
  cache.Get(Chat(), kEndpoint);
  EXPECT_EQ(*factory.created, 2);
}

}  // namespace
}  // namespace portico::upstream
