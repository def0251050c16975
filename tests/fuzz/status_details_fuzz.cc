// grpc-status-details-bin -> the JSON error body (transcoder/status_mapping.h StatusJson), with
// the details decoded through a codec over the generated pool (google/rpc/error_details.proto
// linked in) and without one. Input: one byte for the code (0..16, the range ParseGrpcStatus
// yields), the message up to the first '\n', then the serialized google.rpc.Status. The body must
// always be valid JSON holding the code.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "transcoder/json_codec.h"
#include "transcoder/status_mapping.h"

namespace {

const portico::transcoder::JsonCodec& Codec() {
  static const auto* codec =
      new portico::transcoder::JsonCodec(google::protobuf::DescriptorPool::generated_pool());
  return *codec;
}

void CheckBody(const std::string& body) {
  const nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!parsed.is_discarded(), "error body is not JSON: " + body);
  FUZZ_CHECK(parsed.is_object() && parsed.contains("code") && parsed["code"].is_number_integer(),
             "error body without a code: " + body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto code = static_cast<portico::Code>(data[0] % 17);
  std::string_view rest = portico::fuzz::AsView(data + 1, size - 1);
  const std::size_t nl = rest.find('\n');
  const std::string_view message = rest.substr(0, nl);
  const std::string details(nl == std::string_view::npos ? std::string_view()
                                                         : rest.substr(nl + 1));

  CheckBody(portico::transcoder::StatusJson(code, message, details, &Codec()));
  CheckBody(portico::transcoder::StatusJson(code, message, details, nullptr));
  (void)portico::transcoder::HttpStatusFromCode(code);
  (void)portico::transcoder::CodeName(code);
  return 0;
}
