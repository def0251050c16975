// PUT /admin/backends/{name} and the store's backends.json: any JSON text -> BackendFromJson.
// Never throws; a backend it accepts is valid and survives BackendToJson -> text ->
// BackendFromJson unchanged (what the store writes, it reads back).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/backend_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json input =
      nlohmann::json::parse(portico::fuzz::AsView(data, size), nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return 0;
  portico::StatusOr<portico::registry::BackendConfig> backend =
      portico::registry::BackendFromJson(input, "fuzz");
  if (!backend.ok()) {
    FUZZ_CHECK(backend.status().code() == portico::Code::kInvalidArgument,
               backend.status().message());
    return 0;
  }
  FUZZ_CHECK(portico::registry::ValidateBackend(*backend).ok(), "accepted an invalid backend");
  const std::string text = portico::registry::BackendToJson(*backend).dump();
  portico::StatusOr<portico::registry::BackendConfig> back =
      portico::registry::BackendFromJson(nlohmann::json::parse(text), "");
  FUZZ_CHECK(back.ok(), text + ": " + back.status().message());
  FUZZ_CHECK(*back == *backend, "round trip changed " + text);
  return 0;
}
