#include "http/admin_handler.h"

#include <algorithm>
#include <tuple>

#include <nlohmann/json.hpp>

#include "http/aggregate_admin.h"
#include "http/access_log.h"
#include "http/policy_admin.h"
#include "http/process_stats.h"
#include "http/prom_text.h"
#include "http/reflection_admin.h"
#include "http/rest_handler.h"
#include "http/status_reply.h"
#include "http/upstream_metrics.h"
#include "registry/event_log.h"
#include "transcoder/percent_encoding.h"
#include "transcoder/well_known_text.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;
using nlohmann::json;

Response Json(unsigned status, const json& body) {
  return MakeResponse(status, body.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Admin errors are the data plane's (ErrorReply), with 409 for a file still in use, and
// compiler or validation errors also as a list, one per line of the message.
Response AdminError(const Status& status) {
  Response r = ErrorReply(status, status.code() == Code::kFailedPrecondition ? 409 : 0);
  if (status.code() == Code::kInvalidArgument) {
    json body = json::parse(r.body(), nullptr, /*allow_exceptions=*/false);
    if (!body.is_object()) return r;  // never: ErrorReply writes an object
    json errors = json::array();
    std::size_t start = 0;
    const std::string& m = status.message();
    while (start < m.size()) {
      std::size_t end = m.find('\n', start);
      if (end == std::string::npos) end = m.size();
      errors.push_back(m.substr(start, end - start));
      start = end + 1;
    }
    body["errors"] = errors;
    r.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return r;
}

// 405 with Allow, as on the data plane (rest_handler.cc).
Response MethodNotAllowed(std::string_view method, const std::string& path,
                          std::string_view allow) {
  Response r = ErrorReply(
      Status(Code::kUnimplemented, "method " + std::string(method) + " not allowed for " + path),
      405);
  r.set(bhttp::field::allow, allow);
  return r;
}

std::string MediaType(const Request& request) {
  std::string type(request[bhttp::field::content_type]);
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type;
}

json BackendJson(const registry::Backend& backend, const registry::BackendTable& table,
                 const registry::ReflectionControl* reflection) {
  json out = registry::BackendToJson(backend.config());
  if (reflection && backend.config().reflection) {
    out["reflection"] = reflection->StateJson(backend.config().name);
  }
  out["source"] = table.stored.count(backend.config().name) ? "store" : "config";
  json endpoints = json::array();
  for (const registry::EndpointStatus& e : backend.transport().Endpoints()) {
    json entry{{"address", e.address},
               {"authority", e.authority},
               {"source", e.source},
               {"weight", e.weight},
               {"state", e.state},
               {"health", e.health},
               {"healthy", e.health == "healthy"     ? json(true)
                           : e.health == "unhealthy" ? json(false)
                                                     : json(nullptr)},
               {"in_flight", e.in_flight},
               {"ejections", e.ejections},
               {"ejected_until", nullptr}};
    if (e.ejected_until) entry["ejected_until"] = transcoder::FormatTimePoint(*e.ejected_until);
    endpoints.push_back(std::move(entry));
  }
  const registry::BackendStats stats = backend.transport().Stats();
  out["in_flight"] = stats.in_flight;
  if (!stats.discovery_error.empty()) out["discovery_error"] = stats.discovery_error;
  out["endpoint_health"] = endpoints;
  return out;
}

}  // namespace

std::string AdminHandler::RenderAllMetrics() const {
  auto snapshot = registry_.Current();
  std::string out = metrics_.Render() + RenderUpstreamMetrics(*snapshot->backends);
  PromHeader(out, "portico_store_errors_total", "counter",
             "Writes to the store (file or etcd) that failed, failing the admin change.");
  out += "portico_store_errors_total " + std::to_string(registry_.store_errors()) + "\n";
  PromHeader(out, "portico_store_conflicts_total", "counter",
             "Writes that lost a compare-and-swap to another replica and were applied again.");
  out += "portico_store_conflicts_total " + std::to_string(registry_.store_conflicts()) + "\n";
  if (store_health_ != nullptr) {
    const registry::StoreHealthReport health = store_health_->Health();
    PromHeader(out, "portico_store_degraded", "gauge",
               "1 while the shared store is unreachable or its content does not validate (the "
               "last snapshot keeps serving), else 0.");
    out += std::string("portico_store_degraded ") + (health.degraded ? "1" : "0") + "\n";
    PromHeader(out, "portico_store_revision", "gauge",
               "The store revision the snapshot in force reflects.");
    out += "portico_store_revision " + std::to_string(health.revision) + "\n";
    const std::tuple<const char*, const char*, std::uint64_t> counters[] = {
        {"portico_store_updates_total", "Store changes applied from the watch.", health.updates},
        {"portico_store_resyncs_total",
         "Full reloads of the store (after an outage or a compaction).", health.resyncs},
        {"portico_store_watch_errors_total",
         "Watch errors and store contents that did not validate.", health.errors}};
    for (const auto& [name, help, value] : counters) {
      PromHeader(out, name, "counter", help);
      out += std::string(name) + " " + std::to_string(value) + "\n";
    }
  }
  PromHeader(out, "portico_reflection_failures_total", "counter",
             "Server-reflection refreshes that failed (the last good set stays in force).");
  out += "portico_reflection_failures_total " +
         std::to_string(reflection_ ? reflection_->RefreshFailures() : 0) + "\n";
  PromHeader(out, "portico_reflection_ok", "gauge",
             "Per reflection backend: 1 when its last refresh succeeded, 0 when it failed.");
  if (reflection_ != nullptr) {
    for (const auto& [name, backend] : snapshot->backends->by_name) {
      const nlohmann::json state = reflection_->StateJson(name);
      if (!state.is_object()) continue;
      const auto error = state.find("error");
      const bool ok = error == state.end() || !error->is_string() || error->get<std::string>().empty();
      out += "portico_reflection_ok{backend=\"" + PromLabel(name) + "\"} " + (ok ? "1" : "0") +
             "\n";
    }
  }
  const std::pair<const char*, std::uint64_t> log_counters[] = {
      {"written", access_log_ ? access_log_->written() : 0},
      {"dropped", access_log_ ? access_log_->dropped() : 0},
      {"sampled_out", access_log_ ? access_log_->sampled_out() : 0}};
  for (const auto& [what, value] : log_counters) {
    const std::string name = std::string("portico_access_log_") + what + "_total";
    PromHeader(out, name, "counter",
               std::string("Access-log lines ") + what +
                   (std::string_view(what) == "dropped" ? " (the queue was full)" : "") + ".");
    out += name + " " + std::to_string(value) + "\n";
  }
  PromHeader(out, "portico_tls_handshake_failures_total", "counter",
             "TLS handshakes on the data listener that failed or timed out.");
  out += "portico_tls_handshake_failures_total " +
         std::to_string(data_server_ ? data_server_->tls_handshake_failures() : 0) + "\n";
  return out + RenderProcessMetrics();
}

Response AdminHandler::Healthz() const {
  json body = {{"status", "ok"}, {"generation", registry_.Current()->generation}};
  if (store_health_ != nullptr) {
    const registry::StoreHealthReport health = store_health_->Health();
    if (health.degraded) body["status"] = "degraded";
    body["store"] = {{"type", "etcd"},
                     {"revision", health.revision},
                     {"degraded", health.degraded},
                     {"reason", health.reason}};
  }
  return Json(200, body);
}

AdminHandler::AdminHandler(registry::Registry& registry, Metrics& metrics, std::string token)
    : registry_(registry), metrics_(metrics), token_(std::move(token)) {}

void AdminHandler::operator()(Request&& request, std::shared_ptr<Exchange> exchange) const {
  Response response = Handle(request);
  Record(request, response.result_int(), exchange->peer().address);
  exchange->Respond(std::move(response));
}

void AdminHandler::Record(const Request& request, unsigned status,
                          const std::string& remote) const {
  metrics_.RecordAdmin(status);
  LogAdminCall(request, status, remote);
}

void AdminHandler::LogAdminCall(const Request& request, unsigned status,
                                const std::string& remote) const {
  const auto method = request.method();
  const bool change = method != bhttp::verb::get && method != bhttp::verb::head &&
                      method != bhttp::verb::options;
  // Reads are not events; changes are (the audit trail), and so are refused credentials.
  if (!change && status != 401) return;
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, std::min(target.find('?'), kMaxLoggedPath));
  const std::string_view verb(request.method_string().data(), request.method_string().size());
  registry::LogEvent(status == 401 ? registry::LogLevel::kWarn
                     : status >= 400 ? registry::LogLevel::kWarn
                                     : registry::LogLevel::kInfo,
                     status == 401 ? "admin_unauthenticated" : "admin_change")
      // "token": the admin token was presented (and checked); "loopback": the admin API has
      // no token, so only its listener address guards it.
      .Add("who", token_.empty() ? "loopback" : status == 401 ? "unauthenticated" : "token")
      .Add("remote", remote)
      .Add("method", verb)
      .Add("path", path)
      .Add("status", status);
}

Response AdminHandler::Handle(const Request& request) const {
  const std::string_view target(request.target().data(), request.target().size());
  const auto q = target.find('?');
  const std::string path =
      transcoder::PercentDecode(target.substr(0, q), transcoder::DecodeMode::kAll);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  const auto method = request.method();

  const std::string_view method_name(request.method_string().data(),
                                     request.method_string().size());
  auto not_allowed = [&](std::string_view allow) {
    return MethodNotAllowed(method_name, path, allow);
  };
  constexpr std::string_view kDescriptors = "/admin/descriptors";
  constexpr std::string_view kBackends = "/admin/backends";
  constexpr std::string_view kPolicies = "/admin/policies";
  constexpr std::string_view kAggregates = "/admin/aggregates";
  // "<prefix>/{name}": the name, else "".
  auto entry_name = [&](std::string_view prefix) {
    const bool is_entry = path.size() > prefix.size() + 1 && path.starts_with(prefix) &&
                          path[prefix.size()] == '/';
    return is_entry ? path.substr(prefix.size() + 1) : std::string();
  };
  // PUT, GET and DELETE of a named policy or aggregate: one shape of replies for both.
  auto named_entry = [&](const std::string& name, auto put, auto get, auto remove) -> auto {
    StatusOr<json> reply = Status(Code::kInternal, "unreachable");
    if (method == bhttp::verb::put) {
      reply = put(name);
    } else if (method == bhttp::verb::get) {
      reply = get(name);
    } else if (method == bhttp::verb::delete_) {
      Status s = remove(name);
      reply = s.ok() ? StatusOr<json>(json{{"deleted", name}}) : StatusOr<json>(s);
    } else {
      return not_allowed("GET, PUT, DELETE");
    }
    if (!reply.ok()) return AdminError(reply.status());
    return Json(200, *reply);
  };

  if (path == "/admin/healthz") {
    if (method != bhttp::verb::get) return not_allowed("GET");
    return Healthz();
  }
  if (path == "/metrics") {
    if (method != bhttp::verb::get) return not_allowed("GET");
    metrics_.SetRegistryGeneration(registry_.Current()->generation);
    return MakeResponse(200, RenderAllMetrics(), "text/plain; version=0.0.4");
  }
  if (path == "/admin/routes") {
    if (method != bhttp::verb::get) return not_allowed("GET");
    return ListRoutes();
  }
  if (path == "/admin/openapi.json") {
    if (method != bhttp::verb::get) return not_allowed("GET");
    return openapi_.Reply(*registry_.Current());
  }
  if (path == kDescriptors) {
    if (method == bhttp::verb::post) return UploadDescriptors(request, query);
    if (method == bhttp::verb::get) return ListDescriptors();
    return not_allowed("GET, POST");
  }
  if (path.size() > kDescriptors.size() + 1 && path.starts_with(kDescriptors) &&
      path[kDescriptors.size()] == '/') {
    if (method != bhttp::verb::delete_) return not_allowed("DELETE");
    return DeleteDescriptor(path.substr(kDescriptors.size() + 1));
  }
  if (path == kBackends) {
    if (method != bhttp::verb::get) return not_allowed("GET");
    return ListBackends();
  }
  if (std::string name = RefreshTarget(path); reflection_ != nullptr && !name.empty()) {
    if (method != bhttp::verb::post) return not_allowed("POST");
    return RefreshBackend(*reflection_, registry_, name);
  }
  if (path.size() > kBackends.size() + 1 && path.starts_with(kBackends) &&
      path[kBackends.size()] == '/') {
    const std::string name = path.substr(kBackends.size() + 1);
    if (method == bhttp::verb::put) return PutBackend(name, request);
    if (method == bhttp::verb::get) return GetBackend(name);
    if (method == bhttp::verb::delete_) return DeleteBackend(name);
    return not_allowed("GET, PUT, DELETE");
  }
  if (path == kPolicies) {
    if (method != bhttp::verb::get) return not_allowed("GET");
    return Json(200, ListPolicies(*registry_.Current()));
  }
  if (std::string name = entry_name(kPolicies); !name.empty()) {
    return named_entry(
        name, [&](const std::string& n) { return PutPolicy(registry_, n, request.body()); },
        [&](const std::string& n) { return GetPolicy(*registry_.Current(), n); },
        [&](const std::string& n) { return registry_.RemovePolicy(n); });
  }
  if (path == kAggregates) {
    if (method != bhttp::verb::get) return not_allowed("GET");
    return Json(200, ListAggregates(*registry_.Current()));
  }
  if (std::string name = entry_name(kAggregates); !name.empty()) {
    return named_entry(
        name, [&](const std::string& n) { return PutAggregate(registry_, n, request.body()); },
        [&](const std::string& n) { return GetAggregate(*registry_.Current(), n); },
        [&](const std::string& n) { return registry_.RemoveAggregate(n); });
  }
  return AdminError(NotFound("no admin route " + path));
}

Response AdminHandler::UploadDescriptors(const Request& request, std::string_view query) const {
  const std::string type = MediaType(request);
  StatusOr<registry::UploadResult> result = Status(Code::kInternal, "unreachable");
  if (type == "application/x-protobuf" || type == "application/octet-stream" ||
      type == "application/protobuf") {
    auto files = registry::ParseDescriptorSet(request.body());
    if (!files.ok()) return AdminError(files.status());
    result = registry_.RegisterFiles(std::move(*files));
  } else if (type == "application/json") {
    json body = json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object() || !body.contains("files") ||
        !body["files"].is_object() || body["files"].empty()) {
      return AdminError(InvalidArgument(
          "expected {\"files\": {\"name.proto\": \"<source>\", ...}} with at least one file"));
    }
    std::map<std::string, std::string> sources;
    for (const auto& [name, text] : body["files"].items()) {
      if (!text.is_string()) {
        return AdminError(InvalidArgument("files[\"" + name + "\"]: expected the .proto text"));
      }
      sources[name] = text.get<std::string>();
    }
    result = registry_.RegisterSources(sources);
  } else if (type == "text/plain") {
    std::string name;
    for (const auto& [key, value] : transcoder::ParseQueryString(query)) {
      if (key == "name") name = value;
    }
    if (name.empty()) {
      return AdminError(InvalidArgument("a text/plain upload needs ?name=<file>.proto"));
    }
    result = registry_.RegisterSources({{name, request.body()}});
  } else {
    Response r = AdminError(
        InvalidArgument("unsupported Content-Type \"" + type +
                        "\": use application/x-protobuf, application/json or text/plain"));
    r.result(bhttp::status::unsupported_media_type);
    return r;
  }
  if (!result.ok()) return AdminError(result.status());
  return Json(200, {{"files", result->files}, {"services", result->services}});
}

