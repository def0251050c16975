#include "registry/openapi_document.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "transcoder/http_rule.h"

namespace portico::registry {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;
using transcoder::HttpTemplate;

// A `{...}` slot of an OpenAPI path: a template variable or an unnamed wildcard.
struct PathParam {
  std::string name;                        // field path as written, or generated
  const FieldDescriptor* field = nullptr;  // the leaf it binds; null for an unnamed wildcard
  std::string field_path;                  // "inner.s"; "" for an unnamed wildcard
  bool multi_segment = false;
  std::string segments;  // "shelves/*/books/**" for a multi-segment variable or `**`
  std::string pattern;   // regex of the value (multi-segment only)
  int part = 0;          // expanded variable: which of its wildcards (1-based); 0 otherwise
};

// An OpenAPI path as literal pieces around its parameters:
// pieces[0] {params[0]} pieces[1] ... {params[n-1]} pieces[n].
struct PathShape {
  std::vector<std::string> pieces;
  std::vector<PathParam> params;

  std::string Key() const {  // the path with the names dropped: what OpenAPI compares
    std::string key;
    for (std::size_t i = 0; i < pieces.size(); ++i) key += (i ? "{}" : "") + pieces[i];
    return key;
  }
  std::string Render(const std::vector<std::string>& names) const {
    std::string path = pieces[0];
    for (std::size_t i = 0; i < params.size(); ++i) path += "{" + names[i] + "}" + pieces[i + 1];
    return path;
  }
};

const FieldDescriptor* FindField(const pb::Descriptor& type, const std::string& name) {
  if (const FieldDescriptor* f = type.FindFieldByName(name)) return f;
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == name) return type.field(i);
  }
  return nullptr;
}

// The leaf a field path binds, or null (RoutePlan::Create already refused unknown fields).
const FieldDescriptor* Resolve(const pb::Descriptor& request, const std::vector<std::string>& path) {
  const pb::Descriptor* type = &request;
  const FieldDescriptor* field = nullptr;
  for (const auto& name : path) {
    if (type == nullptr) return nullptr;
    field = FindField(*type, name);
    if (field == nullptr) return nullptr;
    type = field->type() == FieldDescriptor::TYPE_MESSAGE ? field->message_type() : nullptr;
  }
  return field;
}

std::string Join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

std::string RegexEscape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string SegmentsText(const HttpTemplate& t, std::size_t from, std::size_t to) {
  using Kind = HttpTemplate::Segment::Kind;
  std::vector<std::string> texts;
  for (std::size_t k = from; k < to; ++k) {
    const auto& s = t.segments[k];
    texts.push_back(s.kind == Kind::kLiteral ? s.literal : s.kind == Kind::kWildcard ? "*" : "**");
  }
  return Join(texts, "/");
}

