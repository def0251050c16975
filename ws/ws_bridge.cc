#include "ws/ws_bridge.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include "http/call_setup.h"
#include "http/grpc_metadata.h"
#include "http/logged_exchange.h"
#include "http/policy_gate.h"
#include "transcoder/percent_encoding.h"
#include "transcoder/status_mapping.h"
#include "ws/mux_session.h"
#include "ws/single_call.h"

namespace portico::ws {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view kMux = "portico.mux.v1";
constexpr std::string_view kSingle = "portico.v1";
constexpr std::string_view kBearer = "bearer.";

std::vector<std::string> OfferedProtocols(const http::Request& request) {
  std::vector<std::string> out;
  const auto header = request[bhttp::field::sec_websocket_protocol];
  std::string_view rest(header.data(), header.size());
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

// The query without access_token (a credential, never a message field), and the token.
std::string SplitToken(std::string_view query, std::string* token) {
  std::string kept;
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    if (piece.substr(0, 13) == "access_token=") {
      *token = transcoder::PercentDecode(piece.substr(13), transcoder::DecodeMode::kAll);
    } else if (!piece.empty()) {
      if (!kept.empty()) kept += '&';
      kept += piece;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return kept;
}

// Answers in plain HTTP, before the handshake, and closes.
void Reject(http::DataStream stream, http::Response response, unsigned version,
            http::ConnectionSlot slot, const std::string& request_id) {
  response.set("X-Request-Id", request_id);
  response.version(version);
  response.keep_alive(false);
  response.set(bhttp::field::server, "portico");
  response.prepare_payload();
  auto state = std::make_shared<std::pair<http::DataStream, http::Response>>(
      std::move(stream), std::move(response));
  auto held = std::make_shared<http::ConnectionSlot>(std::move(slot));  // until the close
  bhttp::async_write(state->first, state->second, [state, held](boost::beast::error_code,
                                                                std::size_t) {
    boost::beast::error_code ignored;
    state->first.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    state->first.socket().close(ignored);
  });
}

void Reject(http::DataStream stream, const http::Refusal& refusal, unsigned version,
            http::ConnectionSlot slot, const std::string& request_id) {
  Reject(std::move(stream), refusal.ToResponse(), version, std::move(slot), request_id);
}

}  // namespace

void RejectUpgrade(http::DataStream stream, const http::Request& request, http::Response response,
                   http::ConnectionSlot slot) {
  Reject(std::move(stream), std::move(response), request.version(), std::move(slot),
         http::IdentityOf(request).request_id);
}

WsBridge::WsBridge(const registry::Registry& registry, http::Metrics& metrics, WsLimits limits)
    : registry_(registry), metrics_(metrics), limits_(limits) {}

void WsBridge::Accept(http::DataStream stream, http::Request&& request,
                      boost::beast::flat_buffer&&, http::ConnectionSlot slot) const {
  // (Bytes past the upgrade request would be WebSocket frames sent before the handshake's
  // answer; RFC 6455 clients wait for the 101, so there are none to carry over.)
  const unsigned version = request.version();
  http::PeerInfo peer;
  boost::beast::error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  if (!ec) peer.address = remote.address().to_string();
  peer.tls = stream.is_tls();
  // The socket's identity, and the start of its access-log line, before the token moves
  // into Authorization (the path logged never has the query anyway).
  http::RequestIdentity identity = http::IdentityOf(request);
  http::AccessRecord record;
  if (access_log_ != nullptr) {
    record = http::StartRecord(request, peer, identity, http::CallKind::kWebSocket);
  }
  const std::string request_id = identity.request_id;
  // A page of another site must not open calls with the user's cookies and network position.
  if (Status s = http::CheckOrigin(request, limits_.allowed_origins); !s.ok()) {
    metrics_.RecordRequest("unmatched", "", 403, static_cast<int>(s.code()), {}, 0, 0);
    http::Refusal refusal{s};
    LogRefused(std::move(record), refusal.ToResponse(), s.code());
    return Reject(std::move(stream), refusal, version, std::move(slot), request_id);
  }

  std::string token;
  const std::string_view target(request.target().data(), request.target().size());
  const auto q = target.find('?');
  const std::string query =
      SplitToken(q == std::string_view::npos ? "" : target.substr(q + 1), &token);
  const auto offered = OfferedProtocols(request);
  std::string selected;
  bool mux = false;
  for (const auto& p : offered) {
    if (p == kMux) {
      selected = p;
      mux = true;
      break;
    }
    if (p == kSingle && selected.empty()) selected = p;
  }
  for (const auto& p : offered) {
    if (p.size() > kBearer.size() && p.compare(0, kBearer.size(), kBearer) == 0) {
      if (token.empty()) token = p.substr(kBearer.size());
      // Browsers fail a handshake that selects nothing they offered only when one is selected;
      // echoing the bearer entry keeps a token-only offer working.
      if (selected.empty()) selected = p;
    }
  }
  // The request with the token moved out of the URL and into Authorization.
  if (q != std::string_view::npos) {
    request.target(std::string(target.substr(0, q)) + (query.empty() ? "" : "?" + query));
  }
  if (!token.empty() && request[bhttp::field::authorization].empty()) {
    request.set(bhttp::field::authorization, "Bearer " + token);
  }

  if (mux) {
    registry::CallSpec base;
    base.metadata = http::RequestMetadata(request, peer, &identity);
    auto upgrade = std::make_shared<const http::Request>(request);  // its headers: credentials
    auto session = MakeMuxSession(std::move(stream), limits_, metrics_, registry_, std::move(base),
                                  std::move(upgrade), peer);
    session->Track(tracker_);
    session->HoldSlot(std::move(slot));
    session->SetIdentity(std::move(identity), access_log_, std::move(record));
    session->Run(std::move(request), selected);
    return;
  }

  auto setup = http::SetUpCall(registry_.Current(), request, peer, http::RuleChoice::kUpgrade,
                               &identity);
  if (auto* refusal = std::get_if<http::Refusal>(&setup)) {
    const unsigned status =
        refusal->http_status != 0
            ? refusal->http_status
            : static_cast<unsigned>(transcoder::HttpStatusFromCode(refusal->status.code()));
    metrics_.RecordRequest("unmatched", "", status, static_cast<int>(refusal->status.code()), {},
                           0, 0);
    LogRefused(std::move(record), refusal->ToResponse(), refusal->status.code());
    return Reject(std::move(stream), *refusal, version, std::move(slot), request_id);
  }
  auto& call = std::get<http::CallSetup>(setup);
  record.route = call.target.route->plan.binding().path;
  record.grpc_method = call.target.method->path;
  const policy::RoutePolicies* policies = http::PoliciesOf(call.target);
  if (policies == nullptr) {
    return OpenSingle(std::move(stream), std::move(request), std::move(call), selected,
                      std::move(slot), std::move(identity), std::move(record));
  }
  // The policy chain, on the handshake's credentials (a token from ?access_token= or the
  // bearer.<token> subprotocol is in Authorization by now). A shared rate limit answers from
  // another thread: the rest goes back to the socket's own.
  struct Pending {
    http::DataStream stream;
    http::Request request;
    http::CallSetup call;
    std::string selected;
    http::ConnectionSlot slot;
    http::RequestIdentity identity;
    http::AccessRecord record;
  };
  auto pending = std::make_shared<Pending>(Pending{std::move(stream), std::move(request),
                                                   std::move(call), selected, std::move(slot),
                                                   std::move(identity), std::move(record)});
  http::RunPolicies(
      *policies, pending->request, peer, /*body_complete=*/false, metrics_.policy_rejections(),
      [this, pending, peer](policy::Admission admission) {
        auto executor = pending->stream.get_executor();
        boost::asio::post(executor, [this, pending, peer,
                                     admission = std::make_shared<policy::Admission>(
                                         std::move(admission))]() mutable {
          Pending& p = *pending;
          if (admission->outcome != policy::Admission::Outcome::kAllow) {
            http::LogRefusal(*admission, p.call.target.method->path, peer.address);
            http::Response response = http::AdmissionResponse(*admission);
            metrics_.RecordRequest(p.call.target.route->plan.binding().path,
                                   p.call.target.method->path, response.result_int(),
                                   static_cast<int>(admission->status.code()), {}, 0, 0);
            LogRefused(std::move(p.record), response, admission->status.code());
            return Reject(std::move(p.stream), std::move(response), p.request.version(),
                          std::move(p.slot), p.identity.request_id);
          }
          http::Admitted(std::move(*admission), &p.call);
          OpenSingle(std::move(p.stream), std::move(p.request), std::move(p.call), p.selected,
                     std::move(p.slot), std::move(p.identity), std::move(p.record));
        });
      },
      /*websocket=*/true);
}

void WsBridge::LogRefused(http::AccessRecord record, const http::Response& response,
                          Code code) const {
  if (access_log_ == nullptr) return;
  record.http_status = response.result_int();
  record.grpc_code = static_cast<int>(code);
  record.bytes_out = response.body().size();
  record.duration = std::chrono::system_clock::now() - record.time;
  access_log_->Submit(std::move(record));
}

void WsBridge::OpenSingle(http::DataStream stream, http::Request&& request,
                          http::CallSetup&& call, const std::string& selected,
                          http::ConnectionSlot slot, http::RequestIdentity identity,
                          http::AccessRecord record) const {
  const unsigned version = request.version();
  CallSetup single;
  single.route = call.target.route;
  single.backend = call.target.backend;
  Status s = single.route->plan.RequestToWire(call.target.snapshot->catalog->codec(),
                                              call.target.match.bindings, call.target.query, "",
                                              limits_.strict, &single.url_wire);
  if (!s.ok()) {
    http::Refusal refusal{s};
    LogRefused(std::move(record), refusal.ToResponse(), s.code());
    return Reject(std::move(stream), refusal, version, std::move(slot), identity.request_id);
  }
  single.snapshot = std::move(call.target.snapshot);
  single.spec = std::move(call.spec);
  single.ticket = std::move(call.ticket);
  auto session = MakeSingleCallSession(std::move(stream), limits_, metrics_, std::move(single));
  session->Track(tracker_);
  session->HoldSlot(std::move(slot));  // counts against max_connections for its whole life
  session->SetIdentity(std::move(identity), access_log_, std::move(record));
  session->Run(std::move(request), selected);
}

}  // namespace portico::ws
