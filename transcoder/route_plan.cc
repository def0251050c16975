#include "transcoder/route_plan.h"

#include <charconv>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "transcoder/base64.h"
#include "transcoder/percent_encoding.h"

namespace portico::transcoder {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

const FieldDescriptor* FindField(const Descriptor& type, std::string_view name) {
  if (const FieldDescriptor* f = type.FindFieldByName(std::string(name))) return f;
  for (int i = 0; i < type.field_count(); ++i) {
    if (type.field(i)->json_name() == name) return type.field(i);
  }
  return nullptr;
}

bool IsWellKnownScalarMessage(const Descriptor& type) {
  const std::string& n = type.full_name();
  return n == "google.protobuf.Timestamp" || n == "google.protobuf.Duration" ||
         n == "google.protobuf.FieldMask" || n == "google.protobuf.Value";
}

bool IsWrapper(const Descriptor& type) {
  return type.file()->name() == "google/protobuf/wrappers.proto";
}

bool IsInteger(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A textual path/query value as the JSON value protobuf's parser expects for `field`.
// Numbers stay strings (proto3 JSON accepts quoted numbers), so range and syntax errors are
// reported by protobuf itself with the field's name.
Status TextToJson(const FieldDescriptor& field, std::string_view text, nlohmann::json* out) {
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_BOOL:
      if (text == "true" || text == "false") {
        *out = (text == "true");
        return OkStatus();
      }
      return InvalidArgument("invalid value \"" + std::string(text) + "\" for bool field " +
                             field.name() + ": expected true or false");
    case FieldDescriptor::CPPTYPE_ENUM:
      if (IsInteger(text)) {
        long long v = 0;
        std::from_chars(text.data(), text.data() + text.size(), v);
        *out = v;
      } else {
        *out = std::string(text);
      }
      return OkStatus();
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Descriptor& type = *field.message_type();
      if (IsWellKnownScalarMessage(type)) {
        *out = std::string(text);
        return OkStatus();
      }
      if (IsWrapper(type)) return TextToJson(*type.FindFieldByName("value"), text, out);
      return InvalidArgument("field " + field.name() + " of message type " + type.full_name() +
                             " cannot be set from the URL");
    }
    default:
      *out = std::string(text);
      return OkStatus();
  }
}

// Sets obj[chain...] = value (appending for repeated leaves), creating nested objects.
// False when a prefix of chain already holds a value (`ts=...&ts.seconds=1`).
bool Assign(nlohmann::json* obj, const FieldChain& chain, nlohmann::json value) {
  nlohmann::json* node = obj;
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) {
    node = &(*node)[chain[i]->json_name()];
    if (!node->is_null() && !node->is_object()) return false;
  }
  nlohmann::json& leaf = (*node)[chain.back()->json_name()];
  if (chain.back()->is_repeated()) {
    leaf.push_back(std::move(value));
  } else {
    leaf = std::move(value);
  }
  return true;
}

// The JSON always_print_primitive_fields gives a scalar, repeated or map field that is absent.
std::string DefaultJson(const FieldDescriptor& field) {
  if (field.is_map()) return "{}";
  if (field.is_repeated()) return "[]";
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: return std::to_string(field.default_value_int32());
    case FieldDescriptor::CPPTYPE_UINT32: return std::to_string(field.default_value_uint32());
    case FieldDescriptor::CPPTYPE_INT64:
      return '"' + std::to_string(field.default_value_int64()) + '"';
    case FieldDescriptor::CPPTYPE_UINT64:
      return '"' + std::to_string(field.default_value_uint64()) + '"';
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      const double d = field.cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE
                           ? field.default_value_double()
                           : field.default_value_float();
      return d == 0 ? "0" : nlohmann::json(d).dump();
    }
    case FieldDescriptor::CPPTYPE_BOOL: return field.default_value_bool() ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM: return '"' + field.default_value_enum()->name() + '"';
    case FieldDescriptor::CPPTYPE_STRING:
      return nlohmann::json(field.type() == FieldDescriptor::TYPE_BYTES
                                ? Base64Encode(field.default_value_string())
                                : field.default_value_string())
          .dump();
    case FieldDescriptor::CPPTYPE_MESSAGE: return "{}";
  }
  return "null";
}

bool HasPrefix(const FieldChain& chain, const FieldChain& prefix) {
  if (prefix.size() > chain.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (chain[i] != prefix[i]) return false;
  }
  return true;
}

