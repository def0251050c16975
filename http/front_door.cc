#include "http/front_door.h"

#include <string_view>

#include "http/logged_exchange.h"
#include "http/metrics.h"
#include "http/status_reply.h"
#include "policy/header_tokens.h"
#include "registry/backend_config.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

// The media type of the request, lower-cased, without parameters.
std::string MediaType(const Request& header) {
  const std::string type = policy::AsciiLowered(View(header[bhttp::field::content_type]));
  std::string media = type.substr(0, type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  return media;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Connect's unary GET carries `connect=v1` among its query parameters.
bool IsConnectGet(const Request& header) {
  if (header.method() != bhttp::verb::get) return false;
  const std::string_view target = View(header.target());
  const auto q = target.find('?');
  if (q == std::string_view::npos) return false;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    if (query.substr(0, amp) == "connect=v1") return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

}  // namespace

FrontDoorProtocol ClassifyRequest(const Request& header) {
  const std::string media = MediaType(header);
  if (StartsWith(media, "application/grpc-web")) return FrontDoorProtocol::kGrpcWeb;
  if (StartsWith(media, "application/grpc")) return FrontDoorProtocol::kGrpc;
  if (StartsWith(media, "application/connect+") ||
      header.find("Connect-Protocol-Version") != header.end() || IsConnectGet(header)) {
    return FrontDoorProtocol::kConnect;
  }
  return FrontDoorProtocol::kRest;
}

Status NotSpoken(const Request& header, std::string_view protocol) {
  return Status(Code::kUnimplemented,
                std::string(protocol) + " is not served (Content-Type " +
                    registry::QuoteValue(View(header[bhttp::field::content_type])) + ")");
}

Handler NotSpokenHandler(const Request& header, std::string_view protocol, Metrics& metrics) {
  return [&metrics, status = NotSpoken(header, protocol)](Request&&,
                                                          std::shared_ptr<Exchange> exchange) {
    metrics.RecordRequest("unmatched", "", 415, static_cast<int>(status.code()), {}, 0, 0);
    NoteStatus(*exchange, status.code());
    exchange->Respond(ErrorReply(status, 415));
  };
}

FrontDoor::FrontDoor(const ProtocolAdapter& rest, const ProtocolAdapter& grpc,
                     const ProtocolAdapter& grpc_web, const ProtocolAdapter& connect)
    : rest_(rest), grpc_(grpc), grpc_web_(grpc_web), connect_(connect) {}

const ProtocolAdapter& FrontDoor::AdapterFor(const Request& header) const {
  switch (ClassifyRequest(header)) {
    case FrontDoorProtocol::kGrpc: return grpc_;
    case FrontDoorProtocol::kGrpcWeb: return grpc_web_;
    case FrontDoorProtocol::kConnect: return connect_;
    case FrontDoorProtocol::kRest: break;
  }
  return rest_;
}

void FrontDoor::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  AdapterFor(request).Serve(std::move(request), std::move(exchange));
}

Handler FrontDoor::StreamsBody(const Request& header) const {
  return AdapterFor(header).StreamsBody(header);
}

}  // namespace portico::http
