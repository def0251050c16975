#include "registry/backend_config.h"

#include "registry/backend_checks.h"
#include "registry/backend_walk.h"

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxHostLength = 253;  // the DNS limit

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsNameChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '.' || c == '_' || c == '-'; }

Status DurationError(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid duration " + QuoteValue(text) + ": " + std::string(why));
}

// A service name: dot-separated identifiers, each [A-Za-z_][A-Za-z0-9_]*.
bool IsQualifiedName(std::string_view name) {
  if (name.empty()) return false;
  bool at_start = true;
  for (char c : name) {
    if (c == '.') {
      if (at_start) return false;
      at_start = true;
    } else if (at_start) {
      if (!IsAlpha(c) && c != '_') return false;
      at_start = false;
    } else if (!IsAlpha(c) && !IsDigit(c) && c != '_') {
      return false;
    }
  }
  return !at_start;
}

Status BackendError(std::string_view name, const std::string& what) {
  return InvalidArgument("backend " + QuoteValue(name) + ": " + what);
}

// RFC 1123 host name: labels of [A-Za-z0-9-], 1..63 characters, no '-' at either end.
bool IsHostName(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostLength) return false;
  std::size_t label = 0;  // length of the current label
  char previous = '.';
  for (char c : name) {
    if (c == '.') {
      if (label == 0 || previous == '-') return false;
      label = 0;
    } else if (IsAlpha(c) || IsDigit(c) || (c == '-' && label > 0)) {
      if (++label > 63) return false;
    } else {
      return false;
    }
    previous = c;
  }
  return label > 0 && previous != '-';
}

}  // namespace

std::string QuoteValue(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  const auto junk = [text] {
    return DurationError(text, "expected a number followed by h, m, s, ms, us or ns");
  };
  std::size_t i = 0;
  const std::size_t int_begin = i;
  while (i < text.size() && IsDigit(text[i])) ++i;
  std::string_view int_digits = text.substr(int_begin, i - int_begin);
  if (int_digits.empty()) return junk();
  std::string_view frac_digits;
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    frac_digits = text.substr(frac_begin, i - frac_begin);
    if (frac_digits.empty()) return junk();
  }
  const std::string_view unit = text.substr(i);
  std::uint64_t unit_ns = 0;
  if (unit == "h") {
    unit_ns = 3'600'000'000'000;
  } else if (unit == "m") {
    unit_ns = 60'000'000'000;
  } else if (unit == "s") {
    unit_ns = 1'000'000'000;
  } else if (unit == "ms") {
    unit_ns = 1'000'000;
  } else if (unit == "us") {
    unit_ns = 1'000;
  } else if (unit == "ns") {
    unit_ns = 1;
  } else {
    return junk();
  }

  // Exact integer arithmetic, so "0.1s" is 100 ms and not 99.99...: the value is
  // mantissa * unit_ns / 10^frac_count nanoseconds. Rejecting integer parts beyond int64
  // milliseconds first keeps every product below 2^128. Fraction digits past 9 cannot move a
  // millisecond except by making a value positive, which `sticky` remembers.
  using U128 = unsigned __int128;
  constexpr auto kMaxMs =
      static_cast<U128>(std::numeric_limits<std::chrono::milliseconds::rep>::max());
  while (int_digits.size() > 1 && int_digits.front() == '0') int_digits.remove_prefix(1);
  if (int_digits.size() > 20) return DurationError(text, "out of range");
  U128 mantissa = 0;
  for (char c : int_digits) mantissa = mantissa * 10 + static_cast<unsigned>(c - '0');
  if (mantissa * unit_ns / 1'000'000 > kMaxMs) return DurationError(text, "out of range");
  U128 scale = 1;
  bool sticky = false;
  for (std::size_t k = 0; k < frac_digits.size(); ++k) {
    if (k < 9) {
      mantissa = mantissa * 10 + static_cast<unsigned>(frac_digits[k] - '0');
      scale *= 10;
    } else if (frac_digits[k] != '0') {
      sticky = true;
    }
  }
  const U128 numerator = mantissa * unit_ns;
  const U128 denominator = scale * 1'000'000;
  U128 ms = numerator / denominator;
  if (2 * (numerator % denominator) >= denominator) ++ms;  // half rounds up
  if (ms == 0 && (numerator != 0 || sticky)) ms = 1;
  if (ms > kMaxMs) {
    return DurationError(text, "out of range");
  }
  return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms));
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const std::int64_t count = d.count();
  if (count == 0) return "0s";
  // Magnitude as unsigned so that the most negative value does not overflow.
  const std::uint64_t magnitude = count < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(count)
                                            : static_cast<std::uint64_t>(count);
  std::string sign = count < 0 ? "-" : "";
  if (magnitude % 3'600'000 == 0) return sign + std::to_string(magnitude / 3'600'000) + "h";
  if (magnitude % 60'000 == 0) return sign + std::to_string(magnitude / 60'000) + "m";
  if (magnitude % 1'000 == 0) return sign + std::to_string(magnitude / 1'000) + "s";
  return sign + std::to_string(magnitude) + "ms";
}