// expand: a multi-segment variable becomes its literal segments with one parameter per `*` /
// `**` (`/v1/{name=shelves/*}` -> `/v1/shelves/{name_1}`) instead of one `{name}`: the form
// used where two templates would otherwise share one OpenAPI path and method.
PathShape ShapeOf(const HttpTemplate& t, const pb::Descriptor& request, bool expand) {
  using Kind = HttpTemplate::Segment::Kind;
  PathShape shape;
  const std::size_t n = t.segments.size();
  std::set<std::string> names;
  for (const auto& v : t.variables) names.insert(Join(v.field_path, "."));
  int wildcards = 0;
  std::string piece;
  std::size_t i = 0;
  while (i < n) {
    piece += '/';
    const HttpTemplate::Variable* var = nullptr;
    for (const auto& v : t.variables) {
      if (v.start_segment >= 0 && static_cast<std::size_t>(v.start_segment) == i) var = &v;
    }
    const auto& segment = t.segments[i];
    if (var == nullptr && segment.kind == Kind::kLiteral) {
      piece += segment.literal;
      ++i;
      continue;
    }
    PathParam param;
    std::size_t end = i + 1;
    if (var != nullptr && var->multi_segment && expand) {
      end = var->end_segment < 0 ? n : std::clamp<std::size_t>(
                                           static_cast<std::size_t>(var->end_segment), i + 1, n);
      const std::string field_path = Join(var->field_path, ".");
      const FieldDescriptor* field = Resolve(request, var->field_path);
      int part = 0;
      for (std::size_t k = i; k < end; ++k) {
        if (k > i) piece += '/';
        const auto& s = t.segments[k];
        if (s.kind == Kind::kLiteral) {
          piece += s.literal;
          continue;
        }
        PathParam p;
        p.field_path = field_path;
        p.field = field;
        p.part = ++part;
        p.multi_segment = s.kind == Kind::kDoubleWildcard;
        p.segments = SegmentsText(t, i, end);
        std::string name;
        int suffix = part;
        do name = field_path + "_" + std::to_string(suffix++);
        while (names.count(name));
        names.insert(name);
        p.name = name;
        shape.pieces.push_back(std::move(piece));
        piece.clear();
        shape.params.push_back(std::move(p));
      }
      i = end;
      continue;
    }
    if (var != nullptr) {
      param.field_path = Join(var->field_path, ".");
      param.name = param.field_path;
      param.field = Resolve(request, var->field_path);
      param.multi_segment = var->multi_segment;
      end = var->end_segment < 0 ? n : std::clamp<std::size_t>(
                                           static_cast<std::size_t>(var->end_segment), i + 1, n);
    } else {
      std::string name;
      do name = "wildcard_" + std::to_string(++wildcards);
      while (names.count(name));
      names.insert(name);
      param.name = name;
      param.multi_segment = segment.kind == Kind::kDoubleWildcard;
    }
    if (param.multi_segment) {
      std::string regex;
      for (std::size_t k = i; k < end; ++k) {
        const auto& s = t.segments[k];
        if (s.kind == Kind::kDoubleWildcard) {
          regex += k == i ? ".*" : "(/.*)?";
        } else {
          regex += (k == i ? "" : "/") +
                   (s.kind == Kind::kLiteral ? RegexEscape(s.literal) : std::string("[^/]+"));
        }
      }
      param.segments = SegmentsText(t, i, end);
      param.pattern = "^" + regex + "$";
    }
    shape.pieces.push_back(std::move(piece));
    piece.clear();
    shape.params.push_back(std::move(param));
    i = end;
  }
  if (n == 0) piece = "/";
  if (!t.verb.empty()) piece += ":" + t.verb;
  shape.pieces.push_back(std::move(piece));
  return shape;
}

std::string StreamingOf(const MethodInfo& m) {
  return m.client_streaming && m.server_streaming ? "bidi"
         : m.client_streaming                    ? "client"
         : m.server_streaming                    ? "server"
                                                 : "unary";
}

bool IsDefaultBinding(const MethodInfo& m, const transcoder::HttpBinding& b) {
  const transcoder::HttpBinding d = transcoder::DefaultBinding(*m.descriptor);
  return b.http_method == d.http_method && b.path == d.path && b.body == d.body &&
         b.response_body.empty();
}

// google.protobuf messages a URL value can set (route_plan.cc TextToJson): their JSON form is a
// scalar.
bool IsUrlScalarMessage(const pb::Descriptor& type) {
  const std::string& n = type.full_name();
  return n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration" ||
         n == "google.protobuf.FieldMask" || n == "google.protobuf.Value" ||
         type.file()->name() == "google/protobuf/wrappers.proto";
}

class DocumentBuilder {
 public:
  DocumentBuilder(const Catalog& catalog, const OpenApiLimits& limits)
      : catalog_(catalog), limits_(limits) {}

  OpenApiJson Build(std::uint64_t version);

 private:
  struct QueryWalk {
    const pb::FieldDescriptor* body_field = nullptr;
    std::vector<std::vector<const FieldDescriptor*>> bound;  // path variable chains
    std::vector<const FieldDescriptor*> chain;
    std::vector<const pb::Descriptor*> types;  // messages on the chain (cycle stop)
    OpenApiJson* out = nullptr;
    std::size_t count = 0;
    bool truncated = false;
  };

  OpenApiJson Operation(const Route& route, const PathShape& shape,
                        const std::vector<std::string>& names, std::string operation_id);
  void QueryParams(const pb::Descriptor& type, QueryWalk* walk);
  OpenApiJson PathParameter(const PathParam& param, const std::string& name);
  OpenApiJson RequestBody(const Route& route);
  OpenApiJson Responses(const Route& route);
  std::string UniqueId(std::string id);

  const Catalog& catalog_;
  const OpenApiLimits& limits_;
  OpenApiSchemas schemas_;
  std::set<std::string> operation_ids_;
  std::size_t query_total_ = 0;
};

