#include "http/aggregate_run.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "http/call_setup.h"
#include "http/policy_gate.h"

namespace portico::http {
namespace {

using nlohmann::json;

// The value at `path` (json names) inside `root`; null when any step is absent (proto3 JSON
// leaves default values out).
json Navigate(const json& root, const std::vector<std::string>& path) {
  const json* at = &root;
  for (const auto& key : path) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return *at;
}

std::string AsText(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

json StatusObject(const Status& s) { return {{"code", static_cast<int>(s.code())}, {"message", s.message()}}; }

}  // namespace

struct AggregateRun::Part {
  enum class State { kWaiting, kRunning, kDone, kFailed };
  State state = State::kWaiting;
  Status status;  // kFailed
  std::string text;  // kDone: the reply as proto3 JSON text (a for_each: an array of them)
  json result;       // kDone, and only when a later call reads it: `text` parsed
  std::vector<std::shared_ptr<registry::CallHandle>> handles;
  std::vector<std::string> cache_keys;  // per element, when the call has a cache
  bool for_each = false;
  std::size_t expected = 0;  // for_each: elements
  std::size_t received = 0;
  std::vector<std::string> items;  // for_each: each element's reply text, in order
};

// A call ready to go out (issued outside the lock: a transport may answer inline), or answered
// by its cache (`hit`).
struct Send {
  std::size_t part;
  std::size_t element;
  registry::CallSpec spec;
  std::string wire;
  registry::BackendTransport* transport;
  std::shared_ptr<const policy::CachedReply> hit;
};

AggregateRun::AggregateRun(AggregateInputs inputs, std::function<void(AggregateOutcome)> done)
    : in_(std::move(inputs)),
      done_(std::move(done)),
      deadline_(std::chrono::system_clock::now() + in_.plan->config.timeout),
      parts_(in_.plan->calls.size()),
      read_(in_.plan->calls.size(), false) {
  for (const auto& call : in_.plan->calls) {
    for (int dep : call.depends_on) read_[static_cast<std::size_t>(dep)] = true;
  }
}

std::shared_ptr<AggregateRun> AggregateRun::Start(AggregateInputs inputs,
                                                  std::function<void(AggregateOutcome)> done) {
  auto run = std::make_shared<AggregateRun>(std::move(inputs), std::move(done));
  run->Launch();
  return run;
}

void AggregateRun::Cancel() {
  std::vector<std::shared_ptr<registry::CallHandle>> handles;
  {
    std::lock_guard lock(mu_);
    for (auto& part : parts_) {
      for (auto& h : part.handles) handles.push_back(h);
    }
  }
  for (auto& h : handles) h->Cancel();
}

StatusOr<std::string> AggregateRun::RequestJson(std::size_t index, const json* item) const {
  const registry::AggregateCallPlan& call = in_.plan->calls[index];
  json request = call.request_template;
  try {
    for (const auto& sub : call.substitutions) {
      json value;
      switch (sub.ref.source) {
        case registry::AggregateRef::Source::kPathVariable:
          for (const auto& b : in_.bindings) {
            std::string joined;
            for (const auto& s : b.field_path) joined += (joined.empty() ? "" : ".") + s;
            if (joined == sub.ref.name) value = b.value;
          }
          break;
        case registry::AggregateRef::Source::kQuery:
          for (const auto& [k, v] : in_.query) {
            if (k == sub.ref.name) {
              value = v;
              break;
            }
          }
          break;
        case registry::AggregateRef::Source::kCallResult:
          value = Navigate(parts_[static_cast<std::size_t>(sub.ref.call)].result, sub.ref.path);
          break;
        case registry::AggregateRef::Source::kItem:
          value = item != nullptr ? Navigate(*item, sub.ref.path) : json();
          break;
      }
      const json::json_pointer pointer(sub.pointer);
      if (sub.whole_value) {
        request[pointer] = std::move(value);
      } else {
        std::string text = request[pointer].is_string() ? request[pointer].get<std::string>() : "";
        const auto at = text.find(sub.ref_text);
        if (at != std::string::npos) text.replace(at, sub.ref_text.size(), AsText(value));
        request[pointer] = std::move(text);
      }
    }
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("cannot build the request: ") + e.what());
  }
  std::string wire;
  Status s = in_.snapshot->catalog->codec().JsonToWire(
      *call.method->descriptor->input_type(), request.dump(), transcoder::JsonParseFlags{}, &wire);
  if (!s.ok()) return Status(Code::kInvalidArgument, "request of \"" + call.name + "\": " + s.message());
  return wire;
}

void AggregateRun::Launch() {
  std::vector<Send> sends;
  std::optional<AggregateOutcome> outcome;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    const auto& calls = in_.plan->calls;
    for (std::size_t i = 0; i < calls.size(); ++i) {
      Part& part = parts_[i];
      if (part.state != Part::State::kWaiting) continue;
      bool ready = true;
      for (int dep : calls[i].depends_on) {
        const Part& d = parts_[static_cast<std::size_t>(dep)];
        if (d.state == Part::State::kFailed) {
          part.state = Part::State::kFailed;
          part.status = Status(Code::kAborted, "skipped: it needs \"" +
                                                   calls[static_cast<std::size_t>(dep)].name +
                                                   "\", which failed");
          ready = false;
          break;
        }
        if (d.state != Part::State::kDone) ready = false;
      }
      if (!ready || part.state != Part::State::kWaiting) continue;
      // Ready: one request, or one per element.
      std::vector<json> elements;
      const json* list = nullptr;
      json list_value;
      if (calls[i].for_each) {
        list_value = Navigate(parts_[static_cast<std::size_t>(calls[i].for_each->call)].result,
                              calls[i].for_each->path);
        if (list_value.is_array()) list = &list_value;
        part.for_each = true;
        part.expected = list ? list->size() : 0;
        if (part.expected > in_.plan->config.max_fan_out) {
          part.state = Part::State::kFailed;
          part.status = Status(Code::kResourceExhausted,
                               "for_each over " + std::to_string(part.expected) +
                                   " elements; max_fan_out is " +
                                   std::to_string(in_.plan->config.max_fan_out));
          continue;
        }
        if (part.expected == 0) {
          part.state = Part::State::kDone;
          part.text = "[]";
          part.result = json::array();
          continue;
        }
        part.items.assign(part.expected, std::string());
      }
      if (Status refused = Refused(i); !refused.ok()) {
        part.state = Part::State::kFailed;
        part.status = std::move(refused);
        continue;
      }
      // The call setup of a direct call to the method (backend, deadline rule, idempotency,
      // hash key), bounded by the call's and the aggregate's deadlines.
      auto resolved = ResolveMethod(in_.snapshot, calls[i].method->path);
      if (auto* refusal = std::get_if<Refusal>(&resolved)) {
        part.state = Part::State::kFailed;
        part.status = refusal->status;
        continue;
      }
      const CallTarget& target = std::get<CallTarget>(resolved);
      registry::Metadata metadata = in_.metadata;
      if (i < in_.admissions.size()) {
        registry::Metadata admitted = in_.admissions[i].metadata;
        MergeMetadata(std::move(admitted), &metadata);
      }
      registry::CallSpec base = MakeCallSpec(target, std::move(metadata), std::nullopt);
      base.deadline = std::min({base.deadline, deadline_,
                                std::chrono::system_clock::now() + calls[i].timeout});
      policy::ResponseCache* cache = i < in_.caches.size() ? in_.caches[i].get() : nullptr;
      const std::size_t count = part.for_each ? part.expected : 1;
      part.state = Part::State::kRunning;
      if (cache != nullptr) part.cache_keys.assign(count, std::string());
      for (std::size_t e = 0; e < count; ++e) {
        auto wire = RequestJson(i, list != nullptr ? &(*list)[e] : nullptr);
        if (!wire.ok()) {
          part.state = Part::State::kFailed;
          part.status = wire.status();
          break;
        }
        std::shared_ptr<const policy::CachedReply> hit;
        if (cache != nullptr) {
          part.cache_keys[e] = CacheKeyOf(i, *wire);
          hit = cache->Find(part.cache_keys[e]);
        }
        sends.push_back(Send{i, e, hit ? registry::CallSpec{} : base, std::move(*wire),
                             &target.backend->transport(), std::move(hit)});
      }
      if (part.state == Part::State::kFailed) {
        std::erase_if(sends, [i](const Send& s) { return s.part == i; });
      }
    }
    if (sends.empty()) {
      bool settled = true;
      for (const Part& p : parts_) settled = settled && (p.state == Part::State::kDone ||
                                                         p.state == Part::State::kFailed);
      if (settled || (in_.plan->config.on_error == "fail" &&
                      std::any_of(parts_.begin(), parts_.end(), [](const Part& p) {
                        return p.state == Part::State::kFailed;
                      }))) {
        finished_ = true;
        outcome = Outcome();
      }
    }
  }
  if (outcome) return done_(std::move(*outcome));
  auto self = shared_from_this();
  // Backend calls first, then cache hits: a hit may settle the run, which cancels the handles
  // it knows.
  for (auto& send : sends) {
    if (send.hit) continue;
    auto handle = send.transport->CallUnary(
        std::move(send.spec), std::move(send.wire),
        [self, part = send.part, element = send.element](registry::UnaryResult result) {
          self->OnReply(part, element, std::move(result));
        });
    bool late;
    {
      std::lock_guard lock(mu_);
      late = finished_;
      parts_[send.part].handles.push_back(handle);
    }
    if (late) handle->Cancel();  // the run settled (under `fail`) while this call was issued
  }
  for (auto& send : sends) {
    if (!send.hit) continue;
    registry::UnaryResult result;
    result.response = send.hit->body;
    OnReply(send.part, send.element, std::move(result), /*from_cache=*/true);
  }
}

