// Protobuf wire -> proto3 JSON (transcoder/wire_to_json.h), differential against protobuf 3.21's
// util::BinaryToJsonString, whose output the fast path promises byte for byte. Input: one
// selector byte (bits 0-1 the message type, see schemas.h; bit 2 also renders through
// JsonCodec with emit_defaults), then the wire bytes. Where the fast path declines
// (Unimplemented), the full JsonCodec path runs instead, as a reply would.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "tests/fuzz/schemas.h"
#include "transcoder/wire_to_json.h"

namespace {

namespace pb = google::protobuf;
namespace pbutil = google::protobuf::util;
using portico::Code;
using portico::transcoder::WireToJson;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& target = portico::fuzz::PickType(data[0] & 3u);
  const std::string wire(portico::fuzz::AsView(data + 1, size - 1));

  if ((data[0] & 4u) != 0) {
    std::string json;
    const portico::Status s = target.codec->WireToJson(*target.type, wire, &json, true);
    FUZZ_CHECK(s.ok() || s.code() == Code::kInternal, s.message());
    FUZZ_CHECK(!s.ok() || nlohmann::json::accept(json), "emit_defaults rendering: " + json);
  }

  std::string json;
  const portico::Status fast = portico::fuzz::ConverterFor<WireToJson>(target).Convert(wire, &json);
  if (fast.code() == Code::kUnimplemented) {
    const portico::Status full = target.codec->WireToJson(*target.type, wire, &json);
    FUZZ_CHECK(full.ok() || full.code() == Code::kInternal, full.message());
    FUZZ_CHECK(!full.ok() || nlohmann::json::accept(json), "fallback rendering: " + json);
    return 0;
  }
  FUZZ_CHECK(fast.ok() || fast.code() == Code::kInternal, fast.message());
  if (!fast.ok()) {
    FUZZ_CHECK(!fast.message().empty(), "an error needs a message");
    return 0;
  }
  FUZZ_CHECK(nlohmann::json::accept(json), "not JSON: " + json);
  std::string expected;
  const auto s =
      pbutil::BinaryToJsonString(&portico::fuzz::ResolverFor(*target.type->file()->pool()),
                                 portico::transcoder::TypeUrl(*target.type), wire, &expected);
  FUZZ_CHECK(s.ok(), "protobuf cannot render what the fast path rendered: " +
                         std::string(s.message()) + "\n  fast path: " + json);
  FUZZ_CHECK(json == expected, "\n  protobuf:  " + expected + "\n  fast path: " + json);
  return 0;
}
