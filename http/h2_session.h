// The HTTP/2 side of the data listener (DESIGN section 8): one connection speaking HTTP/2, h2 by
// ALPN over TLS or h2c by prior knowledge, whose streams are served by the same Handlers as
// HTTP/1.1 requests (each stream an Exchange; Request::version() is 20).
//
// Thread safety: the session runs on the connection's io thread; its Exchanges may be used from
// any thread, as exchange.h says. Ownership: the session owns itself (shared_ptr held by its
// pending operations, its streams' exchanges and the server's weak list) and the connection's
// ConnectionSlot for its whole life.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <memory>
#include <string>

#include "http/connection_slot.h"
#include "http/data_stream.h"
#include "http/server.h"

namespace portico::http {

// Serves `stream` as HTTP/2 from now on. `preread`: bytes already read from it (the client
// preface, possibly more), which the session consumes first. Must run on the stream's io
// thread.
void StartH2Session(DataStream stream, std::shared_ptr<HttpServer::State> server,
                    ConnectionSlot slot, std::string preread);

}  // namespace portico::http
