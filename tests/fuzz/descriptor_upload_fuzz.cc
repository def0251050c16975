// Descriptor uploads as the admin API takes them (registry/descriptor_compiler.h, then
// registry/catalog.h as Registry::RegisterFiles builds a snapshot). Input: one mode byte, then
//   even: a binary FileDescriptorSet (application/x-protobuf);
//   odd:  .proto text (text/plain or JSON "files"); "\n@@\n" separates up to four files,
//         named fuzz/f0.proto, fuzz/f1.proto, ... (they may import each other).
// Uploads either fail with InvalidArgument or build a catalog whose types convert.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "registry/carried_files.h"
#include "registry/catalog.h"
#include "registry/descriptor_compiler.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

using portico::Code;
using portico::registry::FileList;

void CheckRejection(const portico::Status& s) {
  FUZZ_CHECK(s.code() == Code::kInvalidArgument, s.message());
  FUZZ_CHECK(!s.message().empty(), "a rejection needs a message");
}

// As Registry::RegisterFiles: carried files are skipped, a later file of the same name wins.
void Register(FileList files) {
  std::map<std::string, google::protobuf::FileDescriptorProto> by_name;
  for (auto& f : files) {
    if (portico::registry::IsCarriedFile(f.name())) continue;
    const std::string name = f.name();
    by_name[name] = std::move(f);
  }
  FileList list;
  for (auto& [name, f] : by_name) list.push_back(std::move(f));
  auto catalog = portico::registry::Catalog::Build(list);
  if (!catalog.ok()) return CheckRejection(catalog.status());
  const auto& c = **catalog;
  // The first requests to the new routes: an empty body and an empty reply.
  std::size_t tried = 0;
  for (const auto& route : c.routes()) {
    if (++tried > 16) break;
    const auto& method = route.plan.method();
    std::string wire;
    const portico::Status in = c.codec().JsonToWire(*method.input_type(), "{}", {}, &wire);
    FUZZ_CHECK(in.ok(), method.full_name() + ": {}: " + in.message());
    std::string json;
    const portico::Status out = c.codec().WireToJson(*method.output_type(), std::string(), &json);
    FUZZ_CHECK(out.ok(), method.full_name() + ": empty reply: " + out.message());
    (void)c.matcher().Lookup(route.plan.binding().http_method, route.plan.binding().path, nullptr);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest = portico::fuzz::AsView(data + 1, size - 1);
  if ((data[0] & 1u) == 0) {
    auto files = portico::registry::ParseDescriptorSet(std::string(rest));
    if (!files.ok()) return CheckRejection(files.status()), 0;
    Register(std::move(*files));
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
  if (!compiled.ok()) return CheckRejection(compiled.status()), 0;
  Register(std::move(*compiled));
  return 0;
}