std::string DocumentBuilder::UniqueId(std::string id) {
  if (operation_ids_.insert(id).second) return id;
  for (int k = 2;; ++k) {
    std::string candidate = id + "_" + std::to_string(k);
    if (operation_ids_.insert(candidate).second) return candidate;
  }
}

bool HasPrefix(const std::vector<const FieldDescriptor*>& chain,
               const std::vector<const FieldDescriptor*>& prefix) {
  return !prefix.empty() && chain.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), chain.begin());
}

// Depth-first over the fields, bounded by limits_.query_depth (the recursion depth) and by the
// counts; a message already on the chain is not entered again.
void DocumentBuilder::QueryParams(const pb::Descriptor& type, QueryWalk* walk) {
  for (int i = 0; i < type.field_count() && !walk->truncated; ++i) {
    const FieldDescriptor* f = type.field(i);
    if (f->is_map()) continue;
    walk->chain.push_back(f);
    bool bound = walk->chain.size() == 1 && f == walk->body_field;
    for (const auto& var : walk->bound) bound = bound || HasPrefix(walk->chain, var);
    const bool is_message = f->type() == FieldDescriptor::TYPE_MESSAGE ||
                            f->type() == FieldDescriptor::TYPE_GROUP;
    const bool leaf = !is_message || IsUrlScalarMessage(*f->message_type());
    if (bound || (is_message && f->is_repeated() && !leaf)) {
      // not settable from the query
    } else if (leaf) {
      if (walk->count >= limits_.query_params_per_operation ||
          query_total_ >= limits_.query_params_total) {
        walk->truncated = true;
      } else {
        std::vector<std::string> names;
        std::vector<std::string> proto_names;
        for (const auto* c : walk->chain) {
          names.push_back(c->json_name());
          proto_names.push_back(c->name());
        }
        OpenApiJson p = {{"name", Join(names, ".")}, {"in", "query"}};
        if (std::string comment = ProtoComment(*f); !comment.empty()) p["description"] = comment;
        p["schema"] = schemas_.FieldSchema(*f);
        if (f->is_repeated()) {
          p["style"] = "form";
          p["explode"] = true;
        }
        p["x-portico-field"] = Join(proto_names, ".");
        walk->out->push_back(std::move(p));
        ++walk->count;
        ++query_total_;
      }
    } else if (walk->chain.size() < limits_.query_depth &&
               f->message_type()->file()->package() != "google.protobuf" &&
               std::find(walk->types.begin(), walk->types.end(), f->message_type()) ==
                   walk->types.end()) {
      walk->types.push_back(f->message_type());
      QueryParams(*f->message_type(), walk);
      walk->types.pop_back();
    }
    walk->chain.pop_back();
  }
}

OpenApiJson DocumentBuilder::PathParameter(const PathParam& param, const std::string& name) {
  OpenApiJson p = {{"name", name}, {"in", "path"}, {"required", true}};
  std::string description = param.field ? ProtoComment(*param.field) : std::string();
  if (param.part > 0) {
    description += std::string(description.empty() ? "" : "\n\n") + "Wildcard " +
                   std::to_string(param.part) + " of `" + param.field_path + "=" +
                   param.segments + "`: the field is set to the whole matched text, literal " +
                   "segments included." +
                   (param.multi_segment ? " May span several segments (slashes sent as they are)."
                                        : "");
  } else if (param.multi_segment) {
    description += std::string(description.empty() ? "" : "\n\n") +
                   "Spans several path segments (`" + param.segments +
                   "`): send its slashes as they are, not as %2F.";
  } else if (param.field == nullptr) {
    description += "Any one path segment (an unnamed `*` of the template; binds no field).";
  }
  if (!description.empty()) p["description"] = description;
  // A part of an expanded variable is text whatever the field's type.
  OpenApiJson schema = param.field && param.part == 0 ? schemas_.ValueSchema(*param.field)
                                                      : OpenApiJson{{"type", "string"}};
  if (param.multi_segment && param.part == 0 && (param.field == nullptr ||
                              param.field->type() == FieldDescriptor::TYPE_STRING)) {
    schema["pattern"] = param.pattern;
  }
  p["schema"] = std::move(schema);
  if (!param.field_path.empty()) p["x-portico-field"] = param.field_path;
  return p;
}

