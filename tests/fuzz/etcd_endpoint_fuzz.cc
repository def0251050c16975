// One etcd endpoint value as grpc-go's etcd naming writes it (upstream/etcd_endpoint.h
// ParseEtcdEndpoint): any bytes either become a usable host:port or an InvalidArgument with a
// message, and no exception escapes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.h"
#include "upstream/etcd_endpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto endpoint = portico::upstream::ParseEtcdEndpoint(portico::fuzz::AsView(data, size));
  if (!endpoint.ok()) {
    FUZZ_CHECK(endpoint.status().code() == portico::Code::kInvalidArgument,
               endpoint.status().message());
    FUZZ_CHECK(!endpoint.status().message().empty(), "a rejection needs a message");
    return 0;
  }
  FUZZ_CHECK(!endpoint->host.empty(), "empty host");
  FUZZ_CHECK(endpoint->port != 0, "port 0");
  // What it accepted is an address the rest of Portico accepts too.
  const std::string text = endpoint->host.find(':') != std::string::npos
                               ? "[" + endpoint->host + "]:" + std::to_string(endpoint->port)
                               : endpoint->host + ":" + std::to_string(endpoint->port);
  auto again = portico::registry::ParseHostPort(text);
  FUZZ_CHECK(again.ok() && *again == *endpoint, "not re-parseable: " + text);
  return 0;
}
