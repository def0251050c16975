#include "http/console_handler.h"

#include "http/logged_exchange.h"
#include "http/status_reply.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view kConsole = "/console";
constexpr std::string_view kCall = "/console/call";

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

// A reply of a console call is the backend's content on the admin origin: it must never run
// as a page there (a text/html HttpBody, say). So no sniffing, and a sandboxed CSP that leaves
// a document opened from it without the origin, scripts or subresources.
constexpr std::string_view kCallCsp = "default-src 'none'; frame-ancestors 'none'; sandbox";

void SetCallHeaders(Response& response) {
  response.set("Content-Security-Policy", kCallCsp);
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
}

// Puts the call headers on the reply, whole or chunked; forwards everything else.
class CallHeadersExchange final : public Exchange {
 public:
  explicit CallHeadersExchange(std::shared_ptr<Exchange> inner) : inner_(std::move(inner)) {}
  void Respond(Response response) override {
    SetCallHeaders(response);
    inner_->Respond(std::move(response));
  }
  void OnClientGone(std::function<void()> cancel) override {
    inner_->OnClientGone(std::move(cancel));
  }
  const PeerInfo& peer() const override { return inner_->peer(); }
  void StartChunked(Response head) override {
    SetCallHeaders(head);
    inner_->StartChunked(std::move(head));
  }
  void WriteChunk(std::string data, std::function<void(bool ok)> written) override {
    inner_->WriteChunk(std::move(data), std::move(written));
  }
  void EndChunked() override { inner_->EndChunked(); }
  void EndWithTrailers(std::vector<std::pair<std::string, std::string>> trailers) override {
    inner_->EndWithTrailers(std::move(trailers));
  }
  void ReadBody(std::function<void(bool ok, std::string piece, bool done)> on_piece) override {
    inner_->ReadBody(std::move(on_piece));
  }
  RequestContext* context() override { return inner_->context(); }

 private:
  std::shared_ptr<Exchange> inner_;
};

// The request as the data listener would have had it.
void Retarget(Request& request) {
  const std::string_view target(request.target().data(), request.target().size());
  if (auto data_target = ConsoleCallTarget(target)) request.target(*data_target);
}

}  // namespace

ConsoleRoute ClassifyConsole(std::string_view target) {
  const std::string_view path = PathOf(target);
  if (!path.starts_with(kConsole)) return ConsoleRoute::kNone;
  if (path.size() > kConsole.size() && path[kConsole.size()] != '/') return ConsoleRoute::kNone;
  if (path == "/console/login") return ConsoleRoute::kLogin;
  if (path == "/console/logout") return ConsoleRoute::kLogout;
  if (path.starts_with(kCall) && (path.size() == kCall.size() || path[kCall.size()] == '/')) {
    return ConsoleRoute::kCall;
  }
  return ConsoleRoute::kStatic;
}

std::optional<std::string> ConsoleCallTarget(std::string_view target) {
  if (ClassifyConsole(target) != ConsoleRoute::kCall) return std::nullopt;
  std::string_view rest = target.substr(kCall.size());
  if (rest.empty() || rest.front() != '/') return "/" + std::string(rest);
  return std::string(rest);
}

void SetConsoleSecurityHeaders(Response& response) {
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
               "form-action 'self'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
}

ConsoleHandler::ConsoleHandler(ConsoleAssets assets, const FrontDoor& front_door, AccessLog* log)
    : assets_(std::move(assets)), front_door_(front_door), log_(log) {}

std::shared_ptr<Exchange> ConsoleHandler::CallExchange(std::shared_ptr<Exchange> inner,
                                                       const Request& request,
                                                       bool body_read) const {
  return std::make_shared<LoggedExchange>(std::make_shared<CallHeadersExchange>(std::move(inner)),
                                          request, log_, body_read);
}

void ConsoleHandler::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  const std::string_view target(request.target().data(), request.target().size());
  if (ClassifyConsole(target) == ConsoleRoute::kCall) {
    Retarget(request);
    std::shared_ptr<Exchange> call = CallExchange(std::move(exchange), request, /*body_read=*/true);
    front_door_.Serve(std::move(request), std::move(call));
    return;
  }
  exchange->Respond(StaticFile(request));
}

Handler ConsoleHandler::StreamsBody(const Request& header) const {
  const std::string_view target(header.target().data(), header.target().size());
  std::optional<std::string> data_target = ConsoleCallTarget(target);
  if (!data_target) return {};
  Request retargeted = header;  // the header only: the body is not read yet
  retargeted.target(*data_target);
  Handler serve = front_door_.StreamsBody(retargeted);
  if (!serve) return serve;
  return [this, serve = std::move(serve)](Request&& request, std::shared_ptr<Exchange> inner) {
    Retarget(request);
    std::shared_ptr<Exchange> call = CallExchange(std::move(inner), request, /*body_read=*/false);
    serve(std::move(request), std::move(call));
  };
}

Response ConsoleHandler::StaticFile(const Request& request) const {
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = PathOf(target);
  Response r;
  if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
    r = ErrorReply(Status(Code::kUnimplemented, "console files take GET or HEAD"), 405);
    r.set(bhttp::field::allow, "GET, HEAD");
  } else if (path == kConsole) {
    r = MakeResponse(301, "", "text/plain");
    r.set(bhttp::field::location, "/console/");
  } else {
    StatusOr<ConsoleFile> file = assets_.Find(path.substr(kConsole.size() + 1));
    if (!file.ok()) {
      r = ErrorReply(file.status().code() == Code::kNotFound
                         ? NotFound("no console file " + std::string(path))
                         : file.status());
    } else {
      r = MakeResponse(200, std::move(file->body), file->content_type);
      r.set(bhttp::field::cache_control, "no-cache");
      if (request.method() == bhttp::verb::head) {
        r.content_length(r.body().size());
        r.body().clear();
      }
    }
  }
  SetConsoleSecurityHeaders(r);
  return r;
}

}  // namespace portico::http
