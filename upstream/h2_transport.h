// gRPC over HTTP/2 (nghttp2) on Portico's own io threads: the default registry::Transport.
// Each io thread has its own pool of connections to the endpoint, so a call made from a
// connection's thread runs start to end on that thread, with no hop to another thread.
// Connections open lazily, reconnect with backoff, and drain on GOAWAY.
//
// Thread safety: thread-safe (see registry/transport.h); a call started on one of `loops`'
// threads uses that loop's pool, a call from any other thread a pool picked round robin.
// Ownership: borrows the io_contexts, which must outlive every call. Destroying the transport
// drains its connections; calls in flight finish normally.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "registry/backend_config.h"
#include "registry/transport.h"
#include "upstream/h2_options.h"

namespace portico::upstream {

// endpoint is "host:port". A TLS setting that cannot be used (an unreadable CA file) gives a
// transport whose calls fail with UNAVAILABLE naming the problem.
std::unique_ptr<registry::Transport> MakeH2Transport(const std::string& endpoint,
                                                     const registry::BackendTls& tls,
                                                     std::vector<boost::asio::io_context*> loops,
                                                     H2Options options = {});
// The same, dialling `address` ("ip:port", as discovery found it) under the name `authority`
// ("host:port" as configured): the :authority header, and the TLS server name and SNI unless
// tls.server_name is set.
std::unique_ptr<registry::Transport> MakeH2Transport(const std::string& address,
                                                     const std::string& authority,
                                                     const registry::BackendTls& tls,
                                                     std::vector<boost::asio::io_context*> loops,
                                                     H2Options options = {});

}  // namespace portico::upstream
