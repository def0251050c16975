// GET /admin/openapi.json's build cost (registry/openapi_document.h), paid once per registry
// snapshot on the admin thread at the first GET after a change, never per data-plane request:
//   BM_OpenApiTestProtos: the test protos (tests/protos, 20 routes, every field kind).
//   BM_OpenApiSynthetic/S: S services x 10 methods, each with a GET rule (two path variables,
//     nested query parameters) and the default POST route, 3 messages per service.
//   BM_CatalogBuild/keep: Catalog::Build (an upload's snapshot build) of the 200-service proto
//     with its SourceCodeInfo (what Portico stores now, for the comments) vs /0 without it.
// Counters: routes, document bytes, descriptor bytes. The time is per build.
//
//   build-bench/bench/openapi_bench --benchmark_min_time=0.5
#include <cstdio>
#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "registry/carried_files.h"
#include "registry/catalog.h"
#include "registry/openapi_document.h"

namespace {

using namespace portico::registry;
using portico::StatusOr;

std::shared_ptr<const Catalog> Must(StatusOr<FileList> files) {
  if (!files.ok()) {
    std::fprintf(stderr, "%s\n", files.status().message().c_str());
    std::abort();
  }
  auto catalog = Catalog::Build(*files);
  if (!catalog.ok()) {
    std::fprintf(stderr, "%s\n", catalog.status().message().c_str());
    std::abort();
  }
  return *catalog;
}

std::string SyntheticProto(int services) {
  std::string s = "syntax = \"proto3\";\npackage synth.v1;\nimport \"google/api/annotations.proto\";\n"
                  "import \"google/protobuf/timestamp.proto\";\n";
  for (int i = 0; i < services; ++i) {
    const std::string n = std::to_string(i);
    s += "// Filter " + n + ".\nmessage Filter" + n +
         " { string query = 1; int32 limit = 2; repeated string tags = 3; "
         "google.protobuf.Timestamp since = 4; }\n";
    s += "// Request " + n + ".\nmessage Req" + n + " { string parent = 1; string name = 2; Filter" + n +
         " filter = 3; int64 version = 4; bool dry_run = 5; map<string, string> labels = 6; }\n";
    s += "// Reply " + n + ".\nmessage Rep" + n + " { string name = 1; repeated Filter" + n +
         " items = 2; google.protobuf.Timestamp updated = 3; oneof r { string a = 4; int32 b = 5; } }\n";
    s += "// Service " + n + ".\nservice Svc" + n + " {\n";
    for (int m = 0; m < 10; ++m) {
      const std::string mm = std::to_string(m);
      s += "  // Method " + mm + ".\n  rpc M" + mm + "(Req" + n + ") returns (Rep" + n +
           ") { option (google.api.http) = { get: \"/v1/s" + n + "/m" + mm +
           "/{parent}/items/{name}\" }; }\n";
    }
    s += "}\n";
  }
  return s;
}

void Run(benchmark::State& state, const Catalog& catalog) {
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string doc = BuildOpenApiDocument(catalog, 1);
    bytes = doc.size();
    benchmark::DoNotOptimize(doc.data());
  }
  state.counters["routes"] = static_cast<double>(catalog.routes().size());
  state.counters["doc_bytes"] = static_cast<double>(bytes);
}

void BM_OpenApiTestProtos(benchmark::State& state) {
  static auto catalog = Must(CompileProtoFile(PORTICO_SOURCE_DIR "/tests/protos/portico/test/v1/test.proto",
                                              {PORTICO_SOURCE_DIR "/tests/protos"}, CarriedFiles()));
  Run(state, *catalog);
}
BENCHMARK(BM_OpenApiTestProtos)->Unit(benchmark::kMicrosecond);

void BM_OpenApiSynthetic(benchmark::State& state) {
  auto catalog = Must(CompileSources({{"synth.proto", SyntheticProto(static_cast<int>(state.range(0)))}},
                                     CarriedFiles()));
  Run(state, *catalog);
}
BENCHMARK(BM_OpenApiSynthetic)->Arg(20)->Arg(50)->Arg(100)->Arg(200)->Unit(benchmark::kMillisecond);

void BM_CatalogBuild(benchmark::State& state) {
  auto files = CompileSources({{"synth.proto", SyntheticProto(200)}}, CarriedFiles());
  if (!files.ok()) std::abort();
  std::size_t bytes = 0;
  for (auto& f : *files) {
    if (state.range(0) == 0) f.clear_source_code_info();
    bytes += f.ByteSizeLong();
  }
  for (auto _ : state) {
    auto catalog = Catalog::Build(*files);
    benchmark::DoNotOptimize(catalog.ok());
  }
  state.counters["descriptor_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_CatalogBuild)->ArgName("keep_source_info")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
