#include "registry/aggregate_plan.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>

#include <google/protobuf/descriptor.h>

#include "registry/backend_config.h"

namespace portico::registry {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

Status Fail(const AggregateConfig& a, const std::string& where, const std::string& message) {
  return InvalidArgument("aggregate " + QuoteValue(a.name) + ": " + where + ": " + message);
}

// "{a.b.c}" -> {"a", "b", "c"}; empty when `text` is not one well-formed ref.
std::vector<std::string> RefSegments(std::string_view text) {
  if (text.size() < 3 || text.front() != '{' || text.back() != '}') return {};
  std::vector<std::string> out;
  std::string_view rest = text.substr(1, text.size() - 2);
  while (true) {
    const auto dot = rest.find('.');
    std::string_view part = rest.substr(0, dot);
    if (part.empty()) return {};
    for (char c : part) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return {};
    }
    out.emplace_back(part);
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return out;
}

const FieldDescriptor* FieldOf(const Descriptor* message, const std::string& name) {
  if (message == nullptr) return nullptr;
  if (const FieldDescriptor* f = message->FindFieldByName(name)) return f;
  for (int i = 0; i < message->field_count(); ++i) {
    if (message->field(i)->json_name() == name) return message->field(i);
  }
  return nullptr;
}

// What a ref's value is: a field (null for a whole message), and the message it is or holds.
struct ValueType {
  const FieldDescriptor* field = nullptr;  // null: a whole message (`message`)
  const Descriptor* message = nullptr;     // the message type, for message values
  bool repeated = false;
};

// Walks `path` from `root`; every segment but the last must be a singular message field.
StatusOr<ValueType> Walk(const Descriptor* root, const std::vector<std::string>& path,
                         std::size_t from, std::vector<std::string>* json_names = nullptr) {
  ValueType value{nullptr, root, false};
  for (std::size_t i = from; i < path.size(); ++i) {
    if (value.field != nullptr && (value.repeated || value.message == nullptr)) {
      return InvalidArgument("\"" + path[i - 1] + "\" has no fields");
    }
    const FieldDescriptor* f = FieldOf(value.message, path[i]);
    if (f == nullptr) {
      return InvalidArgument(std::string(value.message ? value.message->full_name() : "a scalar") +
                             " has no field \"" + path[i] + "\"");
    }
    if (json_names != nullptr) json_names->push_back(f->json_name());
    value.field = f;
    value.repeated = f->is_repeated();
    value.message = f->type() == FieldDescriptor::TYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return value;
}

// The destination of a substitution at JSON pointer `tokens` inside `message`.
StatusOr<ValueType> Destination(const Descriptor* message, const std::vector<std::string>& tokens) {
  ValueType value{nullptr, message, false};
  for (const auto& token : tokens) {
    if (value.repeated) {  // an array index: the element
      value.repeated = false;
      continue;
    }
    if (value.message == nullptr) return InvalidArgument("goes inside a scalar");
    if (value.field != nullptr && value.field->is_map()) return InvalidArgument("goes inside a map");
    const FieldDescriptor* f = FieldOf(value.message, token);
    if (f == nullptr) {
      return InvalidArgument(value.message->full_name() + " has no field \"" + token + "\"");
    }
    value.field = f;
    value.repeated = f->is_repeated();
    value.message = f->type() == FieldDescriptor::TYPE_MESSAGE ? f->message_type() : nullptr;
  }
  return value;
}

// Whether a value of type `from` may fill `to` (whole-value substitution): repeatedness equal,
// messages of the same type, scalars into scalars (proto3 JSON converts numbers, strings and
// enums at run time).
bool Fits(const ValueType& from, const ValueType& to) {
  if (from.repeated != to.repeated) return false;
  if ((from.message == nullptr) != (to.message == nullptr)) return false;
  if (from.message != nullptr) return from.message->full_name() == to.message->full_name();
  return true;
}

std::string Escape(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

struct Walker {
  const AggregateConfig& config;
  const std::map<std::string, int>& index;         // call name -> topological index
  const std::set<std::string>& variables;          // the route's path variables
  const std::vector<const MethodInfo*>& methods;   // by topological index
  const AggregateCall& call;
  std::optional<ValueType> item;                   // for_each's element type
  AggregateCallPlan* plan;

  Status Visit(const nlohmann::json& value, std::vector<std::string>& tokens) {
    if (value.is_object()) {
      for (const auto& [key, item_value] : value.items()) {
        tokens.push_back(key);
        // Every key names a field of the request (a typo fails at load, not on each request);
        // what a map or a well-known type (Struct, Timestamp...) holds the codec checks.
        auto dest = Destination(
            methods[static_cast<std::size_t>(index.at(call.name))]->descriptor->input_type(),
            tokens);
        if (!dest.ok()) return Fail(config, Where(tokens), dest.status().message());
        const bool opaque =
            dest->field->is_map() ||
            (dest->message != nullptr && dest->message->file()->package() == "google.protobuf");
        if (!opaque || item_value.is_string()) {
          if (Status s = Visit(item_value, tokens); !s.ok()) return s;
        }
        tokens.pop_back();
      }
    } else if (value.is_array()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        tokens.push_back(std::to_string(i));
        if (Status s = Visit(value[i], tokens); !s.ok()) return s;
        tokens.pop_back();
      }
    } else if (value.is_string()) {
      return String(value.get_ref<const std::string&>(), tokens);
    }
    return OkStatus();
  }

  std::string Where(const std::vector<std::string>& tokens) const {
    std::string out = "calls." + call.name + ".request";
    for (const auto& t : tokens) out += "." + t;
    return out;
  }

  Status String(const std::string& text, const std::vector<std::string>& tokens) {
    std::string pointer;
    for (const auto& t : tokens) pointer += "/" + Escape(t);
    for (std::size_t open = text.find('{'); open != std::string::npos;
         open = text.find('{', open + 1)) {
      const auto close = text.find('}', open);
      if (close == std::string::npos) break;
      const std::string ref_text = text.substr(open, close - open + 1);
      const auto segments = RefSegments(ref_text);
      if (segments.empty()) return Fail(config, Where(tokens), ref_text + " is not a {name.field} ref");
      AggregateSubstitution sub;
      sub.pointer = pointer;
      sub.whole_value = open == 0 && close + 1 == text.size();
      sub.ref_text = ref_text;
      auto ref = Resolve(segments, ref_text, Where(tokens));
      if (!ref.ok()) return ref.status();
      sub.ref = std::move(ref->first);
      // The destination field and the type fit.
      auto dest = Destination(methods[static_cast<std::size_t>(index.at(call.name))]
                                  ->descriptor->input_type(),
                              tokens);
      if (!dest.ok()) return Fail(config, Where(tokens), dest.status().message());
      const ValueType& source = ref->second;
      if (sub.whole_value ? !Fits(source, *dest) : (source.repeated || source.message != nullptr)) {
        return Fail(config, Where(tokens),
                    ref_text + " does not fit here (" +
                        (sub.whole_value ? "types differ" : "only scalars go inside text") + ")");
      }
      plan->substitutions.push_back(std::move(sub));
    }
    return OkStatus();
  }

  // The ref's source and the type of its value.
  StatusOr<std::pair<AggregateRef, ValueType>> Resolve(const std::vector<std::string>& segments,
                                                       const std::string& text,
                                                       const std::string& where) {
    AggregateRef ref;
    const std::string& head = segments.front();
    if (auto it = index.find(head); it != index.end()) {
      if (head == call.name) return Fail(config, where, text + " names the call itself");
      ref.source = AggregateRef::Source::kCallResult;
      ref.call = it->second;
      auto type = Walk(methods[static_cast<std::size_t>(it->second)]->descriptor->output_type(),
                       segments, 1, &ref.path);
      if (!type.ok()) return Fail(config, where, text + ": " + type.status().message());
      if (std::find(plan->depends_on.begin(), plan->depends_on.end(), it->second) ==
          plan->depends_on.end()) {
        plan->depends_on.push_back(it->second);
      }
      return std::make_pair(ref, *type);
    }
    if (head == "item" && item) {
      ref.source = AggregateRef::Source::kItem;
      if (segments.size() == 1) return std::make_pair(ref, ValueType{item->field, item->message, false});
      auto type = Walk(item->message, segments, 1, &ref.path);
      if (!type.ok()) return Fail(config, where, text + ": " + type.status().message());
      return std::make_pair(ref, *type);
    }
    std::string joined;
    for (const auto& s : segments) joined += (joined.empty() ? "" : ".") + s;
    if (variables.count(joined)) {
      ref.source = AggregateRef::Source::kPathVariable;
    } else if (segments.size() == 1) {
      ref.source = AggregateRef::Source::kQuery;
    } else {
      return Fail(config, where, text + " names no call, path variable or item");
    }
    ref.name = joined;
    // A path variable or query parameter is text: it fits any scalar.
    return std::make_pair(ref, ValueType{});
  }
};

}  // namespace

const AggregatePlan* AggregateTable::Match(std::string_view http_method, std::string_view path,
                                           transcoder::PathMatch* match) const {
  if (!matcher_ ||
      matcher_->Lookup(http_method, path, match) != transcoder::PathMatcher::Result::kMatched) {
    return nullptr;
  }
  return plans_[match->route].get();
}

StatusOr<std::shared_ptr<const AggregateTable>> BuildAggregateTable(
    const Catalog& catalog, const std::vector<AggregateConfig>& aggregates) {
  auto table = std::make_shared<AggregateTable>();
  transcoder::PathMatcher::Builder own;
  transcoder::PathMatcher::Builder all;  // descriptor routes too: an aggregate must not shadow one
  std::string error;
  for (std::size_t i = 0; i < catalog.routes().size(); ++i) {
    const auto& route = catalog.routes()[i];
    all.Add(route.plan.binding().http_method, route.plan.path_template(), i, &error);
  }
  for (const AggregateConfig& config : aggregates) {
    std::string template_error;
    auto path_template = transcoder::HttpTemplate::Parse(config.path, &template_error);
    if (!path_template) return Fail(config, "route", template_error);
    if (!all.Add(config.http_method, *path_template, 0, &error)) {
      return Fail(config, "route", config.http_method + " " + config.path +
                                       " collides with a route already served (" + error + ")");
    }
    std::set<std::string> variables;
    for (const auto& v : path_template->variables) {
      std::string joined;
      for (const auto& s : v.field_path) joined += (joined.empty() ? "" : ".") + s;
      variables.insert(joined);
    }

    // Methods first, then an order in which every call comes after what it names.
    std::map<std::string, const MethodInfo*> method_of;
    std::map<std::string, std::set<std::string>> needs;  // call -> calls it names
    for (const AggregateCall& call : config.calls) {
      std::string path = call.method;
      if (path.empty() || path.front() != '/') path = "/" + path;
      const MethodInfo* method = catalog.FindMethod(path);
      if (method == nullptr) {
        return Fail(config, "calls." + call.name + ".method", "no method " + QuoteValue(call.method));
      }
      if (method->client_streaming || method->server_streaming) {
        return Fail(config, "calls." + call.name + ".method",
                    QuoteValue(call.method) + " is a streaming method; aggregates call unary ones");
      }
      method_of[call.name] = method;
      // What it names, textually (resolution proper comes below, in order).
      std::vector<const nlohmann::json*> stack{&call.request};
      std::vector<std::string> refs;
      if (!call.for_each.empty()) refs.push_back(call.for_each);
      while (!stack.empty()) {
        const nlohmann::json* v = stack.back();
        stack.pop_back();
        if (v->is_structured()) {
          for (const auto& child : *v) stack.push_back(&child);
        } else if (v->is_string()) {
          const auto& s = v->get_ref<const std::string&>();
          for (auto open = s.find('{'); open != std::string::npos; open = s.find('{', open + 1)) {
            const auto close = s.find('}', open);
            if (close == std::string::npos) break;
            refs.push_back(s.substr(open, close - open + 1));
          }
        }
      }
      for (const auto& r : refs) {
        const auto segments = RefSegments(r);
        if (!segments.empty()) needs[call.name].insert(segments.front());
      }
    }
    std::vector<std::string> order;
    std::set<std::string> placed;
    while (order.size() < config.calls.size()) {
      bool progress = false;
      for (const AggregateCall& call : config.calls) {
        if (placed.count(call.name)) continue;
        bool ready = true;
        for (const auto& n : needs[call.name]) {
          if (n != call.name && method_of.count(n) && !placed.count(n)) ready = false;
        }
        if (ready) {
          order.push_back(call.name);
          placed.insert(call.name);
          progress = true;
        }
      }
      if (!progress) {
        std::string cycle;
        for (const AggregateCall& call : config.calls) {
          if (!placed.count(call.name)) cycle += (cycle.empty() ? "" : ", ") + call.name;
        }
        return Fail(config, "calls", "the calls " + cycle + " depend on each other in a cycle");
      }
    }
    std::map<std::string, int> index;
    std::vector<const MethodInfo*> methods;
    for (std::size_t i = 0; i < order.size(); ++i) {
      index[order[i]] = static_cast<int>(i);
      methods.push_back(method_of[order[i]]);
    }

    auto plan = std::make_shared<AggregatePlan>();
    plan->config = config;
    for (const std::string& name : order) {
      const AggregateCall& call =
          *std::find_if(config.calls.begin(), config.calls.end(),
                        [&](const AggregateCall& c) { return c.name == name; });
      AggregateCallPlan call_plan;
      call_plan.name = name;
      call_plan.method = method_of[name];
      call_plan.request_template = call.request;
      call_plan.timeout = call.timeout.count() > 0 ? call.timeout : config.timeout;
      call_plan.cache_ttl = call.cache_ttl;
      Walker walker{config, index, variables, methods, call, std::nullopt, &call_plan};
      if (!call.for_each.empty()) {
        const auto segments = RefSegments(call.for_each);
        auto ref = walker.Resolve(segments, call.for_each, "calls." + name + ".for_each");
        if (!ref.ok()) return ref.status();
        if (ref->first.source != AggregateRef::Source::kCallResult || !ref->second.repeated) {
          return Fail(config, "calls." + name + ".for_each",
                      call.for_each + " must name a repeated field of an earlier call's reply");
        }
        walker.item = ValueType{ref->second.field, ref->second.message, false};
        call_plan.for_each = ref->first;
      }
      std::vector<std::string> tokens;
      if (Status s = walker.Visit(call.request, tokens); !s.ok()) return s;
      plan->calls.push_back(std::move(call_plan));
    }
    if (!own.Add(config.http_method, *path_template, table->plans_.size(), &error)) {
      return Fail(config, "route", error);
    }
    plan->index = table->plans_.size();
    table->plans_.push_back(std::move(plan));
  }
  table->matcher_ = std::make_unique<transcoder::PathMatcher>(std::move(own).Build());
  return std::shared_ptr<const AggregateTable>(std::move(table));
}

}  // namespace portico::registry
