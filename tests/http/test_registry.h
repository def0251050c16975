// A Registry over the test protos with fake transports that record the calls they are given,
// and a fake Exchange: the socket-free pieces tests/http/ builds its tests from.
// Not thread-safe: one test thread (the fakes complete nothing by themselves).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "http/exchange.h"
#include "registry/registry.h"
#include "tests/support/gateway_fixture.h"

namespace portico::testing {

// A started streaming call: what was written to it, and its observer to drive it.
struct FakeStream final : registry::StreamCall {
  registry::CallSpec spec;
  std::shared_ptr<registry::StreamObserver> observer;
  std::vector<std::string> writes;
  bool writes_done = false;
  bool cancelled = false;
  int reads = 0;

  // Each write is done at once, as a backend that keeps up would have it.
  void Write(std::string message) override {
    writes.push_back(std::move(message));
    observer->OnWriteDone(true);
  }
  void WritesDone() override { writes_done = true; }
  void Read() override { ++reads; }
  void Cancel() override { cancelled = true; }
};

struct FakeUnary final : registry::CallHandle {
  registry::CallSpec spec;
  std::string request;
  std::function<void(registry::UnaryResult)> done;
  bool cancelled = false;
  void Cancel() override { cancelled = true; }
};

// Remembers every call; completes none (the test does, through the recorded callbacks).
class FakeTransport final : public registry::BackendTransport {
 public:
  std::shared_ptr<registry::CallHandle> CallUnary(
      registry::CallSpec spec, std::string request,
      std::function<void(registry::UnaryResult)> done) override {
    auto call = std::make_shared<FakeUnary>();
    call->spec = std::move(spec);
    call->request = std::move(request);
    call->done = std::move(done);
    unary.push_back(call);
    return call;
  }
  std::shared_ptr<registry::StreamCall> StartStream(
      registry::CallSpec spec, std::shared_ptr<registry::StreamObserver> observer) override {
    auto call = std::make_shared<FakeStream>();
    call->spec = std::move(spec);
    call->observer = std::move(observer);
    streams.push_back(call);
    return call;
  }
  std::string State() const override { return "READY"; }

  std::vector<std::shared_ptr<FakeUnary>> unary;
  std::vector<std::shared_ptr<FakeStream>> streams;
};

// The registry of a test: sources registered with RegisterSources, backends through
// PutBackend, one FakeTransport per backend (transport() by backend name).
class TestRegistry {
 public:
  TestRegistry()
      : registry_(nullptr, [this](const registry::BackendConfig& backend) {
          auto t = std::make_shared<FakeTransport>();
          transports_[backend.name] = t;
          return t;
        }) {}

  // test.proto (portico.test.v1.TestService) and, when given, more sources.
  void AddTestProto() { Add({{"portico/test/v1/test.proto", TestProtoSource()}}); }
  void Add(const std::map<std::string, std::string>& sources) {
    auto result = registry_.RegisterSources(sources);
    ASSERT_TRUE(result.ok()) << result.status().message();
  }
  // A backend named `name` on endpoint "<name>:1" serving `services`.
  void AddBackend(const std::string& name, std::vector<std::string> services,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30),
                  std::chrono::milliseconds stream_timeout = std::chrono::milliseconds(0)) {
    registry::BackendConfig b;
    b.name = name;
    b.endpoints = {name + ":1"};
    b.services = std::move(services);
    b.timeout = timeout;
    b.stream_timeout = stream_timeout;
    Status s = registry_.PutBackend(b);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  registry::Registry& registry() { return registry_; }
  std::shared_ptr<const registry::Snapshot> Current() const { return registry_.Current(); }
  FakeTransport& transport(const std::string& backend) { return *transports_.at(backend); }

 private:
  std::map<std::string, std::shared_ptr<FakeTransport>> transports_;
  registry::Registry registry_;
};

// An HTTP request as a session hands it over.
inline http::Request MakeRequest(
    boost::beast::http::verb method, const std::string& target, const std::string& body = "",
    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  http::Request r{method, target, 11};
  r.set(boost::beast::http::field::host, "gw.example:8080");
  for (const auto& [k, v] : headers) r.set(k, v);
  r.body() = body;
  return r;
}

// Records what the handler does with the exchange; the body, when the handler reads it,
// comes from `body_pieces` (then done).
class FakeExchange final : public http::Exchange {
 public:
  void Respond(http::Response response) override {
    if (!response_) response_ = std::move(response);
  }
  void OnClientGone(std::function<void()> cancel) override { gone_ = std::move(cancel); }
  const http::PeerInfo& peer() const override { return peer_; }
  void StartChunked(http::Response head) override { head_ = std::move(head); }
  void WriteChunk(std::string data, std::function<void(bool)> written) override {
    chunks_ += data;
    if (written) written(true);
  }
  void EndChunked() override { ended_ = true; }
  void ReadBody(std::function<void(bool, std::string, bool)> on_piece) override {
    ++body_reads_;
    if (body_pieces_.empty()) return on_piece(false, "", true);  // nothing more to give
    std::string piece = std::move(body_pieces_.front());
    body_pieces_.erase(body_pieces_.begin());
    on_piece(true, std::move(piece), body_pieces_.empty());
  }

  std::vector<std::string> body_pieces_;
  http::PeerInfo peer_{"203.0.113.7", "127.0.0.1:8080"};
  std::optional<http::Response> response_;
  std::optional<http::Response> head_;
  std::string chunks_;
  bool ended_ = false;
  int body_reads_ = 0;
  std::function<void()> gone_;
};

}  // namespace portico::testing
