#include "http/rest_handler.h"

#include "http/grpc_metadata.h"
#include "http/http_stream.h"

namespace portico::http {
namespace bhttp = boost::beast::http;
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::optional<Status> UnservedProtocol(const Request& request, bool raw_body) {
  const auto header = request[bhttp::field::content_type];
  const std::string type = Lower(std::string_view(header.data(), header.size()));
  const std::string media = type.substr(0, type.find(';'));
  auto starts = [&media](std::string_view prefix) { return media.rfind(prefix, 0) == 0; };
  std::string protocol;
  if (starts("application/grpc-web")) {
    protocol = "gRPC-Web";
  } else if (starts("application/grpc")) {
    protocol = "native gRPC";
  } else if (starts("application/connect+") ||
             request.find("Connect-Protocol-Version") != request.end()) {
    protocol = "the Connect protocol";
  } else if (!raw_body && (media == "application/proto" || media == "application/x-protobuf")) {
    protocol = "binary protobuf";
  } else {
    return std::nullopt;
  }
  return Status(Code::kUnimplemented,
                protocol + " is not served yet (Content-Type " +
                    registry::QuoteValue(std::string_view(header.data(), header.size())) +
                    "); send JSON (application/json) to the REST routes");
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
  // The framed protocols are told by the header alone; binary protobuf once the route is known
  // (a google.api.HttpBody route takes any body).
  if (auto refused = UnservedProtocol(header, /*raw_body=*/true)) {
    // Answered from the header: the body of a protocol not served is never read.
    return [this, status = std::move(*refused)](Request&&, std::shared_ptr<Exchange> exchange) {
      metrics_.RecordRequest("unmatched", 415, {});
      exchange->Respond(ErrorReply(status, 415));
    };
  }
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
    metrics_.RecordRequest("unmatched", response.result_int(),
                           std::chrono::steady_clock::now() - start);
  };
  // This request's one view of the registry, whatever changes meanwhile.
  auto resolved = ResolveRoute(registry_.Current(), request);
  auto* target = std::get_if<CallTarget>(&resolved);
  if (auto refused =
          UnservedProtocol(request, target && target->route->plan.request_is_http_body())) {
    Response r = ErrorReply(*refused, 415);
    refuse(r);
    return exchange->Respond(std::move(r));
  }
  if (target == nullptr) {
    Response r = std::get<Refusal>(resolved).ToResponse();
    refuse(r);
    return exchange->Respond(std::move(r));
  }
  Serve(std::move(std::get<CallTarget>(resolved)), std::move(request), std::move(exchange),
        /*body_read=*/true, start);
}

void RestHandler::Serve(CallTarget target, Request&& request, std::shared_ptr<Exchange> exchange,
                        bool body_read, std::chrono::steady_clock::time_point start) const {
  const registry::MethodInfo* method = target.method;
  auto local = [&](Response response) {
    metrics_.RecordRequest(method->path, response.result_int(),
                           std::chrono::steady_clock::now() - start);
    exchange->Respond(std::move(response));
  };
  auto spec = MakeCallSpec(target, request, exchange->peer());
  if (!spec.ok()) return local(ErrorReply(spec.status()));
  CallSetup setup{std::move(target), std::move(*spec), CallerOf(request, exchange->peer())};
  if (method->client_streaming || method->server_streaming) {
    return StartHttpStream(std::move(setup), std::move(request), body_read, std::move(exchange),
                           options_, metrics_);
  }
  auto wire = UnaryRequestWire(setup.target, request, options_);
  if (!wire.ok()) return local(ErrorReply(wire.status()));
  metrics_.InFlight(1);
  auto handle = setup.target.backend->transport().CallUnary(
      std::move(setup.spec), std::move(*wire),
      [target = std::move(setup.target), exchange, start,
       &metrics = metrics_](registry::UnaryResult result) {
        Response response = RenderUnary(target, std::move(result));
        metrics.InFlight(-1);
        metrics.RecordRequest(target.method->path, response.result_int(),
                              std::chrono::steady_clock::now() - start);
        exchange->Respond(std::move(response));
      });
  exchange->OnClientGone([handle] { handle->Cancel(); });
}

}  // namespace portico::http
