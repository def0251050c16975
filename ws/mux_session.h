// The multiplexed WebSocket protocol "portico.mux.v1" (DESIGN section 6): many calls on one
// socket, every frame a JSON object with an "id". A bad frame only fails its own call (or,
// when no call can be named, draws an {"error": status} frame); the socket stays open.
// Flow control: each call has a bounded queue towards the backend (overflow cancels that call
// with RESOURCE_EXHAUSTED); replies are read from the backends only while the socket's queue
// is under its limit.
#pragma once

#include <memory>

#include "registry/registry.h"
#include "ws/ws_session.h"

namespace portico::ws {

// `base` holds what every call on the socket shares: metadata from the upgrade request
// (authorization from a token, X-Forwarded-*); its method is unused.
std::shared_ptr<WsSession> MakeMuxSession(boost::asio::ip::tcp::socket socket, WsLimits limits,
                                          http::Metrics& metrics,
                                          const registry::Registry& registry,
                                          registry::CallSpec base);

}  // namespace portico::ws
