// Proto3 JSON -> wire (transcoder/json_to_wire.h), differential against protobuf 3.21's
// util::JsonStringToMessage. Input: one selector byte (bits 0-1 the message type, see
// schemas.h; bit 2 ignore_unknown_fields), then the JSON text.
// Where both accept, the messages must be equal (protobuf's leniencies are the fast path's
// contract). Accept/reject disagreements are not failures: the fast path rejects on purpose
// where protobuf is lenient beyond DESIGN (nesting limits, nested arrays in repeated scalars);
// PORTICO_FUZZ_LOG=1 prints them. Where the fast path declines (Unimplemented), the full
// JsonCodec path (protobuf's fallback) runs instead, as a request would.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "tests/fuzz/schemas.h"
#include "transcoder/json_to_wire.h"

namespace {

namespace pb = google::protobuf;
namespace pbutil = google::protobuf::util;
using portico::Code;
using portico::transcoder::JsonToWire;

// protobuf's own conversion (util::JsonStringToMessage, with a memoizing resolver).
bool ProtobufParse(const pb::Descriptor& type, const std::string& json, bool ignore_unknown,
                   pb::Message* out) {
  pbutil::JsonParseOptions options;
  options.ignore_unknown_fields = ignore_unknown;
  std::string wire;
  return pbutil::JsonToBinaryString(&portico::fuzz::ResolverFor(*type.file()->pool()),
                                    portico::transcoder::TypeUrl(type), json, &wire, options)
             .ok() &&
         out->ParseFromString(wire);
}

bool Same(const pb::Message& a, const pb::Message& b, std::string* report) {
  pbutil::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  pbutil::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  differencer.ReportDifferencesToString(report);
  return differencer.Compare(a, b);
}

bool LogDivergence() {
  static const bool log = std::getenv("PORTICO_FUZZ_LOG") != nullptr;
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto& target = portico::fuzz::PickType(data[0] & 3u);
  const bool ignore_unknown = (data[0] & 4u) != 0;
  const std::string json(portico::fuzz::AsView(data + 1, size - 1));

  std::string wire;
  const portico::Status fast = portico::fuzz::ConverterFor<JsonToWire>(target).Convert(json, ignore_unknown, &wire);
  if (fast.code() == Code::kUnimplemented) {
    // What a request runs: the fast path again, then protobuf's util. Must not crash or throw.
    const portico::Status full = target.codec->JsonToWire(
        *target.type, json, portico::transcoder::JsonParseFlags{ignore_unknown}, &wire);
    FUZZ_CHECK(full.ok() || full.code() == Code::kInvalidArgument, full.message());
    return 0;
  }
  FUZZ_CHECK(fast.ok() || fast.code() == Code::kInvalidArgument, fast.message());
  FUZZ_CHECK(fast.ok() || !fast.message().empty(), "a rejection needs a message");

  std::unique_ptr<pb::Message> expected(target.prototype->New());
  const bool pb_ok = ProtobufParse(*target.type, json, ignore_unknown, expected.get());
  if (fast.ok()) {
    std::unique_ptr<pb::Message> actual(target.prototype->New());
    FUZZ_CHECK(actual->ParseFromString(wire), "the fast path wrote wire that does not parse");
  }
  if (pb_ok != fast.ok()) {
    if (LogDivergence()) {
      std::fprintf(
          stderr, "accept/reject differs (%s, ignore_unknown=%d): protobuf %s, fast %s: %s\n",
          target.type->full_name().c_str(), ignore_unknown ? 1 : 0, pb_ok ? "accepts" : "rejects",
          fast.ok() ? "accepts" : fast.message().c_str(), json.substr(0, 200).c_str());
    }
    return 0;
  }
  if (!fast.ok()) return 0;
  std::unique_ptr<pb::Message> actual(target.prototype->New());
  actual->ParseFromString(wire);
  std::string report;
  FUZZ_CHECK(Same(*actual, *expected, &report),
             "different message for " + json + "\n  protobuf: " + expected->ShortDebugString() +
                 "\n  fast path: " + actual->ShortDebugString() + "\n" + report);
  return 0;
}
