// GET /admin/openapi.json over admin-uploaded descriptors (registry/openapi_document.h): the
// upload path of descriptor_upload_fuzz (same input format: one mode byte, then a binary
// FileDescriptorSet when even, up to four .proto texts separated by "\n@@\n" when odd), and
// for every catalog that builds, the OpenAPI document. It must never throw, recurse without
// bound or abort, and must be a JSON object with "openapi": "3.1.0" and every route described
// (or listed as omitted).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "registry/carried_files.h"
#include "registry/catalog.h"
#include "registry/descriptor_compiler.h"
#include "registry/openapi_document.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

using portico::registry::FileList;

void Document(FileList files) {
  std::map<std::string, google::protobuf::FileDescriptorProto> by_name;
  for (auto& f : files) {
    if (portico::registry::IsCarriedFile(f.name())) continue;
    const std::string name = f.name();
    by_name[name] = std::move(f);
  }
  FileList list;
  for (auto& [name, f] : by_name) list.push_back(std::move(f));
  auto catalog = portico::registry::Catalog::Build(list);
  if (!catalog.ok()) return;
  // Small limits, so the fuzzer reaches them.
  portico::registry::OpenApiLimits limits;
  limits.query_depth = 3;
  limits.query_params_per_operation = 20;
  limits.query_params_total = 200;
  const std::string text = portico::registry::BuildOpenApiDocument(**catalog, 1, limits);
  auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(doc.is_object() && doc.value("openapi", "") == "3.1.0", "not a document: " + text);
  std::size_t operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      operations += method == "x-portico-custom-methods" ? op.size() : 1;
    }
  }
  const std::size_t omitted = doc.contains("x-portico-omitted") ? doc["x-portico-omitted"].size() : 0;
  FUZZ_CHECK(operations + omitted == (*catalog)->routes().size(), "a route is missing: " + text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest = portico::fuzz::AsView(data + 1, size - 1);
  if ((data[0] & 1u) == 0) {
    auto files = portico::registry::ParseDescriptorSet(std::string(rest));
    if (files.ok()) Document(std::move(*files));
    return 0;
  }
  std::map<std::string, std::string> sources;
  for (int i = 0; i < 4 && !rest.empty(); ++i) {
    const std::size_t sep = rest.find("\n@@\n");
    sources["fuzz/f" + std::to_string(i) + ".proto"] = std::string(rest.substr(0, sep));
    rest.remove_prefix(sep == std::string_view::npos ? rest.size() : sep + 4);
  }
  if (sources.empty()) return 0;
  auto compiled = portico::registry::CompileSources(sources, portico::registry::CarriedFiles());
  if (compiled.ok()) Document(std::move(*compiled));
  return 0;
}
