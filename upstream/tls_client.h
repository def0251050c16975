// The OpenSSL client context for TLS to a backend: peer verification against a CA file (or the
// system store) and ALPN offering only "h2", as gRPC requires. Pure set-up, no sockets.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "transcoder/status.h"

namespace portico::upstream {

// ca_file empty = the system's default CA store; else the file as ReadCaFile (ca_file.h) reads it
// for both transports. UNAVAILABLE naming the file when it cannot be used.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& ca_file);

}  // namespace portico::upstream
