// The multiplexed WebSocket protocol "portico.mux.v1" (DESIGN section 6): many calls on one
// socket, every frame a JSON object with an "id", parsed by ParseMuxFrame (mux_frame.h). A bad
// frame only fails its own call (or, when no call can be named, draws an {"error": status}
// frame); the socket stays open. Client metadata goes through http::AddClientMetadata.
// Flow control, both ways under WsLimits::max_queued_bytes: the socket is read only while the
// frames queued for the client (replies and error frames alike) and the messages queued
// towards the backends (all calls together) are each under it; replies are read from a
// backend only while the client's queue is under it.
#pragma once

#include <memory>

#include "registry/registry.h"
#include "ws/ws_session.h"

namespace portico::ws {

// `base` holds what every call on the socket shares: metadata from the upgrade request
// (authorization from a token, X-Forwarded-*); its method is unused.
std::shared_ptr<WsSession> MakeMuxSession(http::DataStream stream, WsLimits limits,
                                          http::Metrics& metrics,
                                          const registry::Registry& registry,
                                          registry::CallSpec base,
                                          std::shared_ptr<const http::Request> upgrade,
                                          http::PeerInfo peer);

}  // namespace portico::ws
