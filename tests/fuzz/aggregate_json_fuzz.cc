// PUT /admin/aggregates/{name} and the store's aggregates.json: any JSON text ->
// AggregateFromJson. Never throws; an aggregate it accepts is valid and survives
// AggregateToJson -> text -> AggregateFromJson unchanged (what the store writes, it reads back).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/aggregate_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const nlohmann::json input =
      nlohmann::json::parse(portico::fuzz::AsView(data, size), nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return 0;
  portico::StatusOr<portico::registry::AggregateConfig> aggregate =
      portico::registry::AggregateFromJson(input, "fuzz");
  if (!aggregate.ok()) {
    FUZZ_CHECK(aggregate.status().code() == portico::Code::kInvalidArgument,
               aggregate.status().message());
    return 0;
  }
  FUZZ_CHECK(portico::registry::ValidateAggregate(*aggregate).ok(),
             "accepted an invalid aggregate");
  const std::string text = portico::registry::AggregateToJson(*aggregate).dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  portico::StatusOr<portico::registry::AggregateConfig> back =
      portico::registry::AggregateFromJson(nlohmann::json::parse(text), "");
  FUZZ_CHECK(back.ok(), text + ": " + back.status().message());
  FUZZ_CHECK(*back == *aggregate, "round trip changed " + text);
  return 0;
}
