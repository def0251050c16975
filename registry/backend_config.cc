#include "registry/backend_config.h"

#include "registry/backend_walk.h"

#include <cstdint>
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

Status ValidateBackend(const BackendConfig& backend) {
  const std::string& name = backend.name;
  if (name.empty()) return InvalidArgument("backend name must not be empty");
  if (name.size() > kMaxNameLength) {
    return BackendError(
        name, "the name is longer than " + std::to_string(kMaxNameLength) + " characters");
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return BackendError(name, "the name may only contain letters, digits, '.', '_' and '-'");
    }
  }

  if (backend.endpoints.empty()) return BackendError(name, "\"endpoints\" must not be empty");
  std::set<std::string_view> seen;
  for (const EndpointConfig& entry : backend.endpoints) {
    const std::string& endpoint = entry.address;
    StatusOr<HostPort> address = ParseHostPort(endpoint);
    if (!address.ok()) return BackendError(name, "endpoint: " + address.status().message());
    if (address->port == 0) {
      return BackendError(name, "endpoint " + QuoteValue(endpoint) + ": the port must be 1..65535");
    }
    if (!seen.insert(endpoint).second) {
      return BackendError(name, "endpoint " + QuoteValue(endpoint) + " is listed twice");
    }
  }

  if (backend.services.empty()) return BackendError(name, "\"services\" must not be empty");
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
  return OkStatus();
}

namespace {
// Endpoints of weight 1 as plain strings, others as {"address", "weight"}.
nlohmann::json EndpointsToJson(const std::vector<EndpointConfig>& endpoints) {
  nlohmann::json out = nlohmann::json::array();
  for (const EndpointConfig& e : endpoints) {
    if (e.weight == 1) {
      out.push_back(e.address);
    } else {
      out.push_back({{"address", e.address}, {"weight", e.weight}});
    }
  }
  return out;
}
}  // namespace

nlohmann::json BackendToJson(const BackendConfig& backend) {
  nlohmann::json json{{"name", backend.name},
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
      nlohmann::json object = nlohmann::json::object();
      if (!tls.ca_file.empty()) object["ca_file"] = tls.ca_file;
      if (!tls.server_name.empty()) object["server_name"] = tls.server_name;
      json["tls"] = std::move(object);
    }
  }
  return json;
}

