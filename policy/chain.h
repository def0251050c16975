// The policy chain (DESIGN sections 2 and 10): what every front door runs after call setup and
// before the upstream picker. It decides on the policies in force on the call's route, in this
// order: CORS (a preflight is answered here; a disallowed cross-site origin refused), IP rules,
// API key, HMAC signature, JWT, RBAC, rate limit, concurrency limit; and it says whether the
// response cache is in force. Decisions are values; the adapter turns them into its protocol.
//
// Everything is synchronous but a shared (Redis) rate limit, whose answer comes back on the
// Redis client's thread; `done` then runs there. Adapters that need their own thread post.
//
// Thread safety: Admit may run on any thread at once. Ownership: the route policies (from the
// snapshot the caller holds) must outlive the call of `done`; Admission keeps what it needs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "policy/cors.h"
#include "policy/policy_table.h"
#include "policy/rejections.h"
#include "policy/request_facts.h"
#include "registry/transport.h"
#include "transcoder/status.h"

namespace portico::policy {

// A place under a route's max_concurrency, given back when destroyed. Movable.
class ConcurrencyTicket {
 public:
  ConcurrencyTicket() = default;
  // Holds the counter, which may outlive its policy (a change replaced it meanwhile).
  explicit ConcurrencyTicket(std::shared_ptr<std::atomic<std::uint32_t>> counter)
      : counter_(std::move(counter)) {}
  ConcurrencyTicket(ConcurrencyTicket&&) noexcept = default;
  ConcurrencyTicket& operator=(ConcurrencyTicket&& o) noexcept {
    if (this != &o) {
      Release();
      counter_ = std::move(o.counter_);
    }
    return *this;
  }
  ~ConcurrencyTicket() { Release(); }

 private:
  void Release() {
    if (counter_) counter_->fetch_sub(1, std::memory_order_acq_rel);
    counter_.reset();
  }
  std::shared_ptr<std::atomic<std::uint32_t>> counter_;
};

struct Admission {
  enum class Outcome {
    kAllow,      // go on; add `metadata` to the call and `headers` to the reply
    kRefuse,     // answer `status` with `headers` (WWW-Authenticate, Retry-After, RateLimit-*)
    kPreflight,  // a CORS preflight: answer 204 with `headers`
  };
  Outcome outcome = Outcome::kAllow;
  Status status;                       // kRefuse
  RejectKind kind = RejectKind::kCount;  // kRefuse
  HeaderList headers;
  registry::Metadata metadata;         // forwarded claims, API key and HMAC key ids
  // kAllow: held until the call ends (max_concurrency). Shared so that callbacks can copy it.
  std::shared_ptr<ConcurrencyTicket> ticket;
  // kAllow: the cache in force on a GET route, when this request may use it (authenticated
  // requests only with cache_authenticated; never with Cache-Control: no-cache, which still
  // refreshes the entry: see `cache_lookup`).
  const CompiledPolicy* cache = nullptr;
  bool cache_lookup = false;  // false: skip the lookup (no-cache) but store the fresh reply
};

// Runs the chain of `route` for one request. `done` runs exactly once (inline unless a shared
// rate limit asks Redis). Refusals are counted in `counters`. A route without policies is
// admitted at once, allocation-free.
void Admit(const RoutePolicies& route, const RequestFacts& facts, RejectionCounters& counters,
           std::function<void(Admission)> done);

// A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method.
bool IsPreflight(const RequestFacts& facts);

// Whether Origin (scheme://host[:port]) names the request's own Host (default ports of http
// and https implied; names compared case-insensitively). Same-origin requests are never
// cross-site.
bool SameHost(std::string_view origin, std::string_view host);

}  // namespace portico::policy
