// A backend transport for registry tests that calls nothing and remembers what it was created
// for.
// Not thread-safe; tests use it from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "registry/backend_config.h"
#include "registry/transport.h"

namespace portico::registry {

class FakeTransport final : public BackendTransport {
 public:
  explicit FakeTransport(BackendConfig backend) : backend(std::move(backend)) {}
  std::shared_ptr<CallHandle> CallUnary(CallSpec, std::string,
                                        std::function<void(UnaryResult)>) override {
    return nullptr;
  }
  std::shared_ptr<StreamCall> StartStream(CallSpec, std::shared_ptr<StreamObserver>) override {
    return nullptr;
  }
  std::string State() const override { return "IDLE"; }

  const BackendConfig backend;
};

}  // namespace portico::registry
