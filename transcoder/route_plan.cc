#include "transcoder/route_plan.h"

#include <charconv>

#include <google/protobuf/message.h>
#include <nlohmann/json.hpp>

#include "transcoder/base64.h"
#include "transcoder/percent_encoding.h"
#include "transcoder/utf8.h"
#include "transcoder/wire_reader.h"
#include "transcoder/wire_writer.h"

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

// google.api.HttpBody as Portico carries it: content_type = 1 (string), data = 2 (bytes).
bool IsHttpBody(const Descriptor& type) {
  if (type.full_name() != "google.api.HttpBody") return false;
  const FieldDescriptor* content_type = type.FindFieldByNumber(1);
  const FieldDescriptor* data = type.FindFieldByNumber(2);
  return content_type != nullptr && content_type->type() == FieldDescriptor::TYPE_STRING &&
         !content_type->is_repeated() && data != nullptr &&
         data->type() == FieldDescriptor::TYPE_BYTES && !data->is_repeated();
}

bool IsSingularHttpBody(const FieldDescriptor* field) {
  return field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE &&
         !field->is_repeated() && IsHttpBody(*field->message_type());
}

// A message whose JSON form is not an object of its fields: a leaf of an update mask.
bool IsWellKnownType(const Descriptor& type) {
  return type.file()->package() == "google.protobuf";
}

// Header values are visible ASCII, spaces, tabs and obs-text; a control character (CR, LF,
// NUL, ...) would split or cut the header.
bool IsHeaderValue(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
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

// grpc-gateway's FieldMaskFromRequestBody over one JSON object of `type`: each key present is a
// path (proto field names), a non-empty object for a singular message field recurses with a
// dotted path. Unknown keys are skipped (strict mode rejected them already).
void CollectMaskPaths(const nlohmann::ordered_json& object, const Descriptor& type,
                      const std::string& prefix, std::vector<std::string>* paths) {
  for (const auto& [key, value] : object.items()) {
    const FieldDescriptor* f = FindField(type, key);
    if (f == nullptr) continue;
    std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_repeated() &&
        !IsWellKnownType(*f->message_type()) && value.is_object() && !value.empty()) {
      CollectMaskPaths(value, *f->message_type(), path, paths);
    } else {
      paths->push_back(std::move(path));
    }
  }
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
  plan.request_is_http_body_ =
      !binding.body.empty() &&
      (plan.body_field_ != nullptr ? IsSingularHttpBody(plan.body_field_) : IsHttpBody(request));
  plan.reply_is_http_body_ = plan.response_field_ != nullptr
                                 ? IsSingularHttpBody(plan.response_field_)
                                 : IsHttpBody(*method.output_type());
  if (binding.http_method == "PATCH" && plan.body_field_ != nullptr &&
      plan.body_field_->type() == FieldDescriptor::TYPE_MESSAGE &&
      !plan.body_field_->is_repeated() && !plan.request_is_http_body_) {
    const FieldDescriptor* mask = request.FindFieldByName("update_mask");
    if (mask != nullptr && mask != plan.body_field_ && !mask->is_repeated() &&
        mask->type() == FieldDescriptor::TYPE_MESSAGE &&
        mask->message_type()->full_name() == "google.protobuf.FieldMask") {
      plan.update_mask_field_ = mask;
    }
  }
  return plan;
}

Status RoutePlan::RequestToWire(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                                std::string_view query, std::string_view body, bool strict,
                                std::string* wire) const {
  wire->clear();
  const bool has_body =
      !binding_.body.empty() && body.find_first_not_of(" \t\r\n") != std::string_view::npos;
  if (has_body) {
    Status s = BodyToWire(codec, body, strict, wire);
    if (!s.ok()) return s;
  }
  bool url_sets_mask = false;
  Status s = AppendUrlFields(codec, bindings, query, strict, &url_sets_mask, wire);
  if (!s.ok()) return s;
  if (update_mask_field_ != nullptr && has_body && !url_sets_mask) {
    return AppendUpdateMask(body, wire);
  }
  return OkStatus();
}

