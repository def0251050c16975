#include "http/static_files.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "http/rest_handler.h"
#include "http/status_reply.h"
#include "transcoder/percent_encoding.h"

namespace portico::http {
namespace {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;

constexpr std::uintmax_t kMaxFileBytes = 16 * 1024 * 1024;

}  // namespace

std::string_view ContentTypeOf(std::string_view name) {
  const std::string ext = fs::path(name).extension().string();
  if (ext == ".html" || ext == ".htm") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool SafeRelativePath(std::string_view rel) {
  if (rel.find('\0') != std::string_view::npos || rel.find('\\') != std::string_view::npos) {
    return false;
  }
  std::size_t start = 0;
  while (start <= rel.size()) {
    auto end = rel.find('/', start);
    if (end == std::string_view::npos) end = rel.size();
    if (rel.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

StatusOr<FileContent> ReadFileUnder(const std::string& dir, std::string_view encoded_rel) {
  const std::string rel = transcoder::PercentDecode(encoded_rel, transcoder::DecodeMode::kAll);
  if (!SafeRelativePath(rel)) return Status(Code::kPermissionDenied, "forbidden path");
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(dir, ec);
  fs::path file = fs::weakly_canonical(root / rel, ec);
  if (!ec && fs::is_directory(file, ec)) file /= "index.html";
  file = fs::weakly_canonical(file, ec);
  const auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (ec || root_end != root.end()) return Status(Code::kPermissionDenied, "forbidden path");
  if (!fs::is_regular_file(file, ec) || fs::file_size(file, ec) > kMaxFileBytes) {
    return NotFound("no file " + std::string(encoded_rel));
  }
  std::ifstream in(file, std::ios::binary);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return FileContent{std::move(body), ContentTypeOf(file.filename().string())};
}

StaticFiles::StaticFiles(std::vector<StaticMountConfig> mounts) : mounts_(std::move(mounts)) {}

std::optional<Response> StaticFiles::Serve(const Request& request) const {
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view raw_path = target.substr(0, target.find('?'));
  for (const auto& mount : mounts_) {
    // "/chat" (without the slash) is the mount too.
    const std::string_view bare(mount.prefix.data(), mount.prefix.size() - 1);
    if (raw_path != bare && raw_path.substr(0, mount.prefix.size()) != mount.prefix) continue;
    if (request.method() != bhttp::verb::get && request.method() != bhttp::verb::head) {
      Response r = ErrorReply(Status(Code::kUnimplemented, "static files take GET or HEAD"));
      r.result(bhttp::status::method_not_allowed);
      r.set(bhttp::field::allow, "GET, HEAD");
      return r;
    }
    if (raw_path == bare) {
      Response r = MakeResponse(301, "", "text/plain");
      r.set(bhttp::field::location, mount.prefix);
      return r;
    }
    StatusOr<FileContent> file = ReadFileUnder(mount.dir, raw_path.substr(mount.prefix.size()));
    if (!file.ok()) {
      return ErrorReply(file.status().code() == Code::kNotFound
                            ? NotFound("no file " + std::string(raw_path))
                            : file.status());
    }
    Response r = MakeResponse(200, std::move(file->body), file->content_type);
    r.set(bhttp::field::cache_control, "no-cache");
    r.set("X-Content-Type-Options", "nosniff");
    if (request.method() == bhttp::verb::head) {
      r.content_length(r.body().size());
      r.body().clear();
    }
    return r;
  }
  return std::nullopt;
}

}  // namespace portico::http
