#include "http/logged_exchange.h"

namespace portico::http {
namespace bhttp = boost::beast::http;
namespace {

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

}  // namespace

RequestIdentity IdentityOf(const Request& request) {
  return IdentifyRequest(View(request["X-Request-Id"]), View(request["traceparent"]),
                         View(request["tracestate"]));
}

AccessRecord StartRecord(const Request& request, const PeerInfo& peer,
                         const RequestIdentity& identity, CallKind kind) {
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.kind = kind;
  r.request_id = identity.request_id;
  r.remote = peer.address;
  r.http_method = std::string(View(request.method_string()));
  const std::string_view target = View(request.target());
  r.path = std::string(target.substr(0, std::min(target.find('?'), kMaxLoggedPath)));
  const std::string_view agent = View(request[bhttp::field::user_agent]);
  r.user_agent = std::string(agent.substr(0, kMaxLoggedUserAgent));
  r.trace_id = identity.TraceId();
  return r;
}

LoggedExchange::LoggedExchange(std::shared_ptr<Exchange> inner, const Request& request,
                               AccessLog* log, bool body_read)
    : inner_(std::move(inner)), log_(log) {
  context_.identity = IdentityOf(request);
  if (log_ != nullptr) {
    context_.record = StartRecord(request, inner_->peer(), context_.identity, CallKind::kUnary);
    if (body_read) *bytes_in_ = request.body().size();
  }
}

LoggedExchange::~LoggedExchange() {
  if (log_ == nullptr) return;
  AccessRecord& r = context_.record;
  r.duration = std::chrono::steady_clock::now() - start_;
  r.bytes_in = bytes_in_->load();
  r.bytes_out = bytes_out_.load();
  log_->Submit(std::move(r));
}

void LoggedExchange::Respond(Response response) {
  if (!replied_.exchange(true)) {
    response.set("X-Request-Id", context_.identity.request_id);
    context_.record.http_status = response.result_int();
    bytes_out_ += response.body().size();
  }
  inner_->Respond(std::move(response));
}

void LoggedExchange::OnClientGone(std::function<void()> cancel) {
  inner_->OnClientGone(std::move(cancel));
}

void LoggedExchange::StartChunked(Response head) {
  if (!replied_.exchange(true)) {
    head.set("X-Request-Id", context_.identity.request_id);
    context_.record.http_status = head.result_int();
  }
  inner_->StartChunked(std::move(head));
}

void LoggedExchange::WriteChunk(std::string data, std::function<void(bool ok)> written) {
  bytes_out_ += data.size();
  inner_->WriteChunk(std::move(data), std::move(written));
}

void LoggedExchange::EndChunked() { inner_->EndChunked(); }

void LoggedExchange::EndWithTrailers(std::vector<std::pair<std::string, std::string>> trailers) {
  inner_->EndWithTrailers(std::move(trailers));
}

void LoggedExchange::ReadBody(std::function<void(bool, std::string, bool)> on_piece) {
  inner_->ReadBody([bytes = bytes_in_, on_piece = std::move(on_piece)](bool ok, std::string piece,
                                                                      bool done) {
    *bytes += piece.size();
    on_piece(ok, std::move(piece), done);
  });
}

void NoteTarget(Exchange& exchange, const CallTarget& target) {
  RequestContext* c = exchange.context();
  if (c == nullptr) return;
  c->record.route = target.route->plan.binding().path;
  c->record.grpc_method = target.method->path;
  c->record.kind = StreamKind(target.method->client_streaming, target.method->server_streaming);
}

void NoteRoute(Exchange& exchange, std::string_view route, std::string_view grpc_method) {
  RequestContext* c = exchange.context();
  if (c == nullptr) return;
  c->record.route = route;
  c->record.grpc_method = grpc_method;
}

void NoteStatus(Exchange& exchange, Code code) {
  if (RequestContext* c = exchange.context()) c->record.grpc_code = static_cast<int>(code);
}

void NoteEndpoint(Exchange& exchange, const std::string& endpoint) {
  if (RequestContext* c = exchange.context()) c->record.endpoint = endpoint;
}

const RequestIdentity* IdentityOf(Exchange& exchange) {
  RequestContext* c = exchange.context();
  return c == nullptr ? nullptr : &c->identity;
}

}  // namespace portico::http