StatusOr<HostPort> ParseHostPort(std::string_view text) {
  const std::string prefix = "invalid address " + QuoteValue(text) + ": ";
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return InvalidArgument(prefix + "expected host:port");
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  HostPort result;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return InvalidArgument(prefix + "expected [ipv6-address]:port");
    }
    host = host.substr(1, host.size() - 2);
    bool has_colon = false;
    for (char c : host) {
      if (c == ':') {
        has_colon = true;
      } else if (!IsHexDigit(c) && c != '.') {
        return InvalidArgument(prefix + "invalid IPv6 address in brackets");
      }
    }
    if (!has_colon) return InvalidArgument(prefix + "invalid IPv6 address in brackets");
  } else {
    if (host.empty()) return InvalidArgument(prefix + "the host is missing");
    if (host.find(':') != std::string_view::npos) {
      return InvalidArgument(prefix + "an IPv6 host needs brackets, e.g. \"[::1]:8080\"");
    }
    if (host.size() > kMaxHostLength) return InvalidArgument(prefix + "the host is too long");
    for (char c : host) {
      if (!IsNameChar(c)) {
        return InvalidArgument(prefix +
                               "the host may only contain letters, digits, '.', '_' "
                               "and '-'");
      }
    }
  }
  result.host = std::string(host);
  if (port_text.empty() || port_text.size() > 5) {
    return InvalidArgument(prefix + "the port must be a number 0..65535");
  }
  unsigned port = 0;
  for (char c : port_text) {
    if (!IsDigit(c)) return InvalidArgument(prefix + "the port must be a number 0..65535");
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) return InvalidArgument(prefix + "the port must be a number 0..65535");
  result.port = static_cast<std::uint16_t>(port);
  return result;
}

Status CheckTransport(std::string_view transport) {
  if (transport == kTransportH2 || transport == kTransportGrpc) return OkStatus();
  return InvalidArgument("must be \"h2\" or \"grpc\", got " + QuoteValue(transport));
}

Status CheckTlsServerName(std::string_view server_name) {
  if (IsHostName(server_name)) return OkStatus();
  return InvalidArgument("must be a host name such as \"api.example.com\", got " +
                         QuoteValue(server_name));
}

Status CheckTlsCaFile(std::string_view ca_file) {
  if (!ca_file.empty()) return OkStatus();
  return InvalidArgument("must not be empty");
}

