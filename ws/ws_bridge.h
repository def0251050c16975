// Entry point of the WebSocket bridge (DESIGN section 6): takes over an upgrade request from the
// HTTP listener, checks its Origin (403 for a page of a site not allowed), picks the protocol
// from the offered subprotocols, sets up the call (single call: http::SetUpCall with the
// upgrade's rule choice, or /pkg.Service/Method), and starts the session. A request that
// cannot become a call is answered in plain HTTP before the handshake (403 origin, 404 no
// route, 405 only DELETE/PUT/PATCH/custom rules on the path, 503 no backend, 400 bad
// path/query value).
// Thread safety: Accept may be called from any io thread. Ownership: borrows the Registry and
// Metrics, which must outlive it and every session.
#pragma once

#include "http/call_setup.h"
#include "http/access_log.h"
#include "http/exchange.h"
#include "http/metrics.h"
#include "registry/registry.h"
#include "ws/ws_session.h"

namespace portico::ws {

// Answers an upgrade request in plain HTTP (with its X-Request-Id) before any handshake and
// closes the connection: for listeners that refuse an upgrade before it reaches a bridge.
void RejectUpgrade(http::DataStream stream, const http::Request& request, http::Response response,
                   http::ConnectionSlot slot);

class WsBridge {
 public:
  WsBridge(const registry::Registry& registry, http::Metrics& metrics, WsLimits limits);

  // `slot` is the connection's place under max_connections, held for the socket's life.
  void Accept(http::DataStream stream, http::Request&& request,
              boost::beast::flat_buffer&& leftover, http::ConnectionSlot slot) const;

  // The access log for the sockets' and calls' lines (DESIGN section 12); null: none. Before
  // the first Accept.
  void set_access_log(http::AccessLog* log) { access_log_ = log; }

  // Stopping: close every socket (1001, graceful) or drop them; how many are still alive.
  void CloseAll(bool graceful) const { tracker_->CloseAll(graceful); }
  std::size_t sessions() const { return tracker_->size(); }

 private:
  const registry::Registry& registry_;
  http::Metrics& metrics_;
  WsLimits limits_;
  // The single-call session of an admitted upgrade.
  void OpenSingle(http::DataStream stream, http::Request&& request,
                  http::CallSetup&& call, const std::string& selected,
                  http::ConnectionSlot slot, http::RequestIdentity identity,
                  http::AccessRecord record) const;
  // The line of an upgrade answered in plain HTTP (refused before the handshake).
  void LogRefused(http::AccessRecord record, const http::Response& response, Code code) const;

  http::AccessLog* access_log_ = nullptr;

  std::shared_ptr<SessionTracker> tracker_ = std::make_shared<SessionTracker>();
};

}  // namespace portico::ws
