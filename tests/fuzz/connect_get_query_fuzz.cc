// The query of a Connect unary GET and the request headers Connect adds
// (http/connect_codec.h ParseGetQuery, ParseTimeoutMs, ParseMediaType): any text gives a
// result or an error with a message, never an exception. The input's first line is the query,
// the second a Connect-Timeout-Ms value, the third a Content-Type.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/connect_codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace connect = portico::http::connect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = portico::fuzz::SplitLines(portico::fuzz::AsView(data, size));
  const std::string_view query = parts.size() > 0 ? std::string_view(parts[0]) : "";
  auto get = connect::ParseGetQuery(query);
  if (!get.ok()) {
    FUZZ_CHECK(!get.status().message().empty(), "a rejection needs a message");
    FUZZ_CHECK(get.status().code() == portico::Code::kInvalidArgument ||
                   get.status().code() == portico::Code::kUnimplemented,
               get.status().message());
  } else {
    FUZZ_CHECK(get->message.size() <= query.size(), "decoding never grows");
  }
  if (parts.size() > 1) {
    auto timeout = connect::ParseTimeoutMs(parts[1]);
    FUZZ_CHECK(timeout.ok() || !timeout.status().message().empty(), "timeout error message");
    if (timeout.ok() && *timeout) FUZZ_CHECK((*timeout)->count() >= 0, "negative timeout");
  }
  if (parts.size() > 2) {
    auto media = connect::ParseMediaType(parts[2]);
    if (media && media->codec) {
      (void)connect::ReplyMediaType(*media->codec, media->streaming);
    }
  }
  return 0;
}
