#include "http/aggregate_admin.h"

#include <utility>

namespace portico::http {

using nlohmann::json;

json AggregateJson(const registry::AggregateConfig& aggregate,
                   const registry::Snapshot& snapshot) {
  json out = registry::AggregateToJson(aggregate);
  out["source"] = snapshot.stored_aggregates->count(aggregate.name) ? "store" : "config";
  return out;
}

StatusOr<json> PutAggregate(registry::Registry& registry, const std::string& name,
                            std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("body is not valid JSON");
  StatusOr<registry::AggregateConfig> config = registry::AggregateFromJson(parsed, name);
  if (!config.ok()) return config.status();
  if (Status s = registry.PutAggregate(*config); !s.ok()) return s;
  // Shown from what was put: a concurrent change may have replaced it since.
  return AggregateJson(*config, *registry.Current());
}

json ListAggregates(const registry::Snapshot& snapshot) {
  json list = json::array();
  for (const registry::AggregateConfig& aggregate : *snapshot.aggregate_configs) {
    list.push_back(AggregateJson(aggregate, snapshot));
  }
  return {{"aggregates", std::move(list)}};
}

StatusOr<json> GetAggregate(const registry::Snapshot& snapshot, const std::string& name) {
  for (const registry::AggregateConfig& aggregate : *snapshot.aggregate_configs) {
    if (aggregate.name == name) return AggregateJson(aggregate, snapshot);
  }
  return NotFound("no aggregate " + registry::QuoteValue(name));
}

}  // namespace portico::http
