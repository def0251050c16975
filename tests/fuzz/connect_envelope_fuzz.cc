// A Connect streaming request body (http/connect_codec.h EnvelopeReader): any bytes, split at
// any point, give the same envelopes or the same error, never more payload than the limit, and
// a rejection is kResourceExhausted or kInvalidArgument with a message. The end-stream JSON
// and error JSON built from the input always parse.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/connect_codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace connect = portico::http::connect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = portico::fuzz::AsView(data, size);
  constexpr std::size_t kMax = 64;
  connect::EnvelopeReader whole(kMax);
  std::vector<connect::Envelope> a;
  const portico::Status sa = whole.Feed(input, &a);
  // The same bytes in two pieces, split where the first byte says.
  const std::size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  connect::EnvelopeReader split(kMax);
  std::vector<connect::Envelope> b;
  portico::Status sb = split.Feed(input.substr(0, cut), &b);
  if (sb.ok()) sb = split.Feed(input.substr(cut), &b);
  FUZZ_CHECK(sa.code() == sb.code(), "a split changed the outcome");
  FUZZ_CHECK(a.size() == b.size(), "a split changed the envelopes");
  for (std::size_t i = 0; i < a.size(); ++i) {
    FUZZ_CHECK(a[i].payload == b[i].payload && a[i].flags == b[i].flags, "envelope differs");
    FUZZ_CHECK(a[i].payload.size() <= kMax, "payload over the limit");
    FUZZ_CHECK((a[i].flags & ~connect::kFlagCompressed) == 0, "a request flag slipped through");
  }
  if (!sa.ok()) {
    FUZZ_CHECK(sa.code() == portico::Code::kResourceExhausted ||
                   sa.code() == portico::Code::kInvalidArgument,
               sa.message());
    FUZZ_CHECK(!sa.message().empty(), "a rejection needs a message");
  }
  // The error JSON and end-stream message of whatever text the input holds.
  const auto code = static_cast<portico::Code>(size % 17);
  const std::string text(input);
  FUZZ_CHECK(nlohmann::json::accept(connect::ErrorJson(code, text, text)), "error JSON");
  FUZZ_CHECK(nlohmann::json::accept(connect::EndStreamJson(
                 code, text, text, nullptr, {{text, text}, {"k-bin", text}})),
             "end-stream JSON");
  return 0;
}
