#include "transcoder/http_rule.h"

#include <google/protobuf/descriptor.pb.h>

#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"

namespace portico::transcoder {
namespace {

void Append(const google::api::HttpRule& rule, std::vector<HttpBinding>* out) {
  HttpBinding b;
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: b.http_method = "GET"; b.path = rule.get(); break;
    case google::api::HttpRule::kPut: b.http_method = "PUT"; b.path = rule.put(); break;
    case google::api::HttpRule::kPost: b.http_method = "POST"; b.path = rule.post(); break;
    case google::api::HttpRule::kDelete: b.http_method = "DELETE"; b.path = rule.delete_(); break;
    case google::api::HttpRule::kPatch: b.http_method = "PATCH"; b.path = rule.patch(); break;
    case google::api::HttpRule::kCustom:
      b.http_method = rule.custom().kind();
      b.path = rule.custom().path();
      break;
    case google::api::HttpRule::PATTERN_NOT_SET: return;
  }
  b.body = rule.body();
  b.response_body = rule.response_body();
  out->push_back(std::move(b));
}

}  // namespace

std::vector<HttpBinding> HttpBindingsOf(const google::protobuf::MethodDescriptor& method) {
  // A pool built at run time keeps the extension as unknown fields of MethodOptions (or parsed,
  // depending on how it was built); re-parsing through the generated class, which has
  // google.api.http linked in, reads both the same way.
  google::protobuf::MethodOptions options;
  if (!options.ParseFromString(method.options().SerializeAsString())) return {};
  if (!options.HasExtension(google::api::http)) return {};
  const google::api::HttpRule& rule = options.GetExtension(google::api::http);
  std::vector<HttpBinding> out;
  Append(rule, &out);
  for (const auto& extra : rule.additional_bindings()) Append(extra, &out);
  return out;
}

HttpBinding DefaultBinding(const google::protobuf::MethodDescriptor& method) {
  return HttpBinding{"POST", "/" + method.service()->full_name() + "/" + method.name(), "*", ""};
}

}  // namespace portico::transcoder
