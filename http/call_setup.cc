#include "http/call_setup.h"

#include <boost/beast/core/string.hpp>

#include "http/grpc_metadata.h"
#include "http/status_reply.h"
#include "policy/chain.h"
#include "policy/header_tokens.h"
#include "transcoder/utf8.h"

namespace portico::http {
namespace bhttp = boost::beast::http;
namespace {

using transcoder::PathMatcher;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

// A client-chosen name quoted for an error message, bounded so that a huge name does not
// make a huge reply: its first kMaxQuotedBytes (whole UTF-8 characters), "..." when cut.
constexpr std::size_t kMaxQuotedBytes = 128;

std::string QuotedName(std::string_view name) {
  const std::string_view kept = transcoder::Utf8Prefix(name, kMaxQuotedBytes);
  return "\"" + std::string(kept) + (kept.size() < name.size() ? "...\"" : "\"");
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

std::string_view QueryOf(std::string_view target) {
  const auto q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

// The target of a matched route, or 503 when no backend serves its service.
Resolution Target(std::shared_ptr<const registry::Snapshot> snapshot, transcoder::PathMatch match,
                  std::string_view query) {
  CallTarget out;
  out.route = &snapshot->catalog->routes()[match.route];
  out.method = out.route->method;
  const std::string& service = out.method->descriptor->service()->full_name();
  out.backend = snapshot->backends->ForService(service);
  if (out.backend == nullptr) return Refusal{Unavailable("no backend serves " + service)};
  out.snapshot = std::move(snapshot);
  out.match = std::move(match);
  out.query = std::string(query);
  return out;
}

Refusal MethodNotAllowed(const registry::Catalog& catalog, std::string_view path,
                         std::string message) {
  Refusal r{Status(Code::kUnimplemented, std::move(message)), 405, ""};
  for (const auto& m : catalog.matcher().AllowedMethods(path)) {
    r.allow += r.allow.empty() ? m : ", " + m;
  }
  return r;
}

Resolution ResolveUpgrade(std::shared_ptr<const registry::Snapshot> snapshot, std::string_view path,
                          std::string_view query) {
  const auto& catalog = *snapshot->catalog;
  std::optional<transcoder::PathMatch> best;
  int best_rank = 0;
  bool other_methods = false;
  for (const std::string_view method : {std::string_view("GET"), std::string_view("POST")}) {
    transcoder::PathMatch match;
    const auto result = catalog.matcher().Lookup(method, path, &match);
    if (result == PathMatcher::Result::kMethodNotAllowed) other_methods = true;
    if (result != PathMatcher::Result::kMatched) continue;
    const registry::MethodInfo& info = *catalog.routes()[match.route].method;
    // Lower is better: streaming GET, streaming POST, GET, POST.
    const int rank =
        (info.client_streaming || info.server_streaming ? 0 : 2) + (method == "POST" ? 1 : 0);
    if (!best || rank < best_rank) {
      best = std::move(match);
      best_rank = rank;
    }
  }
  if (best) return Target(std::move(snapshot), std::move(*best), query);
  if (!other_methods) return Refusal{NotFound("no route for " + std::string(path))};
  return MethodNotAllowed(catalog, path,
                          "a WebSocket upgrade takes only a GET or POST rule, and " +
                              std::string(path) + " has none (use /package.Service/Method)");
}

}  // namespace

Caller CallerOf(const Request& request, const PeerInfo& peer) {
  return Caller{peer.address, std::string(View(request[bhttp::field::authorization]))};
}

Response Refusal::ToResponse() const {
  Response r = ErrorReply(status, http_status);
  if (!allow.empty()) r.set(bhttp::field::allow, allow);
  return r;
}

Resolution ResolveRoute(std::shared_ptr<const registry::Snapshot> snapshot, const Request& request,
                        RuleChoice choice) {
  const std::string_view target = View(request.target());
  const std::string_view path = PathOf(target);
  if (choice == RuleChoice::kUpgrade)
    return ResolveUpgrade(std::move(snapshot), path, QueryOf(target));
  const std::string_view method =
      choice == RuleChoice::kPreflight ? View(request["Access-Control-Request-Method"])
                                       : View(request.method_string());
  transcoder::PathMatch match;
  switch (snapshot->catalog->matcher().Lookup(method, path, &match)) {
    case PathMatcher::Result::kNotFound:
      return Refusal{NotFound("no route for " + std::string(method) + " " + std::string(path))};
    case PathMatcher::Result::kMethodNotAllowed:
      return MethodNotAllowed(
          *snapshot->catalog, path,
          "method " + std::string(method) + " not allowed for " + std::string(path));
    case PathMatcher::Result::kMatched:
      break;
  }
  return Target(std::move(snapshot), std::move(match), QueryOf(target));
}

Resolution ResolveMethod(std::shared_ptr<const registry::Snapshot> snapshot,
                         std::string_view method_path) {
  transcoder::PathMatch match;
  if (snapshot->catalog->FindMethod(method_path) == nullptr ||
      snapshot->catalog->matcher().Lookup("POST", method_path, &match) !=
          PathMatcher::Result::kMatched) {
    return Refusal{Status(Code::kUnimplemented, "unknown method " + QuotedName(method_path))};
  }
  return Target(std::move(snapshot), std::move(match), "");
}

std::chrono::system_clock::time_point CallDeadline(
    const registry::BackendConfig& backend, const registry::MethodInfo& method,
    std::optional<std::chrono::nanoseconds> client_timeout,
    std::chrono::system_clock::time_point now) {
  using std::chrono::nanoseconds;
  using TimePoint = std::chrono::system_clock::time_point;
  nanoseconds timeout;
  if (client_timeout) {
    timeout = *client_timeout;
  } else {
    const auto configured = method.server_streaming ? backend.stream_timeout : backend.timeout;
    if (configured.count() <= 0) return TimePoint::max();
    timeout = configured;
  }
  if (timeout.count() <= 0) return now;  // "0S" from a client: already expired
  if (std::chrono::duration_cast<nanoseconds>(TimePoint::max() - now) <= timeout) {
    return TimePoint::max();
  }
  return now + std::chrono::duration_cast<TimePoint::duration>(timeout);
}

namespace {

// ring_hash's key (DESIGN section 9): a path variable of the matched route, or a metadata key
// (for `header`, the HTTP front doors look at the request's headers themselves).
std::optional<std::string> HashKeyOf(const registry::HashKeyConfig& key, const CallTarget& target,
                                     const registry::Metadata& metadata) {
  if (!key.path_var.empty()) {
    // Compared segment by segment: nothing is built per request.
    const auto is_key = [&key](const std::vector<std::string>& fields) {
      std::string_view rest = key.path_var;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!rest.starts_with(fields[i])) return false;
        rest.remove_prefix(fields[i].size());
        if (i + 1 < fields.size()) {
          if (!rest.starts_with('.')) return false;
          rest.remove_prefix(1);
        }
      }
      return rest.empty() && !fields.empty();
    };
    for (const auto& binding : target.match.bindings) {
      if (is_key(binding.field_path)) return binding.value;
    }
    return std::nullopt;
  }
  const std::string& name = key.header.empty() ? key.metadata : key.header;
  if (name.empty()) return std::nullopt;
  for (const auto& [k, v] : metadata) {
    if (k == name) return v;
  }
  return std::nullopt;
}

}  // namespace

registry::CallSpec MakeCallSpec(const CallTarget& target, registry::Metadata metadata,
                                std::optional<std::chrono::nanoseconds> client_timeout) {
  const registry::BackendConfig& backend = target.backend->config();
  registry::CallSpec spec;
  spec.method = target.method->path;
  spec.metadata = std::move(metadata);
  spec.deadline = CallDeadline(backend, *target.method, client_timeout);
  spec.idempotent = target.method->descriptor != nullptr &&
                    target.method->descriptor->options().idempotency_level() !=
                        google::protobuf::MethodOptions::IDEMPOTENCY_UNKNOWN;
  if (backend.lb == registry::kLbRingHash) {
    spec.hash_key = HashKeyOf(backend.hash_key, target, spec.metadata);
  }
  return spec;
}

namespace {

// ring_hash by header: any request header, not only those forwarded as metadata.
void SetHashKey(const CallTarget& target, const Request& request, registry::CallSpec* spec) {
  const registry::BackendConfig& backend = target.backend->config();
  if (backend.lb == registry::kLbRingHash && !backend.hash_key.header.empty()) {
    const auto it = request.find(backend.hash_key.header);
    if (it != request.end()) spec->hash_key = std::string(it->value());
  }
}

}  // namespace

StatusOr<registry::CallSpec> MakeCallSpec(const CallTarget& target, const Request& request,
                                          const PeerInfo& peer,
                                          const RequestIdentity* identity) {
  std::optional<std::chrono::nanoseconds> client_timeout;
  const std::string_view header = View(request["Grpc-Timeout"]);
  if (!header.empty()) {
    client_timeout = ParseGrpcTimeout(header);
    if (!client_timeout) {
      return InvalidArgument("invalid Grpc-Timeout \"" + std::string(header) +
                             "\": expected 1-8 digits and a unit of H, M, S, m, u, n");
    }
  }
  registry::CallSpec spec = MakeCallSpec(target, RequestMetadata(request, peer, identity), client_timeout);
  // A GET rule promises a safe method (DESIGN section 9, retries).
  if (request.method() == boost::beast::http::verb::get) spec.idempotent = true;
  SetHashKey(target, request, &spec);
  return spec;
}

std::variant<Refusal, CallSetup> SetUpCall(std::shared_ptr<const registry::Snapshot> snapshot,
                                           const Request& request, const PeerInfo& peer,
                                           RuleChoice choice, const RequestIdentity* identity) {
  auto resolved = ResolveRoute(std::move(snapshot), request, choice);
  if (auto* refusal = std::get_if<Refusal>(&resolved)) return std::move(*refusal);
  CallSetup setup;
  setup.target = std::move(std::get<CallTarget>(resolved));
  auto spec = MakeCallSpec(setup.target, request, peer, identity);
  if (!spec.ok()) return Refusal{spec.status()};
  setup.spec = std::move(*spec);
  setup.caller = CallerOf(request, peer);
  return setup;
}

std::variant<Refusal, CallSetup> SetUpMethodCall(
    std::shared_ptr<const registry::Snapshot> snapshot, const Request& request,
    const PeerInfo& peer, std::optional<std::chrono::nanoseconds> client_timeout,
    const RequestIdentity* identity) {
  const std::string_view target = View(request.target());
  auto resolved = ResolveMethod(std::move(snapshot), target.substr(0, target.find('?')));
  if (auto* refusal = std::get_if<Refusal>(&resolved)) return std::move(*refusal);
  CallSetup setup;
  setup.target = std::move(std::get<CallTarget>(resolved));
  setup.spec = MakeCallSpec(setup.target, GrpcHeaderMetadata(request, peer, identity),
                            client_timeout);
  SetHashKey(setup.target, request, &setup.spec);
  setup.caller = CallerOf(request, peer);
  return setup;
}

Status CheckOrigin(const Request& request, const std::vector<std::string>& allowed_origins) {
  const std::string_view origin = View(request[bhttp::field::origin]);
  if (origin.empty()) return OkStatus();
  if (policy::SameHost(origin, View(request[bhttp::field::host]))) return OkStatus();
  std::string_view trimmed = origin;
  if (trimmed.back() == '/') trimmed.remove_suffix(1);
  for (const auto& allowed : allowed_origins) {
    if (allowed == "*" || policy::AsciiLowered(allowed) == policy::AsciiLowered(trimmed)) return OkStatus();
  }
  return Status(Code::kPermissionDenied,
                "WebSocket origin " + registry::QuoteValue(origin) +
                    " is neither this host nor listed in websocket.allowed_origins");
}

}  // namespace portico::http