Response AdminHandler::ListDescriptors() const {
  auto snapshot = registry_.Current();
  json files = json::array();
  for (const auto& f : snapshot->catalog->files()) {
    json deps = json::array();
    for (const auto& d : f.dependency()) deps.push_back(d);
    files.push_back({{"name", f.name()},
                     {"package", f.package()},
                     {"services", snapshot->catalog->ServicesOf(f.name())},
                     {"dependencies", deps}});
  }
  return Json(200, {{"files", files}});
}

Response AdminHandler::DeleteDescriptor(const std::string& name) const {
  Status s = registry_.RemoveFile(name);
  if (!s.ok()) return AdminError(s);
  return Json(200, {{"deleted", name}});
}

Response AdminHandler::PutBackend(const std::string& name, const Request& request) const {
  json body = json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return AdminError(InvalidArgument("body is not valid JSON"));
  auto config = registry::BackendFromJson(body, name);
  if (!config.ok()) return AdminError(config.status());
  Status s = registry_.PutBackend(*config);
  if (!s.ok()) return AdminError(s);
  auto snapshot = registry_.Current();
  auto it = snapshot->backends->by_name.find(name);
  // A concurrent DELETE may have removed it since.
  if (it == snapshot->backends->by_name.end()) return GetBackend(name);
  json reply = BackendJson(*it->second, *snapshot->backends, reflection_);
  // Accepted (the descriptor may come later), but a typo here would otherwise go unnoticed.
  const std::vector<std::string> known = snapshot->catalog->Services();
  json warnings = json::array();
  for (const auto& service : config->services) {
    if (!std::binary_search(known.begin(), known.end(), service)) {
      warnings.push_back("service \"" + service + "\" is not defined by any registered descriptor");
    }
  }
  if (!warnings.empty()) reply["warnings"] = std::move(warnings);
  return Json(200, reply);
}

