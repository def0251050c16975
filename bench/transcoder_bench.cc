// JSON <-> protobuf wire throughput over the mixed message set:
//   small_flat  a few scalars (81 B of JSON)
//   nested_1k   an Order three messages deep with a repeated message, a map, an enum (~1 KiB)
//   repeated_64k  a SampleBatch of 686 small elements (~64 KiB)
//   struct_heavy  a google.protobuf.Struct document with nested objects and lists (~16 KiB)
//   bytes_64k   one ~64 KiB base64 bytes field
//   mixed       all five above, one after the other, per iteration
// each through JsonCodec::JsonToWire and JsonCodec::WireToJson, over two pools:
//   generated   DescriptorPool::generated_pool() (the generated bench messages linked in)
//   runtime     a DescriptorPool built at run time from the same FileDescriptorProtos, as
//               Portico's registry builds its pools
// plus RoutePlan::RequestToWire (path bindings + query + body field) / ReplyToJson, and the
// baseline of protobuf's own util::JsonStringToMessage / MessageToJsonString on the generated
// classes.
//
// bytes_per_second counts JSON bytes (input for JSON->wire, output for wire->JSON, the same
// canonical text both ways); items_per_second counts messages.
//
//   build-bench/bench/transcoder_bench --benchmark_min_time=0.2
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "portico/bench/v1/messages.pb.h"
#include "transcoder/http_rule.h"
#include "transcoder/json_codec.h"
#include "transcoder/path_matcher.h"
#include "transcoder/route_plan.h"

namespace {

namespace pb = google::protobuf;
namespace bv1 = portico::bench::v1;
using portico::transcoder::JsonCodec;
using portico::transcoder::JsonParseFlags;
using portico::transcoder::RoutePlan;
using portico::transcoder::VariableBinding;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "transcoder_bench setup: %s\n", what.c_str());
  std::abort();
}

// ---------------------------------------------------------------------------------------------
// The message set, built through the generated classes.

bv1::SmallFlat MakeSmallFlat() {
  bv1::SmallFlat m;
  m.set_id(1234567890123);
  m.set_name("widget-42");
  m.set_active(true);
  m.set_score(98.625);
  m.set_count(17);
  return m;
}

bv1::Order MakeOrder() {
  bv1::Order m;
  m.set_id("ord_01HZX3QK8N6W4T2Y");
  auto* c = m.mutable_customer();
  c->set_id("cus_8842117");
  c->set_display_name("Ada Lovelace");
  c->set_email("ada.lovelace@example.com");
  auto* a = c->mutable_shipping_address();
  a->set_street("12 Analytical Engine Lane");
  a->set_city("London");
  a->set_postal_code("NW1 6XE");
  a->set_country("GB");
  const char* titles[] = {"Brass gear, 48 teeth", "Punched card deck (blank)",
                          "Difference engine manual", "Steam valve, 3/4 inch"};
  for (int i = 0; i < 4; ++i) {
    auto* it = m.add_items();
    it->set_sku("SKU-" + std::to_string(100200 + i * 37));
    it->set_title(titles[i]);
    it->set_quantity(i + 1);
    auto* p = it->mutable_unit_price();
    p->set_currency_code("GBP");
    p->set_units(12 + i * 7);
    p->set_nanos(490000000);
    it->add_tags("hardware");
    it->add_tags(i % 2 ? "fragile" : "bulk");
  }
  auto* t = m.mutable_total();
  t->set_currency_code("GBP");
  t->set_units(187);
  t->set_nanos(900000000);
  m.set_state(bv1::ORDER_STATE_PAID);
  (*m.mutable_labels())["channel"] = "web";
  (*m.mutable_labels())["campaign"] = "spring-sale-2024";
  (*m.mutable_labels())["warehouse"] = "lhr-2";
  m.mutable_create_time()->set_seconds(1717171717);
  m.mutable_create_time()->set_nanos(123000000);
  return m;
}

