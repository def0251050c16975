#include "registry/aggregate_config.h"

#include <array>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/aggregate_walk.h"
#include "registry/backend_checks.h"
#include "registry/backend_config.h"
#include "transcoder/http_template.h"

namespace portico::registry {
namespace {

using Json = nlohmann::json;
using std::chrono::milliseconds;

constexpr std::array<std::string_view, 5> kRouteMethods = {"GET", "POST", "PUT", "PATCH",
                                                           "DELETE"};
constexpr std::uint32_t kMaxFanOut = 10000;

bool IsIdentifier(std::string_view text) {
  if (text.empty() || (text.front() >= '0' && text.front() <= '9')) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

// "a.b.c": identifiers joined by dots (the inside of a "{ref}").
bool IsRefPath(std::string_view text) {
  if (text.empty()) return false;
  for (std::size_t start = 0;;) {
    const std::size_t dot = text.find('.', start);
    if (!IsIdentifier(text.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Every '{' in `text` opens a well-formed "{ref}"; a '}' outside one is refused too, so that a
// template never means two things.
bool RefsWellFormed(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') return false;
    if (text[i] != '{') continue;
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos || !IsRefPath(text.substr(i + 1, close - i - 1))) {
      return false;
    }
    i = close;
  }
  return true;
}

bool IsWholeRef(std::string_view text) {
  return text.size() >= 3 && text.front() == '{' && text.back() == '}' &&
         IsRefPath(text.substr(1, text.size() - 2));
}

// "pkg.Service/Method": a dotted service name, one '/', a method identifier.
bool IsMethodName(std::string_view text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  return IsRefPath(text.substr(0, slash)) && IsIdentifier(text.substr(slash + 1));
}

// Collects the first problem, with the key it is at.
class Checker {
 public:
  explicit Checker(std::string* key) : key_(key) {}
  Status status() const { return status_; }
  bool Bad(bool bad, const std::string& key, const std::string& message) {
    if (bad && status_.ok()) {
      *key_ = key;
      status_ = InvalidArgument(message);
    }
    return bad;
  }

 private:
  std::string* key_;
  Status status_;
};

// Walks the strings of a request (keys of objects and indexes of arrays in the key).
void CheckRequest(const Json& value, const std::string& key, Checker& c) {
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    c.Bad(!RefsWellFormed(text), key,
          "must hold only well-formed refs such as \"{user.name}\", got " + QuoteValue(text));
  } else if (value.is_object()) {
    for (const auto& [name, item] : value.items()) CheckRequest(item, key + "." + name, c);
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      CheckRequest(value[i], key + "[" + std::to_string(i) + "]", c);
    }
  }
}

void CheckCall(const AggregateCall& call, milliseconds aggregate_timeout, Checker& c) {
  const std::string key = "calls." + call.name;
  c.Bad(!IsIdentifier(call.name), key,
        "must be named like an identifier ([A-Za-z_][A-Za-z0-9_]*), got " +
            QuoteValue(call.name));
  // "errors" is the merged reply's key for failed parts; "item" the for_each element's ref.
  c.Bad(call.name == "errors" || call.name == "item", key,
        "is reserved (\"errors\" and \"item\" cannot name a call)");
  c.Bad(call.method.empty(), key + ".method", "is required");
  c.Bad(!call.method.empty() && !IsMethodName(call.method), key + ".method",
        "must be \"pkg.Service/Method\", got " + QuoteValue(call.method));
  c.Bad(!call.request.is_object(), key + ".request", "must be an object");
  CheckRequest(call.request, key + ".request", c);
  c.Bad(call.timeout.count() < 0, key + ".timeout",
        "must not be negative, got " + QuoteValue(FormatDuration(call.timeout)));
  c.Bad(call.timeout > aggregate_timeout, key + ".timeout",
        "must not be above the aggregate's timeout " +
            QuoteValue(FormatDuration(aggregate_timeout)) + ", got " +
            QuoteValue(FormatDuration(call.timeout)));
  c.Bad(!call.for_each.empty() && !IsWholeRef(call.for_each), key + ".for_each",
        "must be one ref such as \"{orders.items}\", got " + QuoteValue(call.for_each));
  if (call.cache_ttl) {
    c.Bad(call.cache_ttl->count() <= 0, key + ".cache.ttl",
          "must be positive, got " + QuoteValue(FormatDuration(*call.cache_ttl)));
  }
}

Status AggregateError(std::string_view name, const std::string& what) {
  return InvalidArgument("aggregate " + QuoteValue(name) + ": " + what);
}

// `"key" must be ...`, or `"key": invalid duration ...` (ParseDuration's messages).
std::string KeyMessage(const std::string& key, const std::string& message) {
  return QuoteValue(key) + (message.starts_with("invalid ") ? ": " : " ") + message;
}

}  // namespace

Status CheckAggregate(const AggregateConfig& a, std::string* key) {
  Checker c(key);
  bool known_method = false;
  for (std::string_view m : kRouteMethods) known_method = known_method || m == a.http_method;
  c.Bad(!known_method, "route",
        "must start with one of GET POST PUT PATCH DELETE, got " + QuoteValue(a.http_method));
  c.Bad(a.path.empty(), "route", "is required (\"METHOD /path\")");
  if (!a.path.empty()) {
    std::string error;
    const bool parsed = a.path.front() == '/' && transcoder::HttpTemplate::Parse(a.path, &error).has_value();
    c.Bad(!parsed, "route",
          "must have a path template starting with '/', got " + QuoteValue(a.path) +
              (error.empty() ? "" : " (" + error + ")"));
  }
  c.Bad(a.timeout.count() <= 0, "timeout",
        "must be positive, got " + QuoteValue(FormatDuration(a.timeout)));
  c.Bad(a.on_error != "partial" && a.on_error != "fail", "on_error",
        "must be \"partial\" or \"fail\", got " + QuoteValue(a.on_error));
  c.Bad(a.max_fan_out < 1 || a.max_fan_out > kMaxFanOut, "max_fan_out",
        "must be 1..10000, got " + std::to_string(a.max_fan_out));
  c.Bad(a.calls.empty(), "calls", "must hold at least one call");
  for (std::size_t i = 0; i < a.calls.size(); ++i) {
    c.Bad(i > 0 && a.calls[i - 1].name >= a.calls[i].name, "calls." + a.calls[i].name,
          "must be unique and sorted by name");
    CheckCall(a.calls[i], a.timeout, c);
  }
  // Whether each ref names something real needs the descriptors: aggregate_plan.h.
  return c.status();
}

Status ValidateAggregate(const AggregateConfig& aggregate) {
  if (aggregate.name.empty()) return InvalidArgument("aggregate name must not be empty");
  if (Status s = backend_checks::CheckName(aggregate.name); !s.ok()) {
    return AggregateError(aggregate.name, s.message());
  }
  std::string key;
  if (Status s = CheckAggregate(aggregate, &key); !s.ok()) {
    return AggregateError(aggregate.name,
                          key.empty() ? s.message() : "key " + KeyMessage(key, s.message()));
  }
  return OkStatus();
}

nlohmann::json AggregateToJson(const AggregateConfig& a) {
  Json calls = Json::object();
  for (const AggregateCall& call : a.calls) {
    Json j{{"method", call.method}, {"request", call.request}};
    if (call.timeout.count() != 0) j["timeout"] = FormatDuration(call.timeout);
    if (!call.for_each.empty()) j["for_each"] = call.for_each;
    if (call.cache_ttl) j["cache"] = Json{{"ttl", FormatDuration(*call.cache_ttl)}};
    calls[call.name] = std::move(j);
  }
  return Json{{"name", a.name},
              {"route", a.http_method + " " + a.path},
              {"timeout", FormatDuration(a.timeout)},
              {"on_error", a.on_error},
              {"max_fan_out", a.max_fan_out},
              {"calls", std::move(calls)}};
}

StatusOr<AggregateConfig> AggregateFromJson(const nlohmann::json& json, std::string name) {
  using Kind = AggregateWalkError::Kind;
  AggregateConfig aggregate;
  AggregateWalkError error;
  std::string aggregate_name = name;
  if (WalkAggregate(json, std::move(name), &aggregate, &error)) return aggregate;
  // The name the walker had when it stopped: the one given, else the JSON's.
  if (aggregate_name.empty() && json.is_object()) {
    if (auto it = json.find("name"); it != json.end() && it->is_string()) {
      aggregate_name = it->get<std::string>();
    }
  }
  switch (error.kind) {
    case Kind::kNotAnObject:
      return AggregateError(aggregate_name, "expected a JSON object");
    case Kind::kUnknownKey:
      return AggregateError(aggregate_name, "unknown key " + QuoteValue(error.key));
    case Kind::kNameMismatch:
      return AggregateError(aggregate_name, "key \"name\" is " + QuoteValue(error.message) +
                                                ", which does not match");
    case Kind::kWrongType:
      return AggregateError(aggregate_name,
                            "key " + QuoteValue(error.key) + " must be " + error.message);
    case Kind::kInvalidValue:
      return AggregateError(aggregate_name, "key " + KeyMessage(error.key, error.message));
    case Kind::kInvalidAggregate:
      break;
  }
  if (aggregate_name.empty()) return InvalidArgument("aggregate name must not be empty");
  return AggregateError(aggregate_name, error.message);
}

}  // namespace portico::registry
