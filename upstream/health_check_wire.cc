// grpc.health.v1's two messages, by hand (health.proto is not compiled into Portico):
// HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1}.
#include <cstdint>
#include <string>
#include <string_view>

#include "transcoder/wire_reader.h"
#include "transcoder/wire_writer.h"
#include "upstream/health_checker.h"

namespace portico::upstream {

namespace wirefmt = transcoder::wirefmt;

std::string EncodeHealthCheckRequest(const std::string& service) {
  std::string out;
  if (!service.empty()) wirefmt::AppendLenField(1, service, &out);  // proto3: default omitted
  return out;
}

bool DecodeHealthCheckResponse(std::string_view bytes, int* status) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  int value = 0;  // absent = UNKNOWN
  while (p < end) {
    std::uint32_t tag;
    if (!wirefmt::ReadTag(p, end, &tag)) return false;
    if (tag == (1u << 3 | wirefmt::kVarint)) {
      std::uint64_t v;
      if (!wirefmt::ReadVarint(p, end, &v)) return false;
      // An enum is an int32 on the wire: the low 32 bits, as protobuf keeps them. Last wins.
      value = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    } else if (!wirefmt::SkipField(tag, p, end)) {  // unknown fields, and field 1 mistyped,
      return false;                                 // are skipped as protobuf does
    }
  }
  *status = value;
  return true;
}

}  // namespace portico::upstream
