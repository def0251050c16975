// The single-call WebSocket protocol (DESIGN section 6): one gRPC call per socket. Text frame
// -> one request message; empty text frame -> half-close; each reply -> one text frame; the
// call's status -> close code 1000 or 4000 + gRPC code with the status message as reason.
// Flow control: the next client frame is read only once the previous message reached the
// backend; replies are read from the backend only while the socket's queue is under its limit.
#pragma once

#include <memory>
#include <string>

#include "policy/chain.h"
#include "registry/registry.h"
#include "ws/ws_session.h"

namespace portico::ws {

struct CallSetup {
  std::shared_ptr<const registry::Snapshot> snapshot;  // kept alive for the call's life
  const registry::Route* route = nullptr;
  const registry::Backend* backend = nullptr;
  registry::CallSpec spec;
  std::string url_wire;  // the fields path variables and query parameters bind
  // Its place under the route's max_concurrency (policy chain), held for the socket's life.
  std::shared_ptr<policy::ConcurrencyTicket> ticket;
};

// Creates the session for an upgrade request that resolved to `setup`.
std::shared_ptr<WsSession> MakeSingleCallSession(http::DataStream stream,
                                                 WsLimits limits, http::Metrics& metrics,
                                                 CallSetup setup);

}  // namespace portico::ws
