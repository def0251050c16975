#include "http/rest_handler.h"

#include "http/aggregate_serve.h"
#include "http/grpc_metadata.h"
#include "http/http_stream.h"
#include "http/logged_exchange.h"
#include "http/policy_gate.h"
#include "policy/header_tokens.h"
#include "policy/response_cache.h"
#include "transcoder/percent_encoding.h"

namespace portico::http {
namespace bhttp = boost::beast::http;
namespace {

// Keeps a 200 reply in the route's cache: its body, Content-Type and reply metadata.
void StoreReply(const policy::CompiledPolicy& cache, std::string key, const Response& response) {
  auto reply = std::make_shared<policy::CachedReply>();
  reply->status = response.result_int();
  for (const auto& field : response) {
    const std::string_view name(field.name_string().data(), field.name_string().size());
    if (field.name() == bhttp::field::content_type || name.starts_with("Grpc-Metadata-")) {
      reply->headers.emplace_back(std::string(name),
                                  std::string(field.value().data(), field.value().size()));
    }
  }
  reply->body = response.body();
  cache.cache->Store(std::move(key), std::move(reply), cache.config.cache->ttl);
}

}  // namespace

std::optional<Status> BodyTypeRefused(const Request& request, bool raw_body) {
  if (raw_body || request.body().empty()) return std::nullopt;
  const auto header = request[bhttp::field::content_type];
  const std::string type = policy::AsciiLowered(std::string_view(header.data(), header.size()));
  std::string media = type.substr(0, type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  const auto ends_with = [&media](std::string_view suffix) {
    return media.size() >= suffix.size() && media.compare(media.size() - suffix.size(),
                                                          suffix.size(), suffix) == 0;
  };
  // JSON under its own names, NDJSON for streamed bodies, and the two types clients send JSON
  // under without saying so: curl -d (form) and fetch() with a string body (text/plain).
  if (media.empty() || media == "application/json" || ends_with("+json") ||
      media == "text/json" || media == "application/x-ndjson" || media == "application/ndjson" ||
      media == "text/plain" || media == "application/x-www-form-urlencoded") {
    return std::nullopt;
  }
  if (media == "application/proto" || media == "application/x-protobuf") {
    return NotSpoken(request, "binary protobuf");
  }
  return NotSpoken(request, "a REST body that is not JSON");
}

StatusOr<std::string> UnaryRequestWire(const CallTarget& target, const Request& request,
                                       const RestOptions& options) {
  std::string wire;
  const auto type = request[bhttp::field::content_type];
  Status s = target.route->plan.RequestToWire(
      target.snapshot->catalog->codec(), target.match.bindings, target.query,
      transcoder::RawBody{std::string_view(type.data(), type.size()), request.body()},
      options.strict, &wire);
  if (!s.ok()) return s;
  return wire;
}

Response RenderUnary(const CallTarget& target, registry::UnaryResult result) {
  const auto& codec = target.snapshot->catalog->codec();
  Response response;
  const auto& plan = target.route->plan;
  if (result.status.code == Code::kOk && plan.reply_is_http_body()) {
    std::string type, data;
    Status s = plan.ReplyHttpBody(result.response, &type, &data);
    response = !s.ok() ? ErrorReply(s)
                       : MakeResponse(200, std::move(data),
                                      type.empty() ? "application/octet-stream" : type);
  } else if (result.status.code == Code::kOk) {
    std::string json;
    Status s = plan.ReplyToJson(codec, result.response, &json);
    response = s.ok() ? MakeResponse(200, std::move(json)) : ErrorReply(s);
  } else {
    response = ErrorReply(result.status, &codec);
  }
  AddReplyMetadata(result.headers, result.trailers, &response);
  return response;
}

RestHandler::RestHandler(const registry::Registry& registry, Metrics& metrics,
                         RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

Handler RestHandler::StreamsBody(const Request& header) const {
  auto snapshot = registry_.Current();
  // Most APIs have no client streams: then no request needs this lookup.
  if (!snapshot->catalog->has_client_streaming()) return {};
  auto resolved = ResolveRoute(std::move(snapshot), header);
  auto* target = std::get_if<CallTarget>(&resolved);
  if (target == nullptr || !target->method->client_streaming) return {};
  return [this, target = std::move(*target)](Request&& request,
                                             std::shared_ptr<Exchange> exchange) {
    Serve(target, std::move(request), std::move(exchange), /*body_read=*/false,
          std::chrono::steady_clock::now());
  };
}

void RestHandler::operator()(Request&& request, std::shared_ptr<Exchange> exchange) const {
  const auto start = std::chrono::steady_clock::now();
  auto refuse = [&](const Response& response) {
    metrics_.RecordRequest("unmatched", "", response.result_int(), -1,
                           std::chrono::steady_clock::now() - start, request.body().size(),
                           response.body().size());
  };
  // This request's one view of the registry, whatever changes meanwhile.
  auto snapshot = registry_.Current();
  if (request.method() == bhttp::verb::options &&
      (PreflightAggregate(snapshot, request, exchange, metrics_, start) ||
       Preflight(snapshot, request, exchange, start))) {
    return;
  }
  if (snapshot->aggregates != nullptr) {
    const std::string_view target(request.target().data(), request.target().size());
    transcoder::PathMatch match;
    if (const auto* plan = snapshot->aggregates->Match(
            std::string_view(request.method_string().data(), request.method_string().size()),
            target.substr(0, target.find('?')), &match)) {
      return ServeAggregate(std::move(snapshot), *plan, std::move(match), std::move(request),
                            std::move(exchange), metrics_, start);
    }
  }
  auto aggregates = snapshot->aggregates;
  auto resolved = ResolveRoute(std::move(snapshot), request);
  auto* target = std::get_if<CallTarget>(&resolved);
  if (auto* refusal = std::get_if<Refusal>(&resolved);
      refusal != nullptr && aggregates != nullptr && refusal->status.code() == Code::kNotFound) {
    // An aggregate's path asked with another method: 405, as for a descriptor route.
    const std::string_view target_view(request.target().data(), request.target().size());
    const std::string path(target_view.substr(0, target_view.find('?')));
    std::string allow;
    transcoder::PathMatch ignored;
    for (const char* m : {"DELETE", "GET", "PATCH", "POST", "PUT"}) {  // an aggregate's methods
      if (aggregates->Match(m, path, &ignored)) {
        allow += (allow.empty() ? "" : ", ") + std::string(m);
      }
    }
    if (!allow.empty()) {
      *refusal = Refusal(Status(Code::kUnimplemented,
                                "method " + std::string(request.method_string()) +
                                    " not allowed for " + path),
                         405, std::move(allow));
    }
  }
  if (auto refused =
          BodyTypeRefused(request, target && target->route->plan.request_is_http_body())) {
    Response r = ErrorReply(*refused, 415);
    NoteStatus(*exchange, refused->code());
    refuse(r);
    return exchange->Respond(std::move(r));
  }
  if (target == nullptr) {
    const Refusal& refusal = std::get<Refusal>(resolved);
    Response r = refusal.ToResponse();
    NoteStatus(*exchange, refusal.status.code());
    refuse(r);
    return exchange->Respond(std::move(r));
  }
  Serve(std::move(std::get<CallTarget>(resolved)), std::move(request), std::move(exchange),
        /*body_read=*/true, start);
}

bool RestHandler::Preflight(const std::shared_ptr<const registry::Snapshot>& snapshot,
                            const Request& request, const std::shared_ptr<Exchange>& exchange,
                            std::chrono::steady_clock::time_point start) const {
  if (request[bhttp::field::origin].empty() ||
      request[bhttp::field::access_control_request_method].empty()) {
    return false;
  }
  auto resolved = ResolveRoute(snapshot, request, RuleChoice::kPreflight);
  auto* target = std::get_if<CallTarget>(&resolved);
  const policy::RoutePolicies* policies = target ? PoliciesOf(*target) : nullptr;
  if (policies == nullptr || policies->cors == nullptr) return false;  // 404/405 as usual
  NoteTarget(*exchange, *target);
  // CORS is decided first and synchronously: the chain answers a preflight before any step
  // that could wait.
  RunPolicies(*policies, request, exchange->peer(), /*body_complete=*/true,
              metrics_.policy_rejections(),
              [&](policy::Admission admission) {
                Response response = AdmissionResponse(admission);
                if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                  LogRefusal(admission, target->method->path, exchange->peer().address);
                  NoteStatus(*exchange, admission.status.code());
                }
                metrics_.RecordRequest(target->route->plan.binding().path, target->method->path,
                                       response.result_int(), -1,
                                       std::chrono::steady_clock::now() - start, 0,
                                       response.body().size());
                exchange->Respond(std::move(response));
              });
  return true;
}

void RestHandler::Serve(CallTarget target, Request&& request, std::shared_ptr<Exchange> exchange,
                        bool body_read, std::chrono::steady_clock::time_point start) const {
  const registry::MethodInfo* method = target.method;
  NoteTarget(*exchange, target);
  auto spec = MakeCallSpec(target, request, exchange->peer(), IdentityOf(*exchange));
  if (!spec.ok()) {
    NoteStatus(*exchange, spec.status().code());
    Response r = ErrorReply(spec.status());
    metrics_.RecordRequest(target.route->plan.binding().path, method->path, r.result_int(),
                           static_cast<int>(spec.status().code()),
                           std::chrono::steady_clock::now() - start, request.body().size(),
                           r.body().size());
    return exchange->Respond(std::move(r));
  }
  CallSetup setup{std::move(target), std::move(*spec), CallerOf(request, exchange->peer()), {}, {}};
  const policy::RoutePolicies* policies = PoliciesOf(setup.target);
  if (policies == nullptr) {
    return Call(std::move(setup), std::move(request), std::move(exchange), body_read, start,
                nullptr);
  }
  // The chain may answer later (a shared rate limit asks Redis): the request waits here.
  struct Pending {
    CallSetup setup;
    Request request;
    std::shared_ptr<Exchange> exchange;
  };
  auto pending = std::make_shared<Pending>(
      Pending{std::move(setup), std::move(request), std::move(exchange)});
  RunPolicies(*policies, pending->request, pending->exchange->peer(), body_read,
              metrics_.policy_rejections(),
              [this, pending, body_read, start](policy::Admission admission) {
                if (admission.outcome != policy::Admission::Outcome::kAllow) {
                  Response r = AdmissionResponse(admission);
                  if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                    LogRefusal(admission, pending->setup.target.method->path,
                               pending->exchange->peer().address);
                  }
                  NoteStatus(*pending->exchange, admission.status.code());
                  metrics_.RecordRequest(pending->setup.target.route->plan.binding().path,
                                         pending->setup.target.method->path, r.result_int(),
                                         static_cast<int>(admission.status.code()),
                                         std::chrono::steady_clock::now() - start,
                                         pending->request.body().size(), r.body().size());
                  return pending->exchange->Respond(std::move(r));
                }
                const policy::CompiledPolicy* cache = admission.cache;
                const bool lookup = admission.cache_lookup;
                Admitted(std::move(admission), &pending->setup);
                Call(std::move(pending->setup), std::move(pending->request),
                     std::move(pending->exchange), body_read, start, cache, lookup);
              });
}

void RestHandler::Call(CallSetup setup, Request&& request, std::shared_ptr<Exchange> exchange,
                       bool body_read, std::chrono::steady_clock::time_point start,
                       const policy::CompiledPolicy* cache, bool cache_lookup) const {
  const registry::MethodInfo* method = setup.target.method;
  if (method->client_streaming || method->server_streaming) {
    return StartHttpStream(std::move(setup), std::move(request), body_read, std::move(exchange),
                           options_, metrics_);
  }
  auto local = [&](Response response) {
    AddPolicyHeaders(setup.reply_headers, &response);
    metrics_.RecordRequest(setup.target.route->plan.binding().path, method->path,
                           response.result_int(), -1, std::chrono::steady_clock::now() - start,
                           request.body().size(), response.body().size());
    exchange->Respond(std::move(response));
  };
  auto wire = UnaryRequestWire(setup.target, request, options_);
  if (!wire.ok()) {
    NoteStatus(*exchange, wire.status().code());
    return local(ErrorReply(wire.status()));
  }
  std::string cache_key;
  if (cache != nullptr) {
    std::vector<std::string_view> vary;
    for (const auto& name : cache->config.cache->vary) {
      const auto value = request[boost::beast::string_view(name.data(), name.size())];
      vary.emplace_back(value.data(), value.size());
    }
    cache_key = policy::CacheKey(method->path, *wire, vary);
    if (cache_lookup) {
      if (auto hit = cache->cache->Find(cache_key)) {
        Response response = MakeResponse(hit->status, hit->body, "");
        for (const auto& [name, value] : hit->headers) response.set(name, value);
        response.set("X-Cache", "HIT");
        NoteStatus(*exchange, Code::kOk);
        return local(std::move(response));
      }
    }
  }
  metrics_.InFlight(1);
  auto handle = setup.target.backend->transport().CallUnary(
      std::move(setup.spec), std::move(*wire),
      [target = std::move(setup.target), exchange, start, &metrics = metrics_,
       reply_headers = std::move(setup.reply_headers), ticket = std::move(setup.ticket), cache,
       cache_key = std::move(cache_key),
       bytes_in = request.body().size()](registry::UnaryResult result) {
        const auto code = static_cast<int>(result.status.code);
        NoteStatus(*exchange, result.status.code);
        NoteEndpoint(*exchange, result.status.endpoint);
        Response response = RenderUnary(target, std::move(result));
        if (cache != nullptr) {
          if (response.result_int() == 200) StoreReply(*cache, std::move(cache_key), response);
          response.set("X-Cache", "MISS");
        }
        AddPolicyHeaders(reply_headers, &response);
        metrics.InFlight(-1);
        // An OK call whose reply could not be rendered counts as the error it became.
        metrics.RecordRequest(target.route->plan.binding().path, target.method->path,
                              response.result_int(),
                              code == 0 && response.result_int() >= 300 ? -1 : code,
                              std::chrono::steady_clock::now() - start, bytes_in,
                              response.body().size());
        exchange->Respond(std::move(response));
      });
  exchange->OnClientGone([handle] { handle->Cancel(); });
}

}  // namespace portico::http
