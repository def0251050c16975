#include "http/rest_handler.h"

#include "http/grpc_metadata.h"
#include "http/http_stream.h"
#include "transcoder/status_mapping.h"

namespace portico::http {
namespace bhttp = boost::beast::http;

std::variant<Response, RouteTarget> ResolveRoute(const registry::Snapshot& snapshot,
                                                 const Request& request, bool any_method) {
  const auto& catalog = *snapshot.catalog;
  const std::string_view target(request.target().data(), request.target().size());
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view method =
      any_method ? std::string_view()
                 : std::string_view(request.method_string().data(), request.method_string().size());

  RouteTarget out;
  out.query = q == std::string_view::npos ? "" : target.substr(q + 1);
  switch (catalog.matcher().Lookup(method, path, &out.match)) {
    case transcoder::PathMatcher::Result::kNotFound:
      return ErrorReply(NotFound("no route for " + std::string(method) + " " + std::string(path)));
    case transcoder::PathMatcher::Result::kMethodNotAllowed: {
      Response r = ErrorReply(Status(Code::kUnimplemented, "method " + std::string(method) +
                                                               " not allowed for " +
                                                               std::string(path)));
      r.result(bhttp::status::method_not_allowed);
      std::string allow;
      for (const auto& m : catalog.matcher().AllowedMethods(path)) {
        allow += allow.empty() ? m : ", " + m;
      }
      r.set(bhttp::field::allow, allow);
      return r;
    }
    case transcoder::PathMatcher::Result::kMatched:
      break;
  }
  out.route = &catalog.routes()[out.match.route];
  const std::string& service = out.route->method->descriptor->service()->full_name();
  out.backend = snapshot.backends->ForService(service);
  if (out.backend == nullptr) return ErrorReply(Unavailable("no backend serves " + service));
  return out;
}

StatusOr<registry::CallSpec> MakeCallSpec(const Request& request, const PeerInfo& peer,
                                          const registry::Backend& backend,
                                          const std::string& method) {
  registry::CallSpec spec;
  spec.method = method;
  spec.metadata = RequestMetadata(request, peer);
  auto timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(backend.config().timeout);
  const auto header = request["Grpc-Timeout"];
  if (!header.empty()) {
    auto parsed = ParseGrpcTimeout(std::string_view(header.data(), header.size()));
    if (!parsed) {
      return InvalidArgument("invalid Grpc-Timeout \"" + std::string(header) +
                             "\": expected 1-8 digits and a unit of H, M, S, m, u, n");
    }
    timeout = *parsed;
  }
  spec.deadline = std::chrono::system_clock::now() +
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout);
  return spec;
}

std::variant<Response, PreparedCall> PrepareUnary(const registry::Snapshot& snapshot,
                                                  const RouteTarget& target, const Request& request,
                                                  const PeerInfo& peer, const RestOptions& options) {
  PreparedCall call;
  call.route = target.route;
  call.backend = target.backend;
  Status s = target.route->plan.RequestToWire(snapshot.catalog->codec(), target.match.bindings,
                                              target.query, request.body(), options.strict,
                                              &call.request);
  if (!s.ok()) return ErrorReply(s);
  auto spec = MakeCallSpec(request, peer, *target.backend, target.route->method->path);
  if (!spec.ok()) return ErrorReply(spec.status());
  call.spec = std::move(*spec);
  return call;
}

Response RenderUnary(const registry::Snapshot& snapshot, const registry::Route& route,
                     registry::UnaryResult result) {
  const auto& codec = snapshot.catalog->codec();
  Response response;
  if (result.status.code == Code::kOk) {
    std::string json;
    Status s = route.plan.ReplyToJson(codec, result.response, &json);
    response = s.ok() ? MakeResponse(200, std::move(json)) : ErrorReply(s);
  } else {
    response = MakeResponse(
        static_cast<unsigned>(transcoder::HttpStatusFromCode(result.status.code)),
        transcoder::StatusJson(result.status.code, result.status.message,
                               result.status.details_bin, &codec));
  }
  AddReplyMetadata(result.headers, result.trailers, &response);
  return response;
}

RestHandler::RestHandler(const registry::Registry& registry, Metrics& metrics,
                         RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

bool RestHandler::StreamsBody(const Request& header) const {
  auto snapshot = registry_.Current();
  // Most APIs have no client streams: then no request needs this second lookup.
  if (!snapshot->catalog->has_client_streaming()) return false;
  const std::string_view target(header.target().data(), header.target().size());
  const std::string_view method(header.method_string().data(), header.method_string().size());
  transcoder::PathMatch match;
  if (snapshot->catalog->matcher().Lookup(method, target.substr(0, target.find('?')), &match) !=
      transcoder::PathMatcher::Result::kMatched) {
    return false;
  }
  return snapshot->catalog->routes()[match.route].method->client_streaming;
}

void RestHandler::operator()(Request&& request, std::shared_ptr<Exchange> exchange) const {
  const auto start = std::chrono::steady_clock::now();
  auto snapshot = registry_.Current();  // this request's view, whatever changes meanwhile
  auto resolved = ResolveRoute(*snapshot, request);
  if (auto* local = std::get_if<Response>(&resolved)) {
    metrics_.RecordRequest("unmatched", local->result_int(), std::chrono::steady_clock::now() - start);
    exchange->Respond(std::move(*local));
    return;
  }
  auto& target = std::get<RouteTarget>(resolved);
  const registry::Route* route = target.route;
  if (route->method->client_streaming || route->method->server_streaming) {
    StartHttpStream(std::move(snapshot), std::move(target), std::move(request), std::move(exchange),
                    options_, metrics_);
    return;
  }
  auto prepared = PrepareUnary(*snapshot, target, request, exchange->peer(), options_);
  if (auto* local = std::get_if<Response>(&prepared)) {
    metrics_.RecordRequest(route->method->path, local->result_int(),
                           std::chrono::steady_clock::now() - start);
    exchange->Respond(std::move(*local));
    return;
  }
  auto& call = std::get<PreparedCall>(prepared);
  metrics_.InFlight(1);
  auto handle = call.backend->Pick().CallUnary(
      std::move(call.spec), std::move(call.request),
      [snapshot, route, exchange, start, &metrics = metrics_](registry::UnaryResult result) {
        Response response = RenderUnary(*snapshot, *route, std::move(result));
        metrics.InFlight(-1);
        metrics.RecordRequest(route->method->path, response.result_int(),
                              std::chrono::steady_clock::now() - start);
        exchange->Respond(std::move(response));
      });
  exchange->OnClientGone([handle] { handle->Cancel(); });
}

}  // namespace portico::http
