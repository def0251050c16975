// PUT /admin/aggregates/{name} and the store's aggregates.json: any JSON text ->
// AggregateFromJson. Never throws; an aggregate it accepts is valid and survives
// AggregateToJson -> text -> AggregateFromJson unchanged (what the store writes, it reads back).
// Then its plan against the test service's catalog (refs, types, cycles, routes): built or
// refused with INVALID_ARGUMENT, never a crash.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "portico/test/v1/test.pb.h"
#include "registry/aggregate_config.h"
#include "registry/aggregate_plan.h"
#include "registry/carried_files.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// The test service's catalog, built once: its file after its own (not carried) dependencies.
const portico::registry::Catalog& TestCatalog() {
  static const std::shared_ptr<const portico::registry::Catalog> catalog = [] {
    portico::registry::FileList files;
    std::set<std::string> seen;
    std::function<void(const google::protobuf::FileDescriptor*)> add =
        [&](const google::protobuf::FileDescriptor* file) {
          if (!seen.insert(file->name()).second || portico::registry::IsCarriedFile(file->name())) {
            return;
          }
          for (int i = 0; i < file->dependency_count(); ++i) add(file->dependency(i));
          file->CopyTo(&files.emplace_back());
        };
    add(portico::test::v1::AllTypes::descriptor()->file());
    auto built = portico::registry::Catalog::Build(files);
    FUZZ_CHECK(built.ok(), built.status().message());
    return *built;
  }();
  return *catalog;
}

}  // namespace

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
  auto table = portico::registry::BuildAggregateTable(TestCatalog(), {*aggregate});
  if (!table.ok()) {
    FUZZ_CHECK(table.status().code() == portico::Code::kInvalidArgument, table.status().message());
  }
  return 0;
}