namespace backend_checks {

std::string RangeText(UintRange r) { return std::to_string(r.min) + ".." + std::to_string(r.max); }

// `value` is text because a JSON value out of range may be negative.
Status OutOfRange(UintRange r, const std::string& value) {
  return InvalidArgument("must be " + RangeText(r) + ", got " + value);
}

bool InRange(std::uint64_t value, UintRange r) { return value >= r.min && value <= r.max; }

// RFC 9110 token, lower case (how Portico keys headers and metadata).
bool IsLowerToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || IsDigit(c) ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// The name after "dns+srv://": dot-separated labels of [A-Za-z0-9_-], each 1..63 characters,
// 253 in all (SRV owner names start with "_service._proto", which host names may not).
bool IsSrvName(std::string_view name) {
  if (name.empty() || name.size() > kMaxHostLength) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (IsAlpha(c) || IsDigit(c) || c == '-' || c == '_') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

bool IsSrv(std::string_view address) { return address.starts_with(kSrvScheme); }

Status CheckName(std::string_view name) {
  if (name.empty()) return InvalidArgument("the name must not be empty");
  if (name.size() > kMaxNameLength) {
    return InvalidArgument("the name is longer than " + std::to_string(kMaxNameLength) +
                           " characters");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return InvalidArgument("the name may only contain letters, digits, '.', '_' and '-'");
    }
  }
  return OkStatus();
}

// One field of hash_key, as stored (header and metadata lower-cased).
Status CheckHashKeyField(std::string_view field, std::string_view value) {
  if (field == "path_var") {
    if (IsQualifiedName(value)) return OkStatus();
    return InvalidArgument(
        "must be a variable of the route's path template such as \"user_id\", "
        "got " +
        QuoteValue(value));
  }
  if (IsLowerToken(value)) return OkStatus();
  return InvalidArgument(
      std::string(field == "header" ? "must be an HTTP header name" : "must be a metadata key") +
      " such as \"x-user\", got " + QuoteValue(value));
}

Status CheckEtcdEndpoint(std::string_view endpoint) {
  StatusOr<HostPort> address = ParseHostPort(endpoint);
  if (!address.ok()) return address.status();
  if (address->port == 0) {
    return InvalidArgument("invalid address " + QuoteValue(endpoint) +
                           ": the port must be 1..65535");
  }
  return OkStatus();
}

// "key" and a check's message, joined as the messages read: `"timeout": invalid duration ...`,
// `"pool.connections" must be 1..64, got 0`.
std::string KeyMessage(std::string_view key, std::string_view message) {
  return QuoteValue(key) + (message.starts_with("invalid ") ? ": " : " ") + std::string(message);
}

// Checks of the DESIGN section 9 fields (all but endpoints and services, which ValidateBackend
// checks), naming in *key the config key at fault. The message follows the key.
Status CheckUpstream(const BackendConfig& b, std::string* key) {
  const auto at = [key](std::string k, Status status) {
    *key = std::move(k);
    return status;
  };
  if (b.lb != kLbRoundRobin && b.lb != kLbWeightedRoundRobin && b.lb != kLbLeastRequest &&
      b.lb != kLbRingHash) {
    return at("lb", InvalidArgument("must be \"round_robin\", \"weighted_round_robin\", "
                                    "\"least_request\" or \"ring_hash\", got " +
                                    QuoteValue(b.lb)));
  }
  const HashKeyConfig& hash = b.hash_key;
  const int hash_fields = !hash.header.empty() + !hash.path_var.empty() + !hash.metadata.empty();
  if (b.lb == kLbRingHash && hash_fields == 0) {
    return at("hash_key", InvalidArgument("is required with lb \"ring_hash\""));
  }
  if (b.lb != kLbRingHash && hash_fields > 0) {
    return at("hash_key", InvalidArgument("is only used with lb \"ring_hash\""));
  }
  if (hash_fields > 1) return at("hash_key", InvalidArgument(std::string(kOneHashKey)));
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string&>{"header", hash.header},
        {"path_var", hash.path_var},
        {"metadata", hash.metadata}}) {
    if (value.empty()) continue;
    if (Status s = CheckHashKeyField(field, value); !s.ok()) {
      return at(std::string("hash_key.") + field, s);
    }
  }

  const HealthCheckConfig& health = b.health_check;
  if (!health.enabled && health != HealthCheckConfig{}) {
    // Not expressible in JSON or YAML, where any setting enables the checks.
    return at("health_check", InvalidArgument("has settings but is not enabled"));
  }
  for (const auto& [name, duration] :
       {std::pair<const char*, std::chrono::milliseconds>{"health_check.interval", health.interval},
        {"health_check.timeout", health.timeout},
        {"outlier.base_ejection", b.outlier.base_ejection}}) {
    if (duration.count() <= 0) {
      return at(name,
                InvalidArgument("must be positive, got " + QuoteValue(FormatDuration(duration))));
    }
  }
  if (health.timeout > health.interval) {
    return at("health_check.timeout", InvalidArgument("must not exceed health_check.interval (" +
                                                      FormatDuration(health.interval) + "), got " +
                                                      QuoteValue(FormatDuration(health.timeout))));
  }

  struct IntField {
    const char* key;
    std::uint32_t value;
    UintRange range;
  };
  for (const IntField& f : {
           IntField{"health_check.healthy_threshold", health.healthy_threshold, kThresholdRange},
           IntField{"health_check.unhealthy_threshold", health.unhealthy_threshold,
                    kThresholdRange},
           IntField{"outlier.consecutive_failures", b.outlier.consecutive_failures,
                    kConsecutiveFailuresRange},
           IntField{"outlier.max_ejection_percent", b.outlier.max_ejection_percent, kPercentRange},
           IntField{"retry.attempts", b.retry.attempts, kAttemptsRange},
           IntField{"retry.budget_percent", b.retry.budget_percent, kPercentRange},
           IntField{"max_requests", b.max_requests, kMaxRequestsRange},
           IntField{"pool.connections", b.pool.connections, kConnectionsRange},
           IntField{"pool.streams_per_connection", b.pool.streams_per_connection,
                    kStreamsPerConnectionRange},
       }) {
    if (!InRange(f.value, f.range)) return at(f.key, OutOfRange(f.range, std::to_string(f.value)));
  }

  const EtcdDiscoveryConfig& etcd = b.discovery_etcd;
  if (etcd.prefix.empty() && !etcd.endpoints.empty()) {
    return at("discovery.etcd.prefix", InvalidArgument("is required and must not be empty"));
  }
  for (std::size_t i = 0; i < etcd.endpoints.size(); ++i) {
    if (Status s = CheckEtcdEndpoint(etcd.endpoints[i]); !s.ok()) {
      return at("discovery.etcd.endpoints[" + std::to_string(i) + "]", s);
    }
  }

  if (b.reflection_interval < kMinReflectionInterval) {
    return at("reflection_interval",
              InvalidArgument("must be at least 1s, got " +
                              QuoteValue(FormatDuration(b.reflection_interval))));
  }
  return OkStatus();
}

