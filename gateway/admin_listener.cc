#include "gateway/admin_listener.h"

#include "http/status_reply.h"

namespace portico::gateway {
namespace {

namespace bhttp = boost::beast::http;

http::ConsoleRoute RouteOf(const http::Request& request) {
  return http::ClassifyConsole(std::string_view(request.target().data(), request.target().size()));
}

}  // namespace

http::Handlers AdminListenerHandlers(const http::AdminAuth& auth, const http::AdminHandler& admin,
                                     const http::ConsoleHandler& console, const ws::WsBridge& ws) {
  http::Handlers handlers;
  handlers.handle = [&auth, &admin, &console](http::Request&& r,
                                              std::shared_ptr<http::Exchange> e) {
    if (std::optional<http::Response> refusal = auth.Check(r)) {
      admin.Record(r, refusal->result_int(), e->peer().address);
      return e->Respond(std::move(*refusal));
    }
    const http::ConsoleRoute route = RouteOf(r);
    switch (route) {
      case http::ConsoleRoute::kNone:
        return admin(std::move(r), std::move(e));
      case http::ConsoleRoute::kLogin:
      case http::ConsoleRoute::kLogout: {
        http::Response reply;
        if (r.method() != bhttp::verb::post) {
          reply = http::ErrorReply(Status(Code::kUnimplemented, "sign in and out with POST"), 405);
          reply.set(bhttp::field::allow, "POST");
          http::SetConsoleSecurityHeaders(reply);
        } else {
          reply = route == http::ConsoleRoute::kLogin ? auth.Login(r) : auth.Logout();
        }
        admin.Record(r, reply.result_int(), e->peer().address);
        return e->Respond(std::move(reply));
      }
      case http::ConsoleRoute::kCall:
        auth.StripCredentials(r);
        return console.Serve(std::move(r), std::move(e));
      case http::ConsoleRoute::kStatic:
        return console.Serve(std::move(r), std::move(e));
    }
  };
  // A console call whose body streams: admitted on its header, before any of the body is read.
  handlers.streams_body = [&auth, &admin, &console](const http::Request& header) -> http::Handler {
    if (RouteOf(header) != http::ConsoleRoute::kCall) return {};
    http::Handler serve = console.StreamsBody(header);
    if (!serve) return serve;  // read whole, then `handle` (which admits it)
    if (std::optional<http::Response> refusal = auth.Check(header)) {
      return [&admin, refusal = std::move(*refusal)](http::Request&& r,
                                                     std::shared_ptr<http::Exchange> e) {
        admin.Record(r, refusal.result_int(), e->peer().address);
        e->Respond(refusal);
      };
    }
    return [&auth, serve = std::move(serve)](http::Request&& r, std::shared_ptr<http::Exchange> e) {
      auth.StripCredentials(r);
      serve(std::move(r), std::move(e));
    };
  };
  // The console's WebSocket calls: the data plane's bridge, on the data-plane target.
  handlers.upgrade = [&auth, &admin, &ws](http::DataStream s, http::Request&& r,
                                          boost::beast::flat_buffer&& b, http::ConnectionSlot c) {
    if (std::optional<http::Response> refusal = auth.Check(r, http::AdminAuth::Entry::kUpgrade)) {
      boost::beast::error_code ec;
      const auto remote = s.socket().remote_endpoint(ec);
      admin.Record(r, refusal->result_int(), ec ? "" : remote.address().to_string());
      return ws::RejectUpgrade(std::move(s), r, std::move(*refusal), std::move(c));
    }
    const std::string_view target(r.target().data(), r.target().size());
    std::optional<std::string> data_target = http::ConsoleCallTarget(target);
    if (!data_target) {
      http::Response none = http::ErrorReply(NotFound("no WebSocket here: use /console/call/"));
      return ws::RejectUpgrade(std::move(s), r, std::move(none), std::move(c));
    }
    auth.StripCredentials(r);
    r.target(*data_target);
    ws.Accept(std::move(s), std::move(r), std::move(b), std::move(c));
  };
  return handlers;
}

}  // namespace portico::gateway
