// What the policy chain may look at in a request, whatever the front door: views into the
// adapter's own request object, valid for the duration of PolicyChain's synchronous part (the
// chain copies what it still needs before anything asynchronous).
#pragma once

#include <string_view>

namespace portico::policy {

// Request headers (HTTP headers, or gRPC metadata for native gRPC) by lower-case name.
class HeaderSource {
 public:
  // The first value of `lower_name`, "" when absent.
  virtual std::string_view Get(std::string_view lower_name) const = 0;

 protected:
  ~HeaderSource() = default;
};

struct RequestFacts {
  std::string_view http_method;  // "GET", "POST", ... (a WebSocket call: "GET", its upgrade's)
  std::string_view target;       // path and query as sent ("/v1/orders?x=1")
  std::string_view query;        // the query without '?'
  std::string_view peer;         // the TCP peer's IP
  const HeaderSource* headers = nullptr;  // never null when the chain runs
  std::string_view body;         // the whole body, when body_complete
  bool body_complete = false;    // false for bodies that stream (client streams, WebSocket)
  // A WebSocket call: its handshake's Origin check (DESIGN section 6) governs cross-site use,
  // so CORS is not consulted.
  bool websocket = false;
};

}  // namespace portico::policy
