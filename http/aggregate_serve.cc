#include "http/aggregate_serve.h"

#include <atomic>
#include <string>
#include <utility>

#include "http/aggregate_run.h"
#include "http/grpc_metadata.h"
#include "http/logged_exchange.h"
#include "http/policy_gate.h"
#include "http/status_reply.h"
#include "policy/policy_table.h"
#include "transcoder/percent_encoding.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

const policy::AggregatePolicies* PoliciesOf(const registry::Snapshot& snapshot,
                                            const registry::AggregatePlan& plan) {
  const policy::PolicyTable* table = policy::TableOf(snapshot);
  return table != nullptr ? table->ForAggregate(plan.index) : nullptr;
}

// Aggregate names come from the config, so they may label metrics ("method"; the route label
// is the aggregate's template, as for any route).
std::string Label(const registry::AggregatePlan& plan) { return "aggregate:" + plan.config.name; }

// One aggregate request while its policies decide and its calls run.
struct Pending {
  AggregateInputs in;
  Request request;
  std::shared_ptr<Exchange> exchange;
  Metrics* metrics = nullptr;
  std::chrono::steady_clock::time_point start;
  policy::HeaderList reply_headers;                   // the route's (CORS, RateLimit-*)
  std::shared_ptr<policy::ConcurrencyTicket> ticket;  // the route's max_concurrency place
  std::atomic<std::size_t> waiting{0};                // calls whose policies have not answered
};

void Answer(Pending& p, Response response, Code code) {
  AddPolicyHeaders(p.reply_headers, &response);
  NoteStatus(*p.exchange, code);
  p.metrics->RecordRequest(p.in.plan->config.path, Label(*p.in.plan), response.result_int(),
                           static_cast<int>(code), std::chrono::steady_clock::now() - p.start,
                           p.request.body().size(), response.body().size());
  p.exchange->Respond(std::move(response));
}

void Run(const std::shared_ptr<Pending>& p) {
  auto run = AggregateRun::Start(std::move(p->in), [p](AggregateOutcome outcome) {
    const Code code = outcome.status.code();
    Answer(*p,
           outcome.status.ok() ? MakeResponse(200, std::move(outcome.json))
                               : ErrorReply(outcome.status),
           code);
  });
  p->exchange->OnClientGone([run] { run->Cancel(); });
}

// Each call's method policies; the calls start when the last has answered.
void AdmitCalls(const std::shared_ptr<Pending>& p, const policy::AggregatePolicies& policies) {
  const auto& calls = p->in.plan->calls;
  p->in.admissions.resize(calls.size());
  std::size_t to_run = 0;
  for (const auto& route : policies.calls) to_run += route.empty() ? 0 : 1;
  if (to_run == 0) return Run(p);
  p->waiting.store(to_run);
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (policies.calls[i].empty()) continue;
    RunPolicies(policies.calls[i], p->request, p->exchange->peer(), /*body_complete=*/true,
                p->metrics->policy_rejections(), [p, i](policy::Admission admission) {
                  AggregateCallAdmission& slot = p->in.admissions[i];
                  if (admission.outcome == policy::Admission::Outcome::kAllow) {
                    slot.metadata = std::move(admission.metadata);
                    slot.ticket = std::move(admission.ticket);
                  } else {
                    LogRefusal(admission, p->in.plan->calls[i].method->path,
                               p->exchange->peer().address);
                    slot.refused = admission.status;
                  }
                  // The last answer (acq_rel: every slot written before it is seen) runs.
                  if (p->waiting.fetch_sub(1, std::memory_order_acq_rel) == 1) Run(p);
                });
  }
}

}  // namespace

void ServeAggregate(std::shared_ptr<const registry::Snapshot> snapshot,
                    const registry::AggregatePlan& plan, transcoder::PathMatch match,
                    Request&& request, std::shared_ptr<Exchange> exchange, Metrics& metrics,
                    std::chrono::steady_clock::time_point start) {
  NoteRoute(*exchange, plan.config.path, Label(plan));
  auto p = std::make_shared<Pending>();
  const policy::AggregatePolicies* policies = PoliciesOf(*snapshot, plan);
  p->in.table = snapshot->aggregates;
  p->in.plan = &plan;
  p->in.snapshot = std::move(snapshot);
  p->in.bindings = std::move(match.bindings);
  const std::string_view target = View(request.target());
  if (const auto q = target.find('?'); q != std::string_view::npos) {
    p->in.query = transcoder::ParseQueryString(target.substr(q + 1));
  }
  p->in.metadata = RequestMetadata(request, exchange->peer(), IdentityOf(*exchange));
  p->request = std::move(request);
  p->exchange = std::move(exchange);
  p->metrics = &metrics;
  p->start = start;
  if (policies == nullptr) return Run(p);
  p->in.caches = policies->caches;
  if (policies->route.empty()) return AdmitCalls(p, *policies);
  RunPolicies(policies->route, p->request, p->exchange->peer(), /*body_complete=*/true,
              metrics.policy_rejections(), [p, policies](policy::Admission admission) {
                if (admission.outcome != policy::Admission::Outcome::kAllow) {
                  if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                    LogRefusal(admission, Label(*p->in.plan), p->exchange->peer().address);
                  }
                  return Answer(*p, AdmissionResponse(admission), admission.status.code());
                }
                p->reply_headers = std::move(admission.headers);
                p->ticket = std::move(admission.ticket);
                // What the route's policies forward (claims, key ids) goes with every call.
                MergeMetadata(std::move(admission.metadata), &p->in.metadata);
                AdmitCalls(p, *policies);
              });
}

bool PreflightAggregate(const std::shared_ptr<const registry::Snapshot>& snapshot,
                        const Request& request, const std::shared_ptr<Exchange>& exchange,
                        Metrics& metrics, std::chrono::steady_clock::time_point start) {
  if (snapshot->aggregates == nullptr || request[bhttp::field::origin].empty()) return false;
  const std::string_view target = View(request.target());
  transcoder::PathMatch match;
  const registry::AggregatePlan* plan = snapshot->aggregates->Match(
      View(request[bhttp::field::access_control_request_method]),
      target.substr(0, target.find('?')), &match);
  const policy::AggregatePolicies* policies =
      plan != nullptr ? PoliciesOf(*snapshot, *plan) : nullptr;
  if (policies == nullptr || policies->route.cors == nullptr) return false;
  // CORS decides first and synchronously: a preflight is answered before any step that waits.
  RunPolicies(policies->route, request, exchange->peer(), /*body_complete=*/true,
              metrics.policy_rejections(), [&](policy::Admission admission) {
                Response response = AdmissionResponse(admission);
                if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                  LogRefusal(admission, Label(*plan), exchange->peer().address);
                }
                metrics.RecordRequest(plan->config.path, Label(*plan), response.result_int(),
                                      static_cast<int>(admission.status.code()),
                                      std::chrono::steady_clock::now() - start, 0,
                                      response.body().size());
                exchange->Respond(std::move(response));
              });
  return true;
}

}  // namespace portico::http