OpenApiJson DocumentBuilder::RequestBody(const Route& route) {
  const auto& binding = route.plan.binding();
  const pb::Descriptor& request = *route.method->descriptor->input_type();
  OpenApiJson body = OpenApiJson::object();
  if (route.plan.request_is_http_body()) {
    body["description"] =
        "The raw request body (google.api.HttpBody): its bytes become `data` and its "
        "Content-Type `content_type`.";
    body["content"] = {{"*/*", {{"schema", OpenApiJson::object()}}}};
    return body;
  }
  OpenApiJson schema;
  if (binding.body == "*") {
    schema = schemas_.MessageRef(request);
  } else if (const FieldDescriptor* f = FindField(request, binding.body)) {
    schema = schemas_.FieldSchema(*f);
  } else {
    schema = OpenApiJson::object();  // never: RoutePlan::Create resolved the body field
  }
  if (route.method->client_streaming) {
    body["description"] =
        "A stream of request messages: NDJSON (one JSON message per line) or one JSON array "
        "of them. The backend sees the end of the stream at the end of the body.";
    body["content"] = {
        {"application/x-ndjson", {{"schema", schema}}},
        {"application/json", {{"schema", {{"type", "array"}, {"items", schema}}}}}};
  } else {
    body["content"] = {{"application/json", {{"schema", std::move(schema)}}}};
  }
  return body;
}

OpenApiJson DocumentBuilder::Responses(const Route& route) {
  const auto& binding = route.plan.binding();
  const pb::Descriptor& reply = *route.method->descriptor->output_type();
  OpenApiJson ok = OpenApiJson::object();
  const bool stream = route.method->server_streaming;
  if (route.plan.reply_is_http_body()) {
    ok["description"] = stream ? "The raw bytes of every google.api.HttpBody reply, in one "
                                 "chunked body, with the first one's content_type."
                               : "The raw reply (google.api.HttpBody): `data` with "
                                 "`content_type` as Content-Type.";
    ok["content"] = {{"*/*", {{"schema", OpenApiJson::object()}}}};
  } else {
    OpenApiJson schema;
    if (binding.response_body.empty()) {
      schema = schemas_.MessageRef(reply);
    } else if (const FieldDescriptor* f = FindField(reply, binding.response_body)) {
      schema = schemas_.FieldSchema(*f);
    } else {
      schema = OpenApiJson::object();
    }
    if (stream) {
      ok["description"] =
          "A stream of replies, each flushed as it arrives. NDJSON (the default): one line "
          "per reply `{\"result\": <reply>}`, and on failure a last line "
          "`{\"error\": <google.rpc.Status>}`. Server-Sent Events (`Accept: "
          "text/event-stream`): one `data: <reply JSON>` event per reply; on failure a last "
          "`event: error` with the Status JSON as data; at a successful end `event: end` with "
          "`data: {\"code\":0}`.";
      ok["content"] = {
          {"application/x-ndjson",
           {{"schema",
             {{"type", "object"},
              {"properties", {{"result", schema}, {"error", schemas_.StatusRef()}}}}}}},
          {"text/event-stream", {{"schema", {{"type", "string"}}}}}};
    } else {
      ok["description"] = "OK";
      ok["content"] = {{"application/json", {{"schema", std::move(schema)}}}};
    }
  }
  OpenApiJson error = {
      {"description",
       "Error: the gRPC status as google.rpc.Status, with the HTTP status mapped from its code "
       "(DESIGN section 5)."},
      {"content", {{"application/json", {{"schema", schemas_.StatusRef()}}}}}};
  return {{"200", std::move(ok)}, {"default", std::move(error)}};
}