bv1::SampleBatch MakeSampleBatch(int n) {
  bv1::SampleBatch m;
  m.set_source("sensor-array-7");
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> value(-1000.0, 1000.0);
  for (int i = 0; i < n; ++i) {
    auto* s = m.add_samples();
    s->set_id(1000000 + i);
    s->set_name("s-" + std::to_string(i));
    s->set_value(static_cast<double>(static_cast<int>(value(rng) * 1000)) / 1000.0);
    s->set_ok(i % 3 != 0);
    for (int b = 0; b < 6; ++b) s->add_buckets(static_cast<int32_t>(rng() % 5000));
  }
  return m;
}

void SetString(pb::Struct* s, const std::string& k, const std::string& v) {
  (*s->mutable_fields())[k].set_string_value(v);
}
void SetNumber(pb::Struct* s, const std::string& k, double v) {
  (*s->mutable_fields())[k].set_number_value(v);
}

bv1::Document MakeDocument(int n_items) {
  bv1::Document m;
  m.set_id("doc-5521");
  pb::Struct* body = m.mutable_body();
  pb::Struct* meta = (*body->mutable_fields())["metadata"].mutable_struct_value();
  SetString(meta, "generator", "catalog-export");
  SetNumber(meta, "version", 3);
  (*meta->mutable_fields())["draft"].set_bool_value(false);
  (*meta->mutable_fields())["reviewer"].set_null_value(pb::NULL_VALUE);
  pb::ListValue* items = (*body->mutable_fields())["items"].mutable_list_value();
  for (int i = 0; i < n_items; ++i) {
    pb::Struct* item = items->add_values()->mutable_struct_value();
    SetString(item, "name", "item-" + std::to_string(i));
    SetNumber(item, "price", 9.5 + i);
    (*item->mutable_fields())["available"].set_bool_value(i % 2 == 0);
    pb::ListValue* tags = (*item->mutable_fields())["tags"].mutable_list_value();
    tags->add_values()->set_string_value("red");
    tags->add_values()->set_string_value("large");
    tags->add_values()->set_number_value(i);
    pb::Struct* dims = (*item->mutable_fields())["dims"].mutable_struct_value();
    SetNumber(dims, "w", 10);
    SetNumber(dims, "h", 20.5);
    pb::ListValue* hist = (*dims->mutable_fields())["history"].mutable_list_value();
    for (int h = 0; h < 3; ++h) {
      pb::Struct* e = hist->add_values()->mutable_struct_value();
      SetNumber(e, "t", 1700000000 + h);
      SetString(e, "op", h ? "resize" : "create");
    }
  }
  return m;
}