std::string ChainName(const FieldChain& chain) {
  std::string out;
  for (const auto* f : chain) {
    if (!out.empty()) out += '.';
    out += f->name();
  }
  return out;
}

}  // namespace

StatusOr<RoutePlan> RoutePlan::Create(const google::protobuf::MethodDescriptor& method,
                                      const HttpBinding& binding) {
  const std::string where =
      method.full_name() + " (" + binding.http_method + " " + binding.path + "): ";
  RoutePlan plan;
  plan.method_ = &method;
  plan.binding_ = binding;
  std::string error;
  auto parsed = HttpTemplate::Parse(binding.path, &error);
  if (!parsed) return InvalidArgument(where + "invalid path template: " + error);
  plan.template_ = std::move(*parsed);

  const Descriptor& request = *method.input_type();
  for (const auto& var : plan.template_.variables) {
    FieldChain chain;
    const Descriptor* type = &request;
    for (std::size_t i = 0; i < var.field_path.size(); ++i) {
      const FieldDescriptor* f = type ? FindField(*type, var.field_path[i]) : nullptr;
      if (f == nullptr) {
        return InvalidArgument(where + "path variable \"" + var.field_path[i] +
                               "\" is not a field of " + (type ? type->full_name() : "a scalar"));
      }
      chain.push_back(f);
      const bool last = i + 1 == var.field_path.size();
      if (!last) {
        if (f->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE || f->is_repeated()) {
          return InvalidArgument(where + "path variable field " + f->name() +
                                 " is not a singular message");
        }
        type = f->message_type();
      } else if (f->is_map() ||
                 (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
                  !IsWellKnownScalarMessage(*f->message_type()) && !IsWrapper(*f->message_type()))) {
        return InvalidArgument(where + "path variable field " + f->name() +
                               " must be a scalar, not " + f->type_name());
      }
    }
    plan.variable_fields_.push_back(std::move(chain));
  }

  if (!binding.body.empty() && binding.body != "*") {
    plan.body_field_ = FindField(request, binding.body);
    if (plan.body_field_ == nullptr) {
      return InvalidArgument(where + "body field \"" + binding.body + "\" is not a field of " +
                             request.full_name());
    }
  }
  if (!binding.response_body.empty()) {
    plan.response_field_ = FindField(*method.output_type(), binding.response_body);
    if (plan.response_field_ == nullptr) {
      return InvalidArgument(where + "response_body field \"" + binding.response_body +
                             "\" is not a field of " + method.output_type()->full_name());
    }
  }
  return plan;
}

Status RoutePlan::RequestToWire(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                                std::string_view query, std::string_view body, bool strict,
                                std::string* wire) const {
  const Descriptor& request = *method_->input_type();
  wire->clear();

  // 1. The body.
  if (!binding_.body.empty() && body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    Status s = BodyToWire(codec, body, strict, wire);
    if (!s.ok()) return s;
  }

  // 2. Path variables and query parameters, as one JSON object appended to the body's bytes:
  // concatenated protobuf messages merge, the later value winning, so the path wins.
  nlohmann::json url_fields = nlohmann::json::object();
  const std::size_t n = std::min(bindings.size(), variable_fields_.size());
  for (std::size_t i = 0; i < n; ++i) {
    nlohmann::json value;
    Status s = TextToJson(*variable_fields_[i].back(), bindings[i].value, &value);
    if (!s.ok()) return s;
    if (!Assign(&url_fields, variable_fields_[i], std::move(value))) {
      return InvalidArgument("path variable " + ChainName(variable_fields_[i]) +
                             " conflicts with another path variable");
    }
  }
  if (!query.empty() && binding_.body != "*") {
    for (auto& [key, value] : ParseQueryString(query)) {
      FieldChain chain;
      const Descriptor* type = &request;
      bool known = true;
      std::size_t start = 0;
      while (start <= key.size()) {
        std::size_t dot = key.find('.', start);
        if (dot == std::string::npos) dot = key.size();
        const FieldDescriptor* f =
            type ? FindField(*type, std::string_view(key).substr(start, dot - start)) : nullptr;
        if (f == nullptr) {
          known = false;
          break;
        }
        chain.push_back(f);
        type = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()
                   ? f->message_type()
                   : nullptr;
        start = dot + 1;
      }
      if (!known || chain.back()->is_map()) {
        if (strict) return InvalidArgument("unknown query parameter \"" + key + "\"");
        continue;
      }
      bool bound = body_field_ != nullptr && chain.front() == body_field_;
      for (const auto& var : variable_fields_) bound = bound || HasPrefix(chain, var);
      if (bound) continue;
      nlohmann::json json_value;
      Status s = TextToJson(*chain.back(), value, &json_value);
      if (!s.ok()) return InvalidArgument("query parameter " + ChainName(chain) + ": " + s.message());
      if (!Assign(&url_fields, chain, std::move(json_value))) {
        return InvalidArgument("query parameter " + ChainName(chain) +
                               " conflicts with a value given for a field containing it");
      }
    }
  }
  if (!url_fields.empty()) {
    std::string url_wire;
    std::string url_json;
    try {
      url_json = url_fields.dump();
    } catch (const nlohmann::json::type_error&) {
      return InvalidArgument("a path or query value is not valid UTF-8");
    }
    // Every key is a known field: an unknown enum name is a bad value here, not one to ignore.
    Status s = codec.JsonToWire(request, url_json, JsonParseFlags{false}, &url_wire);
    if (!s.ok()) return s;
    wire->append(url_wire);
  }
  return OkStatus();
}

