#include "http/policy_gate.h"

#include <atomic>
#include <chrono>
#include <cstdio>

#include "http/status_reply.h"
#include "registry/backend_config.h"
#include "registry/event_log.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

class BeastHeaders final : public policy::HeaderSource {
 public:
  explicit BeastHeaders(const Request& request) : request_(request) {}
  std::string_view Get(std::string_view name) const override {
    // Beast compares field names case-insensitively.
    return View(request_[boost::beast::string_view(name.data(), name.size())]);
  }

 private:
  const Request& request_;
};

}  // namespace

const policy::RoutePolicies* PoliciesOf(const CallTarget& target) {
  const policy::PolicyTable* table = policy::TableOf(*target.snapshot);
  if (table == nullptr) return nullptr;
  const auto index =
      static_cast<std::size_t>(target.route - target.snapshot->catalog->routes().data());
  const policy::RoutePolicies& route = table->ForRoute(index);
  return route.empty() ? nullptr : &route;
}

void RunPolicies(const policy::RoutePolicies& policies, const Request& request,
                 const PeerInfo& peer, bool body_complete, policy::RejectionCounters& counters,
                 std::function<void(policy::Admission)> done, bool websocket) {
  const BeastHeaders headers(request);
  const std::string_view target = View(request.target());
  const auto q = target.find('?');
  policy::RequestFacts facts;
  facts.http_method = View(request.method_string());
  facts.target = target;
  facts.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  facts.peer = peer.address;
  facts.headers = &headers;
  facts.body = body_complete ? std::string_view(request.body()) : std::string_view();
  facts.body_complete = body_complete;
  facts.websocket = websocket;
  policy::Admit(policies, facts, counters, std::move(done));
}

void MergeMetadata(registry::Metadata&& admitted, registry::Metadata* metadata) {
  for (auto& [key, value] : admitted) {
    std::erase_if(*metadata, [&key](const auto& entry) { return entry.first == key; });
  }
  for (auto& entry : admitted) metadata->push_back(std::move(entry));
}

void Admitted(policy::Admission&& admission, CallSetup* setup) {
  MergeMetadata(std::move(admission.metadata), &setup->spec.metadata);
  setup->reply_headers = std::move(admission.headers);
  setup->ticket = std::move(admission.ticket);
}

void AddPolicyHeaders(const policy::HeaderList& headers, Response* response) {
  for (const auto& [name, value] : headers) {
    // Vary accumulates; the others are set once.
    if (name == "Vary") {
      response->insert(name, value);
    } else {
      response->set(name, value);
    }
  }
}

Response AdmissionResponse(const policy::Admission& admission) {
  Response response;
  if (admission.outcome == policy::Admission::Outcome::kPreflight) {
    response.result(bhttp::status::no_content);
  } else {
    response = ErrorReply(admission.status);
  }
  AddPolicyHeaders(admission.headers, &response);
  return response;
}

void LogRefusal(const policy::Admission& admission, std::string_view method,
                std::string_view peer) {
  // A shared budget of 10 lines per second; beyond it lines are counted, not written (the
  // metrics count every refusal).
  static std::atomic<std::int64_t> window{0};
  static std::atomic<int> written{0};
  static std::atomic<std::uint64_t> dropped{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t seen = window.load(std::memory_order_relaxed);
  if (seen != now && window.compare_exchange_strong(seen, now)) written.store(0);
  if (written.fetch_add(1) >= 10) {
    dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  registry::LogEvent(registry::LogLevel::kInfo, "policy_refused")
      .Add("kind", policy::RejectKindName(admission.kind))
      .Add("grpc_method", method)
      .Add("remote", peer)
      .Add("grpc_code", static_cast<int>(admission.status.code()))
      .Add("message", admission.status.message())
      .Add("dropped_before", dropped.exchange(0));
}

}  // namespace portico::http
