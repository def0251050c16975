// Everything needed to transcode one HTTP binding of one method, resolved once when a registry
// snapshot is built: request/reply types, the fields path variables bind, the body and
// response_body fields. RoutePlan is immutable and thread-safe; it points into the snapshot's
// DescriptorPool and must not outlive it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "transcoder/http_rule.h"
#include "transcoder/http_template.h"
#include "transcoder/json_codec.h"
#include "transcoder/path_matcher.h"
#include "transcoder/status.h"

namespace portico::transcoder {

using FieldChain = std::vector<const google::protobuf::FieldDescriptor*>;

// A request body taken as is, with its Content-Type header (google.api.HttpBody requests).
struct RawBody {
  std::string_view content_type;
  std::string_view data;
};

class RoutePlan {
 public:
  // InvalidArgument naming the method when the template does not parse, a variable or body
  // field does not exist, or a variable names a message/map field.
  static StatusOr<RoutePlan> Create(const google::protobuf::MethodDescriptor& method,
                                    const HttpBinding& binding);

  const google::protobuf::MethodDescriptor& method() const { return *method_; }
  const HttpBinding& binding() const { return binding_; }
  const HttpTemplate& path_template() const { return template_; }

  // HTTP request -> request message wire bytes. `bindings` come from PathMatcher for this
  // route (template order); `query` is the raw query string (no '?'). Path variables win over
  // the body, and query parameters only set fields not bound by the path or the body.
  // strict: unknown JSON fields and unknown query parameters are errors.
  // InvalidArgument (-> 400) explains any malformed JSON or bad value.
  // A PATCH rule whose body is a message field, on a request with a singular
  // `google.protobuf.FieldMask update_mask` that neither the path nor the query sets, gets
  // update_mask = the fields present in the JSON body (as grpc-gateway: proto field names,
  // nested messages as dotted paths, a map, repeated or well-known-type field as one path).
  Status RequestToWire(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                       std::string_view query, std::string_view body, bool strict,
                       std::string* wire) const;

  // google.api.HttpBody (DESIGN section 5). True when the rule binds a body and what it binds
  // (the whole request for body "*", else the body field) is google.api.HttpBody: the HTTP body
  // is then not JSON but the HttpBody's `data`, and its Content-Type the `content_type`.
  bool request_is_http_body() const { return request_is_http_body_; }
  // As above, with the body's Content-Type. When request_is_http_body(), the body becomes
  // HttpBody{content_type, data} and path and query fill the other fields as usual
  // (InvalidArgument when the Content-Type is not valid UTF-8); otherwise `body.data` is JSON
  // and this is exactly the overload above, so callers may always use this one.
  Status RequestToWire(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                       std::string_view query, RawBody body, bool strict,
                       std::string* wire) const;

  // True when the reply (or its response_body field) is google.api.HttpBody: it is sent raw,
  // with its content_type as Content-Type; a server stream of them as one chunked body.
  bool reply_is_http_body() const { return reply_is_http_body_; }
  // Reply wire bytes -> the HttpBody's content_type and data (both empty when absent).
  // Internal when the bytes do not parse, the content_type is not a valid header value
  // (a control character other than tab, or invalid UTF-8), or !reply_is_http_body().
  Status ReplyHttpBody(std::string_view wire, std::string* content_type, std::string* data) const;

  // Reply message wire bytes -> JSON body (the whole reply, or its response_body field).
  Status ReplyToJson(const JsonCodec& codec, const std::string& wire, std::string* json) const;

  // One request message of a stream (NDJSON line, array element, WebSocket frame) merged over
  // the fields the URL binds (`url_wire`, from RequestToWire with an empty body). Like a REST
  // body: the whole message, or the value of the rule's body field.
  Status MessageToWire(const JsonCodec& codec, std::string_view json, bool strict,
                       const std::string& url_wire, std::string* wire) const;

 private:
  RoutePlan() = default;
  Status BodyToWire(const JsonCodec& codec, std::string_view body, bool strict,
                    std::string* wire) const;
  // Path variables and query parameters, appended to *wire (concatenated messages merge, the
  // later value winning, so the URL wins over the body). *sets_update_mask: the URL set it.
  Status AppendUrlFields(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                         std::string_view query, bool strict, bool* sets_update_mask,
                         std::string* wire) const;
  Status AppendUpdateMask(std::string_view body, std::string* wire) const;

  const google::protobuf::MethodDescriptor* method_ = nullptr;
  HttpBinding binding_;
  HttpTemplate template_;
  std::vector<FieldChain> variable_fields_;           // template variable order
  const google::protobuf::FieldDescriptor* body_field_ = nullptr;  // body: "<field>"
  const google::protobuf::FieldDescriptor* response_field_ = nullptr;
  const google::protobuf::FieldDescriptor* update_mask_field_ = nullptr;  // PATCH, see above
  bool request_is_http_body_ = false;
  bool reply_is_http_body_ = false;
};

}  // namespace portico::transcoder