bv1::Blob MakeBlob(std::size_t n_bytes) {
  bv1::Blob m;
  m.set_name("photos/2024/holiday.jpg");
  m.set_content_type("image/jpeg");
  std::string data(n_bytes, '\0');
  std::mt19937 rng(11);
  for (char& ch : data) ch = static_cast<char>(rng() & 0xff);
  m.set_data(std::move(data));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Pools and codecs.

void AddWithDeps(const pb::FileDescriptor* file, std::set<std::string>* seen,
                 pb::DescriptorPool* pool) {
  if (!seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) AddWithDeps(file->dependency(i), seen, pool);
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  file->CopyJsonNameTo(&proto);
  if (pool->BuildFile(proto) == nullptr) Die("BuildFile " + file->name());
}

struct Pool {
  const pb::DescriptorPool* pool = nullptr;
  std::unique_ptr<pb::DescriptorPool> owned;  // runtime pool only
  std::unique_ptr<JsonCodec> codec;
};

Pool& GeneratedPool() {
  static Pool p = [] {
    Pool r;
    r.pool = pb::DescriptorPool::generated_pool();
    r.codec = std::make_unique<JsonCodec>(r.pool);
    return r;
  }();
  return p;
}

Pool& RuntimePool() {
  static Pool p = [] {
    Pool r;
    r.owned = std::make_unique<pb::DescriptorPool>();
    std::set<std::string> seen;
    AddWithDeps(bv1::SmallFlat::descriptor()->file(), &seen, r.owned.get());
    r.pool = r.owned.get();
    r.codec = std::make_unique<JsonCodec>(r.pool);
    return r;
  }();
  return p;
}

enum class PoolKind { kGenerated, kRuntime };
Pool& GetPool(PoolKind k) { return k == PoolKind::kGenerated ? GeneratedPool() : RuntimePool(); }
const char* PoolName(PoolKind k) { return k == PoolKind::kGenerated ? "generated" : "runtime"; }

// ---------------------------------------------------------------------------------------------
// Fixtures: one per message kind, canonical JSON and wire bytes.

struct Fixture {
  std::string kind;
  std::unique_ptr<pb::Message> message;  // generated class
  std::string json;                      // canonical proto3 JSON (protobuf's printer)
  std::string wire;
  mutable std::size_t portico_wire_size = 0;  // JsonToWire's output size (see the check below)
};

Fixture MakeFixture(std::string kind, std::unique_ptr<pb::Message> m) {
  Fixture f;
  f.kind = std::move(kind);
  f.message = std::move(m);
  f.wire = f.message->SerializeAsString();
  if (auto s = pb::util::MessageToJsonString(*f.message, &f.json); !s.ok()) {
    Die("MessageToJsonString " + f.kind + ": " + std::string(s.message()));
  }
  return f;
}

const std::vector<Fixture>& Fixtures() {
  static const std::vector<Fixture> fixtures = [] {
    std::vector<Fixture> v;
    v.push_back(MakeFixture("small_flat", std::make_unique<bv1::SmallFlat>(MakeSmallFlat())));
    v.push_back(MakeFixture("nested_1k", std::make_unique<bv1::Order>(MakeOrder())));
    v.push_back(
        MakeFixture("repeated_64k", std::make_unique<bv1::SampleBatch>(MakeSampleBatch(686))));
    v.push_back(
        MakeFixture("struct_heavy", std::make_unique<bv1::Document>(MakeDocument(64))));
    v.push_back(MakeFixture("bytes_64k", std::make_unique<bv1::Blob>(MakeBlob(48 * 1024))));
    // Check every fixture both ways through both pools before anything is timed.
    for (const Fixture& f : v) {
      for (PoolKind k : {PoolKind::kGenerated, PoolKind::kRuntime}) {
        Pool& p = GetPool(k);
        const pb::Descriptor* d = p.pool->FindMessageTypeByName(f.message->GetTypeName());
        if (d == nullptr) Die("no " + f.message->GetTypeName() + " in pool " + PoolName(k));
        std::string wire;
        std::string json;
        auto s = p.codec->JsonToWire(*d, f.json, JsonParseFlags{}, &wire);
        if (!s.ok()) Die("JsonToWire " + f.kind + ": " + s.message());
        s = p.codec->WireToJson(*d, f.wire, &json);
        if (!s.ok()) Die("WireToJson " + f.kind + ": " + s.message());
        // Compare messages, not bytes: map order may differ, and protobuf 3.21's JSON parser
        // writes proto3 repeated scalars unpacked (valid, but larger than SerializeAsString).
        std::unique_ptr<pb::Message> back(f.message->New());
        if (!back->ParseFromString(wire) ||
            !pb::util::MessageDifferencer::Equals(*back, *f.message)) {
          Die("JsonToWire round trip differs for " + f.kind);
        }
        if (json.size() != f.json.size()) {
          Die("WireToJson size differs for " + f.kind + ": " + std::to_string(json.size()) +
              " vs " + std::to_string(f.json.size()));
        }
        if (k == PoolKind::kRuntime) f.portico_wire_size = wire.size();
      }
    }
    return v;
  }();
  return fixtures;
}

const Fixture& GetFixture(const std::string& kind) {
  for (const Fixture& f : Fixtures()) {
    if (f.kind == kind) return f;
  }
  Die("no fixture " + kind);
}

std::vector<const Fixture*> Select(const std::string& kind) {
  std::vector<const Fixture*> out;
  for (const Fixture& f : Fixtures()) {
    if (kind == "mixed" || f.kind == kind) out.push_back(&f);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Benchmarks.

void BM_JsonToWire(benchmark::State& state, std::string kind, PoolKind pk) {
  const auto set = Select(kind);
  Pool& p = GetPool(pk);
  std::vector<const pb::Descriptor*> types;
  int64_t bytes = 0;
  for (const Fixture* f : set) {
    types.push_back(p.pool->FindMessageTypeByName(f->message->GetTypeName()));
    bytes += static_cast<int64_t>(f->json.size());
  }
  std::string wire;
  for (auto _ : state) {
    for (std::size_t i = 0; i < set.size(); ++i) {
      auto s = p.codec->JsonToWire(*types[i], set[i]->json, JsonParseFlags{}, &wire);
      benchmark::DoNotOptimize(s);
      benchmark::DoNotOptimize(wire);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * set.size()));
  state.counters["json_bytes"] = static_cast<double>(bytes);
}

void BM_WireToJson(benchmark::State& state, std::string kind, PoolKind pk) {
  const auto set = Select(kind);
  Pool& p = GetPool(pk);
  std::vector<const pb::Descriptor*> types;
  int64_t bytes = 0;
  for (const Fixture* f : set) {
    types.push_back(p.pool->FindMessageTypeByName(f->message->GetTypeName()));
    bytes += static_cast<int64_t>(f->json.size());
  }
  std::string json;
  for (auto _ : state) {
    for (std::size_t i = 0; i < set.size(); ++i) {
      auto s = p.codec->WireToJson(*types[i], set[i]->wire, &json);
      benchmark::DoNotOptimize(s);
      benchmark::DoNotOptimize(json);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * set.size()));
  state.counters["json_bytes"] = static_cast<double>(bytes);
}

// Baseline: protobuf 3.21's own path on the generated classes (JSON -> message object).
void BM_Protobuf_JsonStringToMessage(benchmark::State& state, std::string kind) {
  const auto set = Select(kind);
  std::vector<std::unique_ptr<pb::Message>> targets;
  int64_t bytes = 0;
  for (const Fixture* f : set) {
    targets.emplace_back(f->message->New());
    bytes += static_cast<int64_t>(f->json.size());
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < set.size(); ++i) {
      auto s = pb::util::JsonStringToMessage(set[i]->json, targets[i].get());
      benchmark::DoNotOptimize(s);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * set.size()));
}

// Baseline: message object -> JSON.
void BM_Protobuf_MessageToJsonString(benchmark::State& state, std::string kind) {
  const auto set = Select(kind);
  int64_t bytes = 0;
  for (const Fixture* f : set) bytes += static_cast<int64_t>(f->json.size());
  std::string json;
  for (auto _ : state) {
    for (const Fixture* f : set) {
      json.clear();
      auto s = pb::util::MessageToJsonString(*f->message, &json);
      benchmark::DoNotOptimize(s);
      benchmark::DoNotOptimize(json);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * set.size()));
}

// RoutePlan: PATCH /v1/tenants/{tenant}/orders/{order_id}
//   ?updateMask=..&validateOnly=..&requestId=..
// with the ~1 KiB Order as the body of field "order"; the reply is the Order.
struct RouteFixture {
  std::unique_ptr<RoutePlan> plan;
  std::vector<VariableBinding> bindings;
  std::string query;
  std::string body;
  std::string reply_wire;
  std::string reply_json;
};

RouteFixture MakeRouteFixture(PoolKind pk) {
  Pool& p = GetPool(pk);
  const pb::MethodDescriptor* m =
      p.pool->FindMethodByName("portico.bench.v1.BenchService.UpdateOrder");
  if (m == nullptr) Die("no UpdateOrder method");
  auto http = portico::transcoder::HttpBindingsOf(*m);
  if (http.size() != 1) Die("UpdateOrder has no http binding");
  auto plan = RoutePlan::Create(*m, http[0]);
  if (!plan.ok()) Die(plan.status().message());
  RouteFixture r;
  r.plan = std::make_unique<RoutePlan>(std::move(plan).value());
  r.bindings = {{{"tenant"}, "acme-corp"}, {{"order_id"}, "ord_01HZX3QK8N6W4T2Y"}};
  r.query = "updateMask=customer.displayName,items,labels&validateOnly=true&requestId=req-7f3a9c";
  r.body = GetFixture("nested_1k").json;
  r.reply_wire = GetFixture("nested_1k").wire;
  std::string wire;
  auto s = r.plan->RequestToWire(*p.codec, r.bindings, r.query, r.body, false, &wire);
  if (!s.ok()) Die("RequestToWire: " + s.message());
  bv1::UpdateOrderRequest check;
  if (!check.ParseFromString(wire) || check.tenant() != "acme-corp" ||
      check.order().items_size() != 4 || check.update_mask().paths_size() != 3 ||
      !check.validate_only()) {
    Die("RequestToWire produced the wrong request: " + check.ShortDebugString());
  }
  s = r.plan->ReplyToJson(*p.codec, r.reply_wire, &r.reply_json);
  if (!s.ok()) Die("ReplyToJson: " + s.message());
  return r;
}

void BM_RoutePlan_RequestToWire(benchmark::State& state, PoolKind pk) {
  const RouteFixture r = MakeRouteFixture(pk);
  const JsonCodec& codec = *GetPool(pk).codec;
  std::string wire;
  for (auto _ : state) {
    auto s = r.plan->RequestToWire(codec, r.bindings, r.query, r.body, false, &wire);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(wire);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * r.body.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["json_bytes"] = static_cast<double>(r.body.size());
}

void BM_RoutePlan_ReplyToJson(benchmark::State& state, PoolKind pk) {
  const RouteFixture r = MakeRouteFixture(pk);
  const JsonCodec& codec = *GetPool(pk).codec;
  std::string json;
  for (auto _ : state) {
    auto s = r.plan->ReplyToJson(codec, r.reply_wire, &json);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(json);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * r.reply_json.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["json_bytes"] = static_cast<double>(r.reply_json.size());
}

void RegisterAll() {
  const std::vector<std::string> kinds = {"small_flat",   "nested_1k", "repeated_64k",
                                          "struct_heavy", "bytes_64k", "mixed"};
  for (const std::string& kind : kinds) {
    for (PoolKind pk : {PoolKind::kGenerated, PoolKind::kRuntime}) {
      benchmark::RegisterBenchmark(
          ("JsonToWire/" + kind + "/" + PoolName(pk)).c_str(),
          [kind, pk](benchmark::State& s) { BM_JsonToWire(s, kind, pk); });
    }
    benchmark::RegisterBenchmark(("Protobuf_JsonStringToMessage/" + kind).c_str(),
                                 [kind](benchmark::State& s) {
                                   BM_Protobuf_JsonStringToMessage(s, kind);
                                 });
  }
  for (const std::string& kind : kinds) {
    for (PoolKind pk : {PoolKind::kGenerated, PoolKind::kRuntime}) {
      benchmark::RegisterBenchmark(
          ("WireToJson/" + kind + "/" + PoolName(pk)).c_str(),
          [kind, pk](benchmark::State& s) { BM_WireToJson(s, kind, pk); });
    }
    benchmark::RegisterBenchmark(("Protobuf_MessageToJsonString/" + kind).c_str(),
                                 [kind](benchmark::State& s) {
                                   BM_Protobuf_MessageToJsonString(s, kind);
                                 });
  }
  for (PoolKind pk : {PoolKind::kGenerated, PoolKind::kRuntime}) {
    benchmark::RegisterBenchmark(
        (std::string("RoutePlan_RequestToWire/path2+query3+body_1k/") + PoolName(pk)).c_str(),
        [pk](benchmark::State& s) { BM_RoutePlan_RequestToWire(s, pk); });
    benchmark::RegisterBenchmark(
        (std::string("RoutePlan_ReplyToJson/nested_1k/") + PoolName(pk)).c_str(),
        [pk](benchmark::State& s) { BM_RoutePlan_ReplyToJson(s, pk); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterAll();
  // Print the fixture sizes (and check them) before the table.
  for (const Fixture& f : Fixtures()) {
    std::fprintf(stderr, "fixture %-13s json %7zu B  wire %7zu B (JsonToWire writes %zu B)\n",
                 f.kind.c_str(), f.json.size(), f.wire.size(), f.portico_wire_size);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