Status CheckEndpoint(const EndpointConfig& entry) {
  const std::string& endpoint = entry.address;
  const std::string quoted = "endpoint " + QuoteValue(endpoint);
  if (IsSrv(endpoint)) {
    if (!IsSrvName(std::string_view(endpoint).substr(kSrvScheme.size()))) {
      return InvalidArgument(quoted +
                             ": expected a name such as \"dns+srv://_grpc._tcp.chat.example\" "
                             "(labels of letters, digits, '-' and '_'; no port)");
    }
    if (entry.weight != 1) {
      return InvalidArgument(quoted +
                             ": a weight is not allowed with dns+srv:// (the SRV records carry "
                             "the weights)");
    }
    return OkStatus();
  }
  StatusOr<HostPort> address = ParseHostPort(endpoint);
  if (!address.ok()) return InvalidArgument("endpoint: " + address.status().message());
  if (address->port == 0) return InvalidArgument(quoted + ": the port must be 1..65535");
  if (!InRange(entry.weight, kWeightRange)) {
    return InvalidArgument(quoted + ": the weight " +
                           OutOfRange(kWeightRange, std::to_string(entry.weight)).message());
  }
  return OkStatus();
}

}  // namespace backend_checks

using backend_checks::CheckEndpoint;
using backend_checks::CheckUpstream;
using backend_checks::KeyMessage;