Status RoutePlan::MessageToWire(const JsonCodec& codec, std::string_view json, bool strict,
                                const std::string& url_wire, std::string* wire) const {
  Status s = BodyToWire(codec, json, strict, wire);
  if (!s.ok()) return s;
  wire->append(url_wire);
  return OkStatus();
}

Status RoutePlan::BodyToWire(const JsonCodec& codec, std::string_view body, bool strict,
                             std::string* wire) const {
  const Descriptor& request = *method_->input_type();
  const JsonParseFlags flags{!strict};
  if (body_field_ == nullptr) return codec.JsonToWire(request, body, flags, wire);
  // One JSON value only: `{"s":"a"}, "name":"x"` must not set name once wrapped below.
  if (!nlohmann::json::accept(body)) {
    return InvalidArgument("malformed JSON body for field " + body_field_->name());
  }
  // Wrap the body as the value of its field, so protobuf's parser handles every field kind.
  std::string wrapped;
  wrapped.reserve(body.size() + body_field_->json_name().size() + 5);
  wrapped += "{\"";
  wrapped += body_field_->json_name();
  wrapped += "\":";
  wrapped += body;
  wrapped += '}';
  return codec.JsonToWire(request, wrapped, flags, wire);
}

Status RoutePlan::ReplyToJson(const JsonCodec& codec, const std::string& wire,
                              std::string* json) const {
  const Descriptor& reply = *method_->output_type();
  if (response_field_ == nullptr) return codec.WireToJson(reply, wire, json);

  std::unique_ptr<google::protobuf::Message> message(codec.Prototype(reply)->New());
  if (!message->ParseFromString(wire)) {
    return Status(Code::kInternal, "backend reply does not parse as " + reply.full_name());
  }
  const auto* reflection = message->GetReflection();
  if (response_field_->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
      !response_field_->is_repeated()) {
    return codec.WireToJson(*response_field_->message_type(),
                            reflection->GetMessage(*message, response_field_).SerializeAsString(),
                            json);
  }
  // A scalar or repeated field: print a message holding only that field, then unwrap
  // {"name":VALUE} -> VALUE, so protobuf alone decides the value's JSON form. (Not with
  // emit_defaults: that prints every field of the reply, not just this one.)
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(*message, &fields);
  for (const auto* f : fields) {
    if (f != response_field_) reflection->ClearField(message.get(), f);
  }
  std::string whole;
  Status s = codec.WireToJson(reply, message->SerializeAsString(), &whole);
  if (!s.ok()) return s;
  if (whole == "{}") {  // absent: its default value
    *json = DefaultJson(*response_field_);
    return OkStatus();
  }
  const std::string prefix = "{\"" + response_field_->json_name() + "\":";
  if (whole.size() < prefix.size() + 1 || whole.compare(0, prefix.size(), prefix) != 0) {
    return Status(Code::kInternal, "unexpected JSON for response_body " + response_field_->name());
  }
  json->assign(whole, prefix.size(), whole.size() - prefix.size() - 1);
  return OkStatus();
}

}  // namespace portico::transcoder
