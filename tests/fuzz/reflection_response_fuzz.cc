// The server reflection client's answer handling (upstream/reflection_conversation.h): a
// backend's ServerReflectionResponses folded one by one. Input: one byte choosing the limits
// (small ones, so they are hit), then the answers, each a 2-byte big-endian length and that
// many bytes. Whatever comes, nothing may crash, and a result must be consistent: services
// sorted without the server's plumbing, every file after its imports, within the limits.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"
#include "upstream/reflection_conversation.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  portico::upstream::ReflectionLimits limits;
  if (data[0] & 1) limits = {.max_services = 3, .max_files = 4, .max_bytes = 2048};
  portico::upstream::ReflectionConversation conversation(limits);
  std::string_view rest = portico::fuzz::AsView(data + 1, size - 1);
  while (conversation.NextRequest().has_value() && rest.size() >= 2) {
    const std::size_t n = (static_cast<std::size_t>(static_cast<unsigned char>(rest[0])) << 8) |
                          static_cast<unsigned char>(rest[1]);
    const std::string_view answer = rest.substr(2, n);
    rest.remove_prefix(2 + answer.size());
    if (!conversation.Fold(answer).ok()) {
      FUZZ_CHECK(!conversation.NextRequest().has_value(), "asks on after an error");
      FUZZ_CHECK(!conversation.Result().ok(), "a result after an error");
      return 0;
    }
  }
  auto result = conversation.Result();
  if (!conversation.complete()) {
    FUZZ_CHECK(!result.ok(), "a result before the conversation completed");
    return 0;
  }
  if (!result.ok()) return 0;
  FUZZ_CHECK(result->services.size() <= limits.max_services, "too many services");
  FUZZ_CHECK(static_cast<std::size_t>(result->files.file_size()) <= limits.max_files,
             "too many files");
  for (std::size_t i = 0; i < result->services.size(); ++i) {
    const std::string& s = result->services[i];
    FUZZ_CHECK(!s.starts_with("grpc.reflection.") && !s.starts_with("grpc.health."),
               "plumbing listed: " + s);
    FUZZ_CHECK(i == 0 || result->services[i - 1] < s, "services not sorted and unique");
  }
  std::set<std::string> seen;
  for (const auto& file : result->files.file()) {
    for (const auto& dep : file.dependency()) {
      FUZZ_CHECK(seen.count(dep), file.name() + " before its import " + dep);
    }
    FUZZ_CHECK(seen.insert(file.name()).second, "file listed twice: " + file.name());
  }
  return 0;
}
