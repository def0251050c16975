// The REST front door of aggregates (DESIGN section 11): a request whose route is an
// aggregate's runs the aggregate's route policies (path-prefix and global ones: CORS, JWT,
// rate limits... on the whole), then each call's method policies (an aggregate never bypasses
// what guards a method), then the calls (http/aggregate_run.h), and answers with the merged
// reply. A refused call fails as a failed backend call would (left out under `partial`,
// the answer under `fail`).
//
// Thread safety: free functions, called on an io thread; the answer may come from any thread
// (Exchange::Respond is thread-safe). Ownership: the snapshot (and with it the plan and its
// policies) is kept alive until the answer.
#pragma once

#include <chrono>
#include <memory>

#include "http/exchange.h"
#include "http/metrics.h"
#include "registry/aggregate_plan.h"
#include "registry/registry.h"

namespace portico::http {

void ServeAggregate(std::shared_ptr<const registry::Snapshot> snapshot,
                    const registry::AggregatePlan& plan, transcoder::PathMatch match,
                    Request&& request, std::shared_ptr<Exchange> exchange, Metrics& metrics,
                    std::chrono::steady_clock::time_point start);

// A CORS preflight for an aggregate's route (the method it asks about) whose policies set
// cors: answered (true) without a backend. False when no aggregate route fits or it has no
// cors policy (the request goes on as usual).
bool PreflightAggregate(const std::shared_ptr<const registry::Snapshot>& snapshot,
                        const Request& request, const std::shared_ptr<Exchange>& exchange,
                        Metrics& metrics, std::chrono::steady_clock::time_point start);

}  // namespace portico::http
