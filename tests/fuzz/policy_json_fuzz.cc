// PUT /admin/policies/{name} and the store's policies.json: any JSON text -> PolicyFromJson.
// Never throws; a policy it accepts is valid and survives PolicyToJson -> text ->
// PolicyFromJson unchanged (what the store writes, it reads back); a redacted copy is refused
// exactly when the policy has HMAC keys.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/policy_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json input =
      nlohmann::json::parse(portico::fuzz::AsView(data, size), nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return 0;
  portico::StatusOr<portico::registry::PolicyConfig> policy =
      portico::registry::PolicyFromJson(input, "fuzz");
  if (!policy.ok()) {
    FUZZ_CHECK(policy.status().code() == portico::Code::kInvalidArgument,
               policy.status().message());
    return 0;
  }
  FUZZ_CHECK(portico::registry::ValidatePolicy(*policy).ok(), "accepted an invalid policy");
  const std::string text = portico::registry::PolicyToJson(*policy).dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  portico::StatusOr<portico::registry::PolicyConfig> back =
      portico::registry::PolicyFromJson(nlohmann::json::parse(text), "");
  FUZZ_CHECK(back.ok(), text + ": " + back.status().message());
  FUZZ_CHECK(*back == *policy, "round trip changed " + text);
  const bool redacted_ok =
      portico::registry::PolicyFromJson(portico::registry::PolicyToJson(*policy, true), "").ok();
  FUZZ_CHECK(redacted_ok == !policy->hmac.has_value(), "a redacted secret was accepted: " + text);
  return 0;
}