Response AdminHandler::ListBackends() const {
  auto snapshot = registry_.Current();
  json backends = json::array();
  for (const auto& [name, backend] : snapshot->backends->by_name) {
    backends.push_back(BackendJson(*backend, *snapshot->backends, reflection_));
  }
  return Json(200, {{"backends", backends}});
}

Response AdminHandler::GetBackend(const std::string& name) const {
  auto snapshot = registry_.Current();
  auto it = snapshot->backends->by_name.find(name);
  if (it == snapshot->backends->by_name.end()) {
    return AdminError(NotFound("no backend \"" + name + "\""));
  }
  return Json(200, BackendJson(*it->second, *snapshot->backends, reflection_));
}

Response AdminHandler::DeleteBackend(const std::string& name) const {
  Status s = registry_.RemoveBackend(name);
  if (!s.ok()) return AdminError(s);
  return Json(200, {{"deleted", name}});
}

Response AdminHandler::ListRoutes() const {
  auto snapshot = registry_.Current();
  json routes = json::array();
  const auto& all = snapshot->catalog->routes();
  for (std::size_t index = 0; index < all.size(); ++index) {
    const auto& route = all[index];
    const auto& binding = route.plan.binding();
    const auto* backend =
        snapshot->backends->ForService(route.method->descriptor->service()->full_name());
    json r = {{"http_method", binding.http_method},
              {"path", binding.path},
              {"grpc_method", route.method->path},
              {"backend", backend ? json(backend->config().name) : json(nullptr)}};
    if (!binding.body.empty()) r["body"] = binding.body;
    if (!binding.response_body.empty()) r["response_body"] = binding.response_body;
    const bool cs = route.method->client_streaming, ss = route.method->server_streaming;
    r["streaming"] = cs && ss ? "bidi" : cs ? "client" : ss ? "server" : "unary";
    r["policies"] = RoutePolicies(*snapshot, index);
    routes.push_back(std::move(r));
  }
  return Json(200, {{"routes", routes}});
}

}  // namespace portico::http
