// One execution of an aggregate (DESIGN section 11, issue 11): the calls of its plan started as
// soon as what they need is there (independent ones at once), each through the backend serving
// its method with its own deadline inside the aggregate's, the replies merged into one JSON
// object keyed by call name. Under `partial` failed and timed-out calls are left out and listed
// in "errors" (google.rpc.Status JSON); under `fail` the first failure is the answer and the
// other calls are cancelled. A call whose input depended on a failed call is skipped (ABORTED,
// naming the dependency). for_each calls run once per element (at most max_fan_out), their
// results collected in order as an array.
//
// Each call goes as a direct call to its method would: to the backend serving its service (the
// upstream picker behind its transport), with the deadline of the one rule (CallDeadline)
// bounded by the call's and the aggregate's, after its method's policies admitted it
// (AggregateCallAdmission; http/aggregate_serve.h runs them). A call with a cache answers
// from it when it can and fills it with its successful replies.
//
// Thread safety: transports complete calls on their own threads; the run serializes them under
// its mutex. `done` runs exactly once, on whichever thread finishes the run (or in Start when
// nothing needs a call). Ownership: the run keeps its snapshot and plan table alive; Cancel
// (the client left) cancels every call in flight.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/chain.h"
#include "policy/response_cache.h"
#include "registry/aggregate_plan.h"
#include "registry/registry.h"
#include "transcoder/path_matcher.h"
#include "transcoder/status.h"

namespace portico::http {

// What a call's policies decided (policy/chain.h), before the run.
struct AggregateCallAdmission {
  std::optional<Status> refused;  // the call fails with this, as a failed backend call would
  registry::Metadata metadata;    // the chain's (forwarded claims, key ids): replaces the
                                  // client's entries of the same key; part of the cache key
  std::shared_ptr<policy::ConcurrencyTicket> ticket;  // held for the run's life
};

struct AggregateInputs {
  std::shared_ptr<const registry::Snapshot> snapshot;
  std::shared_ptr<const registry::AggregateTable> table;  // owns `plan`
  const registry::AggregatePlan* plan = nullptr;
  std::vector<transcoder::VariableBinding> bindings;       // the route's path variables
  std::vector<std::pair<std::string, std::string>> query;  // decoded query parameters
  registry::Metadata metadata;  // validated client metadata, sent with every call
  std::vector<AggregateCallAdmission> admissions;  // per call (plan order); empty = none
  std::vector<std::shared_ptr<policy::ResponseCache>> caches;  // per call; empty or null = none
};

// The outcome: 200 with the merged JSON, or (under `fail`, or for a request that cannot run) the
// status to answer with.
struct AggregateOutcome {
  Status status;     // OK: `json` is the reply body
  std::string json;
};

class AggregateRun : public std::enable_shared_from_this<AggregateRun> {
 public:
  static std::shared_ptr<AggregateRun> Start(AggregateInputs inputs,
                                             std::function<void(AggregateOutcome)> done);
  void Cancel();

  // Public for make_shared; use Start.
  AggregateRun(AggregateInputs inputs, std::function<void(AggregateOutcome)> done);

 private:
  struct Part;
  // Starts every call whose inputs are there, skips those whose inputs failed, and answers
  // once every part is settled (or, under `fail`, one failed).
  void Launch();
  void OnReply(std::size_t index, std::size_t element, registry::UnaryResult result,
               bool from_cache = false);
  Status Refused(std::size_t index) const;  // what the call's policies said (OK: admitted)
  std::string CacheKeyOf(std::size_t index, std::string_view wire) const;
  // Keeps a successful reply of call `index` in its cache, if it has one; requires mu_.
  void KeepInCache(std::size_t index, std::size_t element, const std::string& wire,
                   bool from_cache);
  AggregateOutcome Outcome() const;  // requires mu_
  // Part `index` has all its replies: done (parsed when a later call reads it). Requires mu_.
  void Settle(std::size_t index);
  // The request of call `index` (for one for_each element `item`) as wire bytes; requires mu_.
  StatusOr<std::string> RequestJson(std::size_t index, const nlohmann::json* item) const;

  AggregateInputs in_;
  std::function<void(AggregateOutcome)> done_;
  std::chrono::system_clock::time_point deadline_;
  std::mutex mu_;
  std::vector<Part> parts_;
  std::vector<bool> read_;  // per call: a later call reads its reply (then it is parsed)
  bool finished_ = false;
};

}  // namespace portico::http