OpenApiJson DocumentBuilder::Operation(const Route& route, const PathShape& shape,
                                       const std::vector<std::string>& names,
                                       std::string operation_id) {
  const MethodInfo& m = *route.method;
  const pb::MethodDescriptor& method = *m.descriptor;
  const auto& binding = route.plan.binding();
  OpenApiJson op = OpenApiJson::object();
  op["operationId"] = std::move(operation_id);
  op["tags"] = {method.service()->full_name()};
  if (std::string comment = ProtoComment(method); !comment.empty()) {
    op["summary"] = comment.substr(0, comment.find('\n'));
    op["description"] = comment;
  }
  op["x-portico-grpc-method"] = m.path;
  op["x-portico-streaming"] = StreamingOf(m);
  op["x-portico-request"] = method.input_type()->full_name();
  op["x-portico-response"] = method.output_type()->full_name();
  op["x-portico-default-route"] = IsDefaultBinding(m, binding);
  op["x-portico-path-template"] = binding.path;
  if (!binding.body.empty()) op["x-portico-body"] = binding.body;
  if (!binding.response_body.empty()) op["x-portico-response-body"] = binding.response_body;

  OpenApiJson params = OpenApiJson::array();
  for (std::size_t i = 0; i < shape.params.size(); ++i) {
    params.push_back(PathParameter(shape.params[i], names[i]));
  }
  // A well-known request type (Empty, Struct, a wrapper, ...) has a JSON form that is not an
  // object of its fields: nothing to set field by field from the query.
  if (binding.body != "*" && method.input_type()->file()->package() != "google.protobuf") {
    QueryWalk walk;
    walk.out = &params;
    if (!binding.body.empty()) walk.body_field = FindField(*method.input_type(), binding.body);
    for (const auto& var : route.plan.path_template().variables) {
      std::vector<const FieldDescriptor*> chain;
      const pb::Descriptor* type = method.input_type();
      for (const auto& name : var.field_path) {
        const FieldDescriptor* f = type ? FindField(*type, name) : nullptr;
        if (f == nullptr) break;
        chain.push_back(f);
        type = f->type() == FieldDescriptor::TYPE_MESSAGE ? f->message_type() : nullptr;
      }
      walk.bound.push_back(std::move(chain));
    }
    walk.types.push_back(method.input_type());
    QueryParams(*method.input_type(), &walk);
    if (walk.truncated) op["x-portico-query-truncated"] = true;
  }
  if (!params.empty()) op["parameters"] = std::move(params);
  if (!binding.body.empty()) op["requestBody"] = RequestBody(route);
  op["responses"] = Responses(route);
  return op;
}

// OpenAPI 3.1's fixed fields of a Path Item; other methods go under x-portico-custom-methods.
std::string StandardMethod(const std::string& http_method) {
  std::string lower;
  for (char c : http_method) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string, std::less<>> kStandard = {
      "get", "put", "post", "delete", "options", "head", "patch", "trace"};
  return kStandard.count(lower) ? lower : std::string();
}