Status RoutePlan::RequestToWire(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                                std::string_view query, RawBody body, bool strict,
                                std::string* wire) const {
  if (!request_is_http_body_) return RequestToWire(codec, bindings, query, body.data, strict, wire);
  if (!IsValidUtf8(body.content_type)) {
    return InvalidArgument("the Content-Type header is not valid UTF-8");
  }
  // HttpBody{content_type = 1, data = 2}, proto3: empty values are not written.
  std::size_t size = 0;
  for (std::string_view v : {body.content_type, body.data}) {
    if (!v.empty()) size += 1 + wirefmt::VarintSize(v.size()) + v.size();
  }
  wire->clear();
  wire->reserve(size + 16);
  if (body_field_ != nullptr) {
    wirefmt::AppendTag(body_field_->number(), wirefmt::kLen, wire);
    wirefmt::AppendVarint(size, wire);
  }
  if (!body.content_type.empty()) wirefmt::AppendLenField(1, body.content_type, wire);
  if (!body.data.empty()) wirefmt::AppendLenField(2, body.data, wire);
  bool url_sets_mask = false;
  return AppendUrlFields(codec, bindings, query, strict, &url_sets_mask, wire);
}

Status RoutePlan::AppendUrlFields(const JsonCodec& codec,
                                  const std::vector<VariableBinding>& bindings,
                                  std::string_view query, bool strict, bool* sets_update_mask,
                                  std::string* wire) const {
  const Descriptor& request = *method_->input_type();
  // Path variables and query parameters, as one JSON object converted once.
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
  if (update_mask_field_ != nullptr) {
    *sets_update_mask = url_fields.contains(update_mask_field_->json_name());
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

Status RoutePlan::AppendUpdateMask(std::string_view body, std::string* wire) const {
  // The body converted already, so it is one JSON value within the nesting limit.
  nlohmann::ordered_json value = nlohmann::ordered_json::parse(body, nullptr, false);
  if (!value.is_object()) return OkStatus();  // null: the body field stays unset
  std::vector<std::string> paths;
  CollectMaskPaths(value, *body_field_->message_type(), "", &paths);
  std::string mask;
  for (const auto& path : paths) wirefmt::AppendLenField(1, path, &mask);
  wirefmt::AppendLenField(update_mask_field_->number(), mask, wire);
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

namespace portico::transcoder {

Status RoutePlan::ReplyHttpBody(std::string_view wire, std::string* content_type,
                                std::string* data) const {
  content_type->clear();
  data->clear();
  if (!reply_is_http_body_) {
    return Internal("the reply of " + method_->full_name() + " is not google.api.HttpBody");
  }
  const Status malformed = Internal("backend reply does not parse as " +
                                    method_->output_type()->full_name());
  // The response_body field: its occurrences merge, as concatenated messages do.
  std::string merged;
  std::string_view body = wire;
  if (response_field_ != nullptr) {
    const auto* p = reinterpret_cast<const uint8_t*>(wire.data());
    const auto* end = p + wire.size();
    while (p < end) {
      uint32_t tag;
      if (!wirefmt::ReadTag(p, end, &tag)) return malformed;
      if ((tag >> 3) == static_cast<uint32_t>(response_field_->number()) &&
          (tag & 7) == wirefmt::kLen) {
        const uint8_t* sub_end;
        if (!wirefmt::ReadLength(p, end, &sub_end)) return malformed;
        merged.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sub_end - p));
        p = sub_end;
      } else if (!wirefmt::SkipField(tag, p, end)) {
        return malformed;
      }
    }
    body = merged;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  const auto* end = p + body.size();
  while (p < end) {
    uint32_t tag;
    if (!wirefmt::ReadTag(p, end, &tag)) return malformed;
    const uint32_t number = tag >> 3;
    if ((number == 1 || number == 2) && (tag & 7) == wirefmt::kLen) {
      const uint8_t* sub_end;
      if (!wirefmt::ReadLength(p, end, &sub_end)) return malformed;
      (number == 1 ? content_type : data)
          ->assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sub_end - p));
      p = sub_end;
    } else if (!wirefmt::SkipField(tag, p, end)) {
      return malformed;
    }
  }
  if (!IsValidUtf8(*content_type) || !IsHeaderValue(*content_type)) {
    content_type->clear();
    data->clear();
    return Internal("the backend's HttpBody content_type is not a valid header value");
  }
  return OkStatus();
}

}  // namespace portico::transcoder
