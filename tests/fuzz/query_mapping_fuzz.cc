// Path variables, query string and body -> request message (transcoder/route_plan.h
// RequestToWire), over every HTTP binding of the test service. Input: one selector byte
// (bits 0-6 pick the binding, bit 7 strict), then lines: one value per path variable of the
// binding's template, then the raw query string; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "portico/test/v1/test.pb.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "transcoder/http_rule.h"
#include "transcoder/json_codec.h"
#include "transcoder/route_plan.h"

namespace {

namespace pb = google::protobuf;
using portico::Code;
using portico::transcoder::RoutePlan;

const std::vector<RoutePlan>& Plans() {
  static const std::vector<RoutePlan>* plans = [] {
    auto* out = new std::vector<RoutePlan>;
    const pb::ServiceDescriptor* service =
        portico::test::v1::AllTypes::descriptor()->file()->FindServiceByName("TestService");
    for (int i = 0; i < service->method_count(); ++i) {
      const pb::MethodDescriptor& method = *service->method(i);
      auto bindings = portico::transcoder::HttpBindingsOf(method);
      bindings.push_back(portico::transcoder::DefaultBinding(method));
      for (const auto& binding : bindings) {
        auto plan = RoutePlan::Create(method, binding);
        FUZZ_CHECK(plan.ok(), plan.status().message());
        out->push_back(std::move(*plan));
      }
    }
    return out;
  }();
  return *plans;
}

const portico::transcoder::JsonCodec& Codec() {
  static const auto* codec =
      new portico::transcoder::JsonCodec(pb::DescriptorPool::generated_pool());
  return *codec;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const RoutePlan& plan = Plans()[(data[0] & 0x7fu) % Plans().size()];
  const bool strict = (data[0] & 0x80u) != 0;
  std::string_view rest = portico::fuzz::AsView(data + 1, size - 1);
  auto next_line = [&rest]() {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    return line;
  };
  std::vector<portico::transcoder::VariableBinding> bindings;
  for (const auto& variable : plan.path_template().variables) {
    bindings.push_back({variable.field_path, std::string(next_line())});
  }
  const std::string_view query = next_line();

  std::string wire;
  const portico::Status s = plan.RequestToWire(Codec(), bindings, query, rest, strict, &wire);
  FUZZ_CHECK(s.ok() || s.code() == Code::kInvalidArgument, s.message());
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty(), "a rejection needs a message");
    return 0;
  }
  std::unique_ptr<pb::Message> message(Codec().Prototype(*plan.method().input_type())->New());
  FUZZ_CHECK(message->ParseFromString(wire), "request wire does not parse");
  return 0;
}
