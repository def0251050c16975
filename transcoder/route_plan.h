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
  Status RequestToWire(const JsonCodec& codec, const std::vector<VariableBinding>& bindings,
                       std::string_view query, std::string_view body, bool strict,
                       std::string* wire) const;

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

  const google::protobuf::MethodDescriptor* method_ = nullptr;
  HttpBinding binding_;
  HttpTemplate template_;
  std::vector<FieldChain> variable_fields_;           // template variable order
  const google::protobuf::FieldDescriptor* body_field_ = nullptr;  // body: "<field>"
  const google::protobuf::FieldDescriptor* response_field_ = nullptr;
};

}  // namespace portico::transcoder
