// IdentifyRequest and ParseTraceparent (http/request_identity.h) on arbitrary header values.
// Input lines: X-Request-Id, traceparent, then tracestate (its remaining lines joined back with
// '\n'). Whatever the bytes: the request id is acceptable (kept only when it was), the
// traceparent sent on parses back with the same trace id and our span, the trace is kept only
// from a valid traceparent, and tracestate is bounded and passed only with a kept trace.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request_identity.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico::http;
  const std::string_view input = portico::fuzz::AsView(data, size);
  const std::size_t first = input.find('\n');
  const std::string_view request_id = input.substr(0, first);
  std::string_view rest =
      first == std::string_view::npos ? std::string_view() : input.substr(first + 1);
  const std::size_t second = rest.find('\n');
  const std::string_view traceparent = rest.substr(0, second);
  const std::string_view tracestate =
      second == std::string_view::npos ? std::string_view() : rest.substr(second + 1);

  const auto parsed = ParseTraceparent(traceparent);
  const RequestIdentity identity = IdentifyRequest(request_id, traceparent, tracestate);

  FUZZ_CHECK(ValidRequestId(identity.request_id), "an unacceptable id was returned");
  FUZZ_CHECK(identity.request_id_generated == !ValidRequestId(request_id),
             "a valid id was replaced, or an invalid one kept");
  if (!identity.request_id_generated) {
    FUZZ_CHECK(identity.request_id == request_id, "a kept id changed");
  }

  FUZZ_CHECK(identity.trace_generated == !parsed.has_value(), "trace kept or made wrongly");
  const std::string sent = identity.Traceparent();
  FUZZ_CHECK(sent.size() == 55, "traceparent sent is not 55 characters: " + sent);
  const auto reparsed = ParseTraceparent(sent);
  FUZZ_CHECK(reparsed.has_value(), "the traceparent sent does not parse: " + sent);
  FUZZ_CHECK(reparsed->trace_id == identity.trace.trace_id, "trace id changed on the way");
  FUZZ_CHECK(reparsed->parent_id == identity.span_id, "the backend's parent is not our span");
  if (parsed) {
    FUZZ_CHECK(identity.trace.trace_id == parsed->trace_id, "an incoming trace id was lost");
    FUZZ_CHECK(reparsed->sampled() == parsed->sampled(), "the sampled flag was not honoured");
    // A valid version-00 value prints back the same apart from the span and other flags.
    if (traceparent.substr(0, 2) == "00") {
      FUZZ_CHECK(sent.substr(0, 36) == traceparent.substr(0, 36), "trace id text changed");
    }
  } else {
    FUZZ_CHECK(identity.tracestate.empty(), "tracestate passed on with a new trace");
    FUZZ_CHECK(reparsed->sampled(), "a new trace is not sampled");
  }
  FUZZ_CHECK(identity.tracestate.size() <= kMaxTracestateBytes, "tracestate not bounded");
  for (char c : identity.tracestate) {
    FUZZ_CHECK(c >= 0x20 && c <= 0x7e, "tracestate passed with a byte gRPC would refuse");
  }
  if (!identity.tracestate.empty()) {
    FUZZ_CHECK(identity.tracestate == tracestate, "tracestate changed on the way");
  }
  return 0;
}
