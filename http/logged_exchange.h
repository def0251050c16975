// The request identity and access log (DESIGN section 12) around any Exchange: LoggedExchange
// decorates the session's exchange for one request. It works out the request's identity from
// its headers (request_identity.h), puts X-Request-Id on the reply (whole or chunked), counts
// the body bytes both ways, and when the request is done (the last holder lets the exchange
// go: the reply is out, or the client left) hands its record to the access log. The handlers
// note what only they know through NoteTarget / NoteStatus / NoteEndpoint.
//
// Thread safety: as Exchange. The context is written by the handler's steps one after another
// (each happens before the next through the callbacks that chain them), never concurrently.
// Ownership: owns the inner exchange; borrows the AccessLog (may be null: no log), which must
// outlive every exchange.
#pragma once

#include <chrono>
#include <memory>

#include "http/access_log.h"
#include "http/call_setup.h"
#include "http/exchange.h"
#include "http/request_identity.h"
#include "registry/transport.h"

namespace portico::http {

struct RequestContext {
  RequestIdentity identity;
  AccessRecord record;
};

// The identity of a request from its headers (X-Request-Id, traceparent, tracestate).
RequestIdentity IdentityOf(const Request& request);

// Starts an access record for `request` from `peer`: time now, identity, method, path (no
// query), user agent, trace id.
AccessRecord StartRecord(const Request& request, const PeerInfo& peer,
                         const RequestIdentity& identity, CallKind kind);

class LoggedExchange final : public Exchange {
 public:
  // body_read: the request's whole body is in `request` (else it streams through ReadBody).
  LoggedExchange(std::shared_ptr<Exchange> inner, const Request& request, AccessLog* log,
                 bool body_read);
  ~LoggedExchange() override;

  void Respond(Response response) override;
  void OnClientGone(std::function<void()> cancel) override;
  const PeerInfo& peer() const override { return inner_->peer(); }
  void StartChunked(Response head) override;
  void WriteChunk(std::string data, std::function<void(bool ok)> written) override;
  void EndChunked() override;
  void EndWithTrailers(std::vector<std::pair<std::string, std::string>> trailers) override;
  void ReadBody(std::function<void(bool ok, std::string piece, bool done)> on_piece) override;
  RequestContext* context() override { return &context_; }

 private:
  std::shared_ptr<Exchange> inner_;
  AccessLog* log_;
  RequestContext context_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<bool> replied_{false};
  // Shared with ReadBody's callbacks, which may run after the exchange is gone.
  std::shared_ptr<std::atomic<std::uint64_t>> bytes_in_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  std::atomic<std::uint64_t> bytes_out_{0};
};

// Notes for the access log, on an exchange that keeps a context (no-ops otherwise).
// The route (template), gRPC method and call kind of `target`.
void NoteTarget(Exchange& exchange, const CallTarget& target);
// The route (template) and what it calls, for routes that are no CallTarget (aggregates).
void NoteRoute(Exchange& exchange, std::string_view route, std::string_view grpc_method);
// The gRPC status the request ended with.
void NoteStatus(Exchange& exchange, Code code);
// The backend endpoint that served the call ("" when none).
void NoteEndpoint(Exchange& exchange, const std::string& endpoint);

// The identity of the exchange's request, or null.
const RequestIdentity* IdentityOf(Exchange& exchange);

}  // namespace portico::http
