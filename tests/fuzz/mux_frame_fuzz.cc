// One client frame of the multiplexed WebSocket protocol (ws/mux_frame.h ParseMuxFrame): any
// bytes either become a frame the header allows or an InvalidArgument with a message, and no
// exception escapes. The message a frame carries is re-parseable JSON.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/fuzz/fuzz_check.h"
#include "ws/mux_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::optional<std::int64_t> error_id;
  auto frame = portico::ws::ParseMuxFrame(portico::fuzz::AsView(data, size), &error_id);
  if (!frame.ok()) {
    FUZZ_CHECK(frame.status().code() == portico::Code::kInvalidArgument, frame.status().message());
    FUZZ_CHECK(!frame.status().message().empty(), "a rejection needs a message");
    return 0;
  }
  FUZZ_CHECK(!error_id.has_value(), "error_id set for a valid frame");
  const portico::ws::MuxFrame& f = *frame;
  FUZZ_CHECK(f.metadata.empty() || f.method.has_value(), "metadata without a method");
  if (f.message) {
    FUZZ_CHECK(nlohmann::json::accept(*f.message), "message is not JSON: " + *f.message);
  }
  return 0;
}