Status ValidateBackend(const BackendConfig& backend) {
  const std::string& name = backend.name;
  if (name.empty()) return InvalidArgument("backend name must not be empty");
  if (Status status = backend_checks::CheckName(name); !status.ok()) {
    return BackendError(name, status.message());
  }

  // With discovery.etcd the endpoints may all come from etcd.
  if (backend.endpoints.empty() && backend.discovery_etcd.prefix.empty()) {
    return BackendError(name, "\"endpoints\" must not be empty");
  }
  std::set<std::string_view> seen;
  for (const EndpointConfig& entry : backend.endpoints) {
    if (Status status = CheckEndpoint(entry); !status.ok()) {
      return BackendError(name, status.message());
    }
    if (!seen.insert(entry.address).second) {
      return BackendError(name, "endpoint " + QuoteValue(entry.address) + " is listed twice");
    }
  }

  // With reflection the backend's own list is used.
  if (backend.services.empty() && !backend.reflection) {
    return BackendError(name, "\"services\" must not be empty");
  }
  seen.clear();
  for (const std::string& service : backend.services) {
    if (!IsQualifiedName(service)) {
      return BackendError(name, "service " + QuoteValue(service) +
                                    " is not a fully qualified name such as \"chat.v1.Chat\"");
    }
    if (!seen.insert(service).second) {
      return BackendError(name, "service " + QuoteValue(service) + " is listed twice");
    }
  }

  if (backend.timeout.count() < 0 || backend.stream_timeout.count() < 0) {
    return BackendError(name, "\"timeout\" and \"stream_timeout\" must not be negative");
  }

  if (Status status = CheckTransport(backend.transport); !status.ok()) {
    return BackendError(name, "\"transport\" " + status.message());
  }
  if (!backend.tls.enabled) {
    // Not expressible in JSON or YAML, where setting either enables TLS; BackendToJson would
    // drop them.
    if (!backend.tls.ca_file.empty() || !backend.tls.server_name.empty()) {
      const char* key = backend.tls.ca_file.empty() ? "tls.server_name" : "tls.ca_file";
      return BackendError(name, "\"" + std::string(key) + "\" is set, but TLS is not enabled");
    }
  } else if (!backend.tls.server_name.empty()) {
    if (Status status = CheckTlsServerName(backend.tls.server_name); !status.ok()) {
      return BackendError(name, "\"tls.server_name\" " + status.message());
    }
  }
  std::string key;
  if (Status status = CheckUpstream(backend, &key); !status.ok()) {
    return BackendError(name, KeyMessage(key, status.message()));
  }
  return OkStatus();
}

namespace {

using Json = nlohmann::json;

// Endpoints of weight 1 as plain strings, others as {"address", "weight"}.
Json EndpointsToJson(const std::vector<EndpointConfig>& endpoints) {
  Json out = Json::array();
  for (const EndpointConfig& e : endpoints) {
    if (e.weight == 1) {
      out.push_back(e.address);
    } else {
      out.push_back({{"address", e.address}, {"weight", e.weight}});
    }
  }
  return out;
}

// Section 9 keys, each written only when it differs from the default, so a backend that uses
// none of them keeps its shape; objects hold only their non-default fields (absent = default).
void UpstreamToJson(const BackendConfig& b, Json* json) {
  const BackendConfig defaults;
  if (b.lb != defaults.lb) (*json)["lb"] = b.lb;
  if (!b.hash_key.header.empty()) (*json)["hash_key"] = {{"header", b.hash_key.header}};
  if (!b.hash_key.path_var.empty()) (*json)["hash_key"] = {{"path_var", b.hash_key.path_var}};
  if (!b.hash_key.metadata.empty()) (*json)["hash_key"] = {{"metadata", b.hash_key.metadata}};

  const HealthCheckConfig& health = b.health_check;
  const HealthCheckConfig& health0 = defaults.health_check;
  if (health.enabled) {
    Json object = Json::object();
    if (health.interval != health0.interval) object["interval"] = FormatDuration(health.interval);
    if (health.timeout != health0.timeout) object["timeout"] = FormatDuration(health.timeout);
    if (health.healthy_threshold != health0.healthy_threshold) {
      object["healthy_threshold"] = health.healthy_threshold;
    }
    if (health.unhealthy_threshold != health0.unhealthy_threshold) {
      object["unhealthy_threshold"] = health.unhealthy_threshold;
    }
    if (!health.service.empty()) object["service"] = health.service;
    (*json)["health_check"] = object.empty() ? Json(true) : std::move(object);
  }

  const OutlierConfig& outlier = b.outlier;
  const OutlierConfig& outlier0 = defaults.outlier;
  if (outlier == OutlierConfig{0, outlier0.base_ejection, outlier0.max_ejection_percent}) {
    (*json)["outlier"] = false;
  } else if (outlier != outlier0) {
    Json object = Json::object();
    if (outlier.consecutive_failures != outlier0.consecutive_failures) {
      object["consecutive_failures"] = outlier.consecutive_failures;
    }
    if (outlier.base_ejection != outlier0.base_ejection) {
      object["base_ejection"] = FormatDuration(outlier.base_ejection);
    }
    if (outlier.max_ejection_percent != outlier0.max_ejection_percent) {
      object["max_ejection_percent"] = outlier.max_ejection_percent;
    }
    (*json)["outlier"] = std::move(object);
  }

  if (b.retry != defaults.retry) {
    Json object = Json::object();
    if (b.retry.attempts != defaults.retry.attempts) object["attempts"] = b.retry.attempts;
    if (b.retry.budget_percent != defaults.retry.budget_percent) {
      object["budget_percent"] = b.retry.budget_percent;
    }
    (*json)["retry"] = std::move(object);
  }
  if (b.max_requests != defaults.max_requests) (*json)["max_requests"] = b.max_requests;
  if (b.pool != defaults.pool) {
    Json object = Json::object();
    if (b.pool.connections != defaults.pool.connections) {
      object["connections"] = b.pool.connections;
    }
    if (b.pool.streams_per_connection != defaults.pool.streams_per_connection) {
      object["streams_per_connection"] = b.pool.streams_per_connection;
    }
    (*json)["pool"] = std::move(object);
  }
  if (!b.discovery_etcd.prefix.empty()) {
    Json etcd{{"prefix", b.discovery_etcd.prefix}};
    if (!b.discovery_etcd.endpoints.empty()) etcd["endpoints"] = b.discovery_etcd.endpoints;
    (*json)["discovery"] = {{"etcd", std::move(etcd)}};
  }
  if (b.reflection) (*json)["reflection"] = true;
  if (b.reflection_interval != defaults.reflection_interval) {
    (*json)["reflection_interval"] = FormatDuration(b.reflection_interval);
  }
}

}  // namespace

