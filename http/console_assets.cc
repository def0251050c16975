#include "http/console_assets.h"

#include <cstdlib>

#include "http/static_files.h"
#include "transcoder/percent_encoding.h"

namespace portico::http {

ConsoleAssets::ConsoleAssets(std::string dir) : dir_(std::move(dir)) {}

ConsoleAssets ConsoleAssets::FromEnvironment() {
  const char* dir = std::getenv("PORTICO_CONSOLE_DIR");
  return ConsoleAssets(dir != nullptr ? dir : "");
}

StatusOr<ConsoleFile> ConsoleAssets::Find(std::string_view rel) const {
  if (!dir_.empty()) {
    StatusOr<FileContent> file = ReadFileUnder(dir_, rel);
    if (!file.ok()) return file.status();
    return ConsoleFile{std::move(file->body), file->content_type};
  }
  std::string path = transcoder::PercentDecode(rel, transcoder::DecodeMode::kAll);
  if (!SafeRelativePath(path)) return Status(Code::kPermissionDenied, "forbidden path");
  if (path.empty() || path.back() == '/') path += "index.html";
  for (const EmbeddedFile& file : EmbeddedConsoleFiles()) {
    if (file.path == path) return ConsoleFile{std::string(file.data), ContentTypeOf(path)};
  }
  return NotFound("no console file " + std::string(rel));
}

}  // namespace portico::http
