// Active health checks of one endpoint with grpc.health.v1.Health/Check (DESIGN section 9):
// every `interval` a Check with `timeout` goes to the endpoint through its own Transport;
// `healthy_threshold` SERVING answers in a row make it healthy, `unhealthy_threshold` failures
// in a row (NOT_SERVING, SERVICE_UNKNOWN, any error status, a timeout, an unparsable reply)
// make it unhealthy. The state starts kUnknown and the first check runs at once.
//
// Thread safety: Start/Stop from any thread; on_change runs on `loop`'s thread and must not
// block. Ownership: the checker keeps the transport alive until stopped; `loop` must outlive it.
// Stop() is idempotent; no on_change runs after Stop() returns on the loop's thread (a check in
// flight is cancelled).
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "registry/transport.h"
#include "registry/upstream_config.h"

namespace portico::upstream {

enum class HealthState { kUnknown, kHealthy, kUnhealthy };

const char* HealthStateName(HealthState state);  // "unknown", "healthy", "unhealthy"

class HealthChecker {
 public:
  virtual ~HealthChecker() = default;
  virtual void Stop() = 0;
  virtual HealthState state() const = 0;  // any thread
  // Why the last check failed ("" after a SERVING answer), for the admin API. Any thread.
  virtual std::string last_error() const = 0;
};

std::shared_ptr<HealthChecker> StartHealthChecker(
    boost::asio::io_context& loop, std::shared_ptr<registry::Transport> endpoint,
    registry::HealthCheckConfig config, std::function<void(HealthState)> on_change);

// The wire forms, exposed for tests and fuzzing: HealthCheckRequest{service} and the status of
// a HealthCheckResponse (0 UNKNOWN, 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN; false when
// the bytes are not a valid message).
std::string EncodeHealthCheckRequest(const std::string& service);
bool DecodeHealthCheckResponse(std::string_view bytes, int* status);

}  // namespace portico::upstream