bool WalkBackend(const nlohmann::json& json, std::string name, BackendConfig* out,
                 BackendWalkError* error) {
  using Kind = BackendWalkError::Kind;
  const auto fail = [error](Kind kind, std::string key, std::string message = "") {
    *error = BackendWalkError{kind, std::move(key), std::move(message)};
    return false;
  };
  const auto strings = [&](const nlohmann::json& value, const std::string& key,
                           std::vector<std::string>* field) {
    if (!value.is_array()) return fail(Kind::kWrongType, key);
    field->clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (!value[i].is_string()) {
        return fail(Kind::kWrongType, key + "[" + std::to_string(i) + "]");
      }
      field->push_back(value[i].get_ref<const std::string&>());
    }
    return true;
  };
  if (!json.is_object()) return fail(Kind::kNotAnObject, "");
  // "name" first, so that every later message names the backend.
  if (auto it = json.find("name"); it != json.end()) {
    if (!it->is_string()) return fail(Kind::kWrongType, "name");
    const std::string& json_name = it->get_ref<const std::string&>();
    if (name.empty()) {
      name = json_name;
    } else if (json_name != name) {
      return fail(Kind::kNameMismatch, "name", json_name);
    }
  }
  BackendConfig backend;
  backend.name = std::move(name);
  for (const auto& [key, value] : json.items()) {
    if (key == "name") continue;
    if (key == "endpoints") {
      std::vector<std::string> addresses;
      if (!strings(value, key, &addresses)) return false;
      backend.endpoints.assign(addresses.begin(), addresses.end());
    } else if (key == "services") {
      if (!strings(value, key, &backend.services)) return false;
    } else if (key == "timeout" || key == "stream_timeout") {
      if (!value.is_string()) return fail(Kind::kWrongType, key);
      StatusOr<std::chrono::milliseconds> timeout =
          ParseDuration(value.get_ref<const std::string&>());
      if (!timeout.ok()) return fail(Kind::kInvalidValue, key, timeout.status().message());
      (key == "timeout" ? backend.timeout : backend.stream_timeout) = *timeout;
    } else if (key == "transport") {
      if (!value.is_string()) return fail(Kind::kWrongType, key);
      backend.transport = value.get_ref<const std::string&>();
      if (Status s = CheckTransport(backend.transport); !s.ok()) {
        return fail(Kind::kInvalidValue, key, s.message());
      }
    } else if (key == "tls") {
      // false, true, or {"ca_file": ..., "server_name": ...} (TLS on; both optional).
      backend.tls = BackendTls{};
      if (value.is_boolean()) {
        backend.tls.enabled = value.get<bool>();
        continue;
      }
      if (!value.is_object()) return fail(Kind::kWrongType, key);
      backend.tls.enabled = true;
      for (const auto& [tls_key, item] : value.items()) {
        const std::string path = "tls." + tls_key;
        if (tls_key != "ca_file" && tls_key != "server_name") {
          return fail(Kind::kUnknownKey, path);
        }
        if (!item.is_string()) return fail(Kind::kWrongType, path);
        std::string& field =
            tls_key == "ca_file" ? backend.tls.ca_file : backend.tls.server_name;
        field = item.get_ref<const std::string&>();
        Status s = tls_key == "ca_file" ? CheckTlsCaFile(field) : CheckTlsServerName(field);
        if (!s.ok()) return fail(Kind::kInvalidValue, path, s.message());
      }
    } else {
      return fail(Kind::kUnknownKey, key);
    }
  }
  if (Status s = ValidateBackend(backend); !s.ok()) {
    return fail(Kind::kInvalidBackend, "", s.message());
  }
  *out = std::move(backend);
  return true;
}

StatusOr<BackendConfig> BackendFromJson(const nlohmann::json& json, std::string name) {
  BackendConfig backend;
  BackendWalkError error;
  const std::string given = name;
  if (WalkBackend(json, std::move(name), &backend, &error)) return backend;
  using Kind = BackendWalkError::Kind;
  // The name the walker had when it stopped: the one given, else the JSON's.
  std::string backend_name = given;
  if (backend_name.empty() && json.is_object()) {
    if (auto it = json.find("name"); it != json.end() && it->is_string()) {
      backend_name = it->get<std::string>();
    }
  }
  const std::string& key = error.key;
  const std::string base = key.substr(0, key.find('['));  // "endpoints[1]" -> "endpoints"
  switch (error.kind) {
    case Kind::kNotAnObject:
      return BackendError(backend_name, "expected a JSON object");
    case Kind::kUnknownKey:
      return BackendError(backend_name, "unknown key " + QuoteValue(key));
    case Kind::kNameMismatch:
      return BackendError(backend_name,
                          "key \"name\" is " + QuoteValue(error.message) + ", which does not match");
    case Kind::kInvalidBackend:
      return InvalidArgument(error.message);
    case Kind::kWrongType: {
      std::string what = "a string";
      if (base == "endpoints" || base == "services") what = "an array of strings";
      if (base == "timeout" || base == "stream_timeout") {
        what = "a duration string such as \"30s\"";
      }
      if (base == "transport") what = "\"h2\" or \"grpc\"";
      if (base == "tls") what = "true, false or an object";
      return BackendError(backend_name, "key " + QuoteValue(base) + " must be " + what);
    }
    case Kind::kInvalidValue:
      if (base == "transport") {
        return BackendError(backend_name, "\"transport\" " + error.message);
      }
      if (base == "timeout" || base == "stream_timeout") {
        return BackendError(backend_name, "key " + QuoteValue(base) + ": " + error.message);
      }
      return BackendError(backend_name, "key " + QuoteValue(base) + " " + error.message);
  }
  return InvalidArgument(error.message);
}

}  // namespace portico::registry