OpenApiJson DocumentBuilder::Build(std::uint64_t version) {
  const auto& routes = catalog_.routes();
  // Pass 1: every route's shape, and per OpenAPI path shape the variable names at each slot.
  std::vector<PathShape> shapes;
  shapes.reserve(routes.size());
  std::unordered_map<std::string, std::vector<std::vector<std::string>>> slot_names;
  for (const Route& route : routes) {
    shapes.push_back(
        ShapeOf(route.plan.path_template(), *route.method->descriptor->input_type(), false));
  }
  // Multi-segment variables collapse distinct templates onto one OpenAPI path: those sharing a
  // path and method with another route are expanded.
  std::unordered_map<std::string, int> uses;  // "METHOD path-shape" -> routes
  for (std::size_t r = 0; r < routes.size(); ++r) {
    ++uses[routes[r].plan.binding().http_method + " " + shapes[r].Key()];
  }
  for (std::size_t r = 0; r < routes.size(); ++r) {
    const auto& t = routes[r].plan.path_template();
    const bool multi = std::any_of(t.variables.begin(), t.variables.end(),
                                   [](const auto& v) { return v.multi_segment; });
    if (multi && uses[routes[r].plan.binding().http_method + " " + shapes[r].Key()] > 1) {
      shapes[r] = ShapeOf(t, *routes[r].method->descriptor->input_type(), true);
    }
  }
  for (const PathShape& shape : shapes) {
    auto& slots = slot_names[shape.Key()];
    slots.resize(shape.params.size());
    for (std::size_t i = 0; i < slots.size(); ++i) {
      const std::string& name = shape.params[i].name;
      if (std::find(slots[i].begin(), slots[i].end(), name) == slots[i].end()) {
        slots[i].push_back(name);
      }
    }
  }
  std::unordered_map<std::string, std::vector<std::string>> canonical;  // shape -> names
  for (auto& [key, slots] : slot_names) {
    std::vector<std::string> names;
    std::set<std::string> used;
    for (const auto& slot : slots) {
      std::string name = Join(slot, "_or_");
      for (int k = 2; !used.insert(name).second; ++k) name = Join(slot, "_or_") + "_" + std::to_string(k);
      names.push_back(std::move(name));
    }
    canonical.emplace(key, std::move(names));
  }

  // Pass 2: operations, in route order (methods sorted, rule bindings then the default route).
  std::vector<std::string> path_order;
  std::unordered_map<std::string, OpenApiJson> path_items;
  std::map<std::string, const pb::ServiceDescriptor*> services;
  OpenApiJson omitted = OpenApiJson::array();
  const MethodInfo* previous = nullptr;
  int rule_index = 0;
  for (std::size_t r = 0; r < routes.size(); ++r) {
    const Route& route = routes[r];
    const MethodInfo& m = *route.method;
    if (&m != previous) rule_index = 0;
    previous = &m;
    const pb::MethodDescriptor& method = *m.descriptor;
    services.emplace(method.service()->full_name(), method.service());
    const bool is_default = IsDefaultBinding(m, route.plan.binding());
    std::string id = method.full_name();
    if (!is_default) {
      id += "_http" + (rule_index ? std::to_string(rule_index) : std::string());
      ++rule_index;
    }
    const std::string key = shapes[r].Key();
    const std::vector<std::string>& names = canonical[key];
    const std::string path = shapes[r].Render(names);
    const std::string& http_method = route.plan.binding().http_method;
    const std::string slot = StandardMethod(http_method);
    auto [item, fresh] = path_items.try_emplace(path, OpenApiJson::object());
    if (fresh) path_order.push_back(path);
    OpenApiJson* target = &item->second;
    if (slot.empty()) {
      if (!target->contains("x-portico-custom-methods")) {
        (*target)["x-portico-custom-methods"] = OpenApiJson::object();
      }
      target = &(*target)["x-portico-custom-methods"];
    }
    const std::string& field = slot.empty() ? http_method : slot;
    if (target->contains(field)) {
      omitted.push_back({{"http_method", http_method},
                         {"path", route.plan.binding().path},
                         {"grpc_method", m.path},
                         {"reason", "OpenAPI cannot tell it from " + field + " " + path}});
      continue;
    }
    (*target)[field] = Operation(route, shapes[r], names, UniqueId(std::move(id)));
  }

  OpenApiJson doc = OpenApiJson::object();
  doc["openapi"] = "3.1.0";
  doc["info"] = {{"title", "Portico"},
                 {"version", std::to_string(version)},
                 {"description",
                  "Every route of the gateway's current registry snapshot: the google.api.http "
                  "rules and the default POST /{package.Service}/{Method} route of each method. "
                  "Bodies and replies are proto3 JSON."}};
  doc["servers"] = {{{"url", "/"}}};
  OpenApiJson tags = OpenApiJson::array();
  for (const auto& [name, service] : services) {
    OpenApiJson tag = {{"name", name}};
    if (std::string comment = ProtoComment(*service); !comment.empty()) tag["description"] = comment;
    tags.push_back(std::move(tag));
  }
  doc["tags"] = std::move(tags);
  OpenApiJson paths = OpenApiJson::object();
  for (const auto& path : path_order) AppendMember(&paths, path, std::move(path_items[path]));
  doc["paths"] = std::move(paths);
  doc["components"] = {{"schemas", schemas_.Components()}};
  if (!omitted.empty()) doc["x-portico-omitted"] = std::move(omitted);
  return doc;
}

}  // namespace

OpenApiJson BuildOpenApi(const Catalog& catalog, std::uint64_t version,
                         const OpenApiLimits& limits) {
  try {
    return DocumentBuilder(catalog, limits).Build(version);
  } catch (const std::exception& e) {
    // Never expected (the builder only adds to objects it created); a document that says so
    // beats an exception on the admin thread.
    return {{"openapi", "3.1.0"},
            {"info", {{"title", "Portico"}, {"version", std::to_string(version)},
                      {"description", std::string("document build failed: ") + e.what()}}},
            {"paths", OpenApiJson::object()}};
  }
}

std::string BuildOpenApiDocument(const Catalog& catalog, std::uint64_t version,
                                 const OpenApiLimits& limits) {
  return BuildOpenApi(catalog, version, limits)
      .dump(-1, ' ', false, OpenApiJson::error_handler_t::replace);
}

}  // namespace portico::registry