nlohmann::json BackendToJson(const BackendConfig& backend) {
  Json json{{"name", backend.name},
            {"endpoints", EndpointsToJson(backend.endpoints)},
            {"services", backend.services},
            {"timeout", FormatDuration(backend.timeout)},
            {"stream_timeout", FormatDuration(backend.stream_timeout)},
            {"transport", backend.transport}};
  const BackendTls& tls = backend.tls;
  if (tls.enabled) {
    if (tls.ca_file.empty() && tls.server_name.empty()) {
      json["tls"] = true;
    } else {
      Json object = Json::object();
      if (!tls.ca_file.empty()) object["ca_file"] = tls.ca_file;
      if (!tls.server_name.empty()) object["server_name"] = tls.server_name;
      json["tls"] = std::move(object);
    }
  }
  UpstreamToJson(backend, &json);
  return json;
}

StatusOr<BackendConfig> BackendFromJson(const nlohmann::json& json, std::string name) {
  using Kind = BackendWalkError::Kind;
  BackendConfig backend;
  BackendWalkError error;
  const std::string given = name;
  if (WalkBackend(json, std::move(name), &backend, &error)) return backend;
  // The name the walker had when it stopped: the one given, else the JSON's.
  std::string backend_name = given;
  if (backend_name.empty() && json.is_object()) {
    if (auto it = json.find("name"); it != json.end() && it->is_string()) {
      backend_name = it->get<std::string>();
    }
  }
  const std::string& key = error.key;
  switch (error.kind) {
    case Kind::kNotAnObject:
      return BackendError(backend_name, "expected a JSON object");
    case Kind::kUnknownKey:
      return BackendError(backend_name, "unknown key " + QuoteValue(key));
    case Kind::kNameMismatch:
      return BackendError(
          backend_name, "key \"name\" is " + QuoteValue(error.message) + ", which does not match");
    case Kind::kInvalidBackend:
      return InvalidArgument(error.message);
    case Kind::kWrongType:
      return BackendError(backend_name, "key " + QuoteValue(key) + " must be " + error.message);
    case Kind::kInvalidValue:
      if (key == "transport") return BackendError(backend_name, "\"transport\" " + error.message);
      return BackendError(backend_name, "key " + KeyMessage(key, error.message));
  }
  return InvalidArgument(error.message);
}

}  // namespace portico::registry