Status AggregateRun::Refused(std::size_t index) const {
  if (index < in_.admissions.size() && in_.admissions[index].refused) {
    return *in_.admissions[index].refused;
  }
  return OkStatus();
}

std::string AggregateRun::CacheKeyOf(std::size_t index, std::string_view wire) const {
  // Keyed by the identity the policies forwarded too: one caller's reply never reaches another
  // whom the backend would have answered differently.
  std::vector<std::string_view> vary;
  if (index < in_.admissions.size()) {
    for (const auto& [key, value] : in_.admissions[index].metadata) {
      vary.push_back(key);
      vary.push_back(value);
    }
  }
  return policy::CacheKey(in_.plan->calls[index].method->path, wire, vary);
}

void AggregateRun::OnReply(std::size_t index, std::size_t element, registry::UnaryResult result,
                           bool from_cache) {
  std::vector<std::shared_ptr<registry::CallHandle>> cancel;
  // Converted outside the lock: parts answering at once convert at once.
  std::string text;
  Status s;
  if (result.status.code == Code::kOk) {
    s = in_.snapshot->catalog->codec().WireToJson(
        *in_.plan->calls[index].method->descriptor->output_type(), result.response, &text);
  }
  {
    std::lock_guard lock(mu_);
    Part& part = parts_[index];
    if (finished_ || part.state != Part::State::kRunning) return;
    if (result.status.code != Code::kOk) {
      part.state = Part::State::kFailed;
      part.status = Status(result.status.code, result.status.message);
      cancel = part.handles;  // the other elements of a for_each are not needed any more
    } else {
      if (!s.ok()) {
        part.state = Part::State::kFailed;
        part.status = s;
      } else if (part.for_each) {
        KeepInCache(index, element, result.response, from_cache);
        part.items[element] = std::move(text);
        if (++part.received == part.expected) Settle(index);
      } else {
        KeepInCache(index, element, result.response, from_cache);
        part.text = std::move(text);
        Settle(index);
      }
    }
    if (part.state == Part::State::kFailed && in_.plan->config.on_error == "fail") {
      for (auto& p : parts_) {
        for (auto& h : p.handles) cancel.push_back(h);
      }
    }
  }
  for (auto& h : cancel) h->Cancel();
  Launch();
}

