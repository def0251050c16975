// What etcd sends the prefix watch -> registry/etcd_prefix_map.h: a RangeResponse, then
// WatchResponses applied to the map. Input: the serialized RangeResponse up to the first
// "\n--\n", then WatchResponses separated the same way. A message that does not parse is
// skipped (the watch drops the stream on it); nothing may crash, and the map must hold exactly
// the keys the Range and the applied events leave.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "registry/etcd_prefix_map.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest = portico::fuzz::AsView(data, size);
  constexpr std::string_view kSeparator = "\n--\n";
  portico::registry::EtcdPrefixMap map;
  bool first = true;
  while (true) {
    const std::size_t end = rest.find(kSeparator);
    const std::string part(rest.substr(0, end));
    if (first) {
      etcdserverpb::RangeResponse range;
      if (range.ParseFromString(part)) {
        map.Load(range);
        FUZZ_CHECK(map.revision() == range.header().revision(), "revision after Load");
      }
      first = false;
    } else {
      etcdserverpb::WatchResponse response;
      if (response.ParseFromString(part)) {
        const std::int64_t before = map.revision();
        const auto outcome = map.Apply(response);
        FUZZ_CHECK(map.revision() >= before, "the revision went back");
        if (outcome != portico::registry::EtcdPrefixMap::Outcome::kChanged) {
          FUZZ_CHECK(map.revision() == before, "revision moved without a change");
        }
      }
    }
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + kSeparator.size());
  }
  return 0;
}
