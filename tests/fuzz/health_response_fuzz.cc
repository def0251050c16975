// grpc.health.v1.HealthCheckResponse as the health checker decodes it
// (upstream/health_checker.h DecodeHealthCheckResponse): any bytes a backend sends. Checks that
// the decoder reads field by field (a valid field before the input changes nothing about
// whether it parses; one after it wins), and that a request never trips it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "upstream/health_checker.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using portico::upstream::DecodeHealthCheckResponse;
  const std::string_view input = portico::fuzz::AsView(data, size);

  int status = -12345;
  const bool ok = DecodeHealthCheckResponse(input, &status);
  FUZZ_CHECK(ok || status == -12345, "a failed decode wrote the status");

  int prefixed = 0;
  FUZZ_CHECK(
      DecodeHealthCheckResponse(std::string("\x08\x01", 2) + std::string(input), &prefixed) == ok,
      "a leading SERVING field changed whether the input parses");
  if (ok) {
    int last = 0;
    FUZZ_CHECK(DecodeHealthCheckResponse(std::string(input) + "\x08\x02", &last) && last == 2,
               "the last status field does not win");
  }

  // HealthCheckRequest{service}: field 1 as a string, an unknown field to the response.
  const std::string request = portico::upstream::EncodeHealthCheckRequest(std::string(input));
  int from_request = -1;
  FUZZ_CHECK(DecodeHealthCheckResponse(request, &from_request) && from_request == 0,
             "a HealthCheckRequest does not read as a response with UNKNOWN status");
  return 0;
}