void AggregateRun::KeepInCache(std::size_t index, std::size_t element, const std::string& wire,
                               bool from_cache) {
  if (from_cache || index >= in_.caches.size() || in_.caches[index] == nullptr) return;
  auto reply = std::make_shared<policy::CachedReply>();
  reply->body = wire;
  in_.caches[index]->Store(parts_[index].cache_keys[element], std::move(reply),
                           *in_.plan->calls[index].cache_ttl);
}

AggregateOutcome AggregateRun::Outcome() const {
  const auto& calls = in_.plan->calls;
  if (in_.plan->config.on_error == "fail") {
    // The first failure in the plan's order (skips only follow from failures).
    for (std::size_t i = 0; i < calls.size(); ++i) {
      if (parts_[i].state == Part::State::kFailed &&
          parts_[i].status.code() != Code::kAborted) {
        return AggregateOutcome{parts_[i].status, ""};
      }
    }
  }
  // The replies are spliced in as the codec wrote them (their fields in proto order), not
  // parsed and dumped again; parts in name order, then "errors".
  std::vector<std::size_t> order(calls.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&calls](std::size_t a, std::size_t b) { return calls[a].name < calls[b].name; });
  std::string reply = "{";
  json errors = json::object();
  for (std::size_t i : order) {
    if (parts_[i].state == Part::State::kDone) {
      if (reply.size() > 1) reply += ',';
      reply += json(calls[i].name).dump();
      reply += ':';
      reply += parts_[i].text;
    } else {
      errors[calls[i].name] = StatusObject(parts_[i].status);
    }
  }
  if (!errors.empty()) {
    if (reply.size() > 1) reply += ',';
    reply += "\"errors\":";
    reply += errors.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  reply += '}';
  return AggregateOutcome{OkStatus(), std::move(reply)};
}

void AggregateRun::Settle(std::size_t index) {
  Part& part = parts_[index];
  if (part.for_each) {
    std::size_t size = 2;
    for (const auto& item : part.items) size += item.size() + 1;
    part.text.reserve(size);
    part.text = "[";
    for (std::size_t e = 0; e < part.items.size(); ++e) {
      if (e > 0) part.text += ',';
      part.text += part.items[e];
    }
    part.text += ']';
    part.items.clear();
  }
  if (read_[index]) {
    part.result = json::parse(part.text, nullptr, /*allow_exceptions=*/false);
    if (part.result.is_discarded()) {
      part.state = Part::State::kFailed;
      part.status = Internal("unreadable reply");
      return;
    }
  }
  part.state = Part::State::kDone;
}

}  // namespace portico::http
