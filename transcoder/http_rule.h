// Reads the google.api.http bindings of a method, whatever pool it lives in. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

namespace portico::transcoder {

struct HttpBinding {
  std::string http_method;  // "GET", "POST", ..., or a custom kind as written
  std::string path;         // the template text
  std::string body;         // "", "*" or a field name
  std::string response_body;
};

// The method's rule followed by its additional_bindings, flattened, in declaration order.
// Empty when the method has no annotation. Rules without a pattern are skipped.
std::vector<HttpBinding> HttpBindingsOf(const google::protobuf::MethodDescriptor& method);

// The binding every method has: POST /{package.Service}/{Method}, body "*".
HttpBinding DefaultBinding(const google::protobuf::MethodDescriptor& method);

}  // namespace portico::transcoder
