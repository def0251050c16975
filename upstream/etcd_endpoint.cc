#include "upstream/etcd_endpoint.h"

#include <string>

#include <nlohmann/json.hpp>

namespace portico::upstream {

StatusOr<registry::HostPort> ParseEtcdEndpoint(std::string_view value) {
  if (value.size() > kMaxEtcdEndpointValue) {
    return InvalidArgument("endpoint value longer than " +
                           std::to_string(kMaxEtcdEndpointValue) + " bytes");
  }
  // No exceptions: parse errors give a discarded value.
  const nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgument("endpoint value is not JSON");
  if (!json.is_object()) return InvalidArgument("endpoint value is not a JSON object");
  const auto addr = json.find("Addr");
  if (addr == json.end() || !addr->is_string()) {
    return InvalidArgument("endpoint value has no string \"Addr\"");
  }
  StatusOr<registry::HostPort> hp = registry::ParseHostPort(addr->get_ref<const std::string&>());
  if (!hp.ok()) return hp.status();
  if (hp->port == 0) return InvalidArgument("endpoint \"Addr\": the port must be 1..65535");
  return hp;
}

}  // namespace portico::upstream
