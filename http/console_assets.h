// The web console's static files (DESIGN section 14): the files of http/console/, embedded in
// the binary at build time (cmake/embed_files.cmake), so the gateway serves them from anywhere.
// With env PORTICO_CONSOLE_DIR set, they are read from that directory on every request instead
// (development: edit, reload, no rebuild), with the static-file mounts' traversal checks
// (http/static_files.h: "..", encoded or not, backslashes, NUL bytes and symlinks out refused).
//
// Thread safety: immutable after construction. Ownership: the embedded files are static data.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "transcoder/status.h"

namespace portico::http {

struct EmbeddedFile {
  std::string_view path;  // relative to http/console/: "index.html", "js/app.js"
  std::string_view data;
};

// Every file of http/console/ (generated at build time).
std::span<const EmbeddedFile> EmbeddedConsoleFiles();

struct ConsoleFile {
  std::string body;
  std::string_view content_type;
};

class ConsoleAssets {
 public:
  // dir empty: the embedded files; else the files under dir, read on each lookup.
  explicit ConsoleAssets(std::string dir = {});
  // From env PORTICO_CONSOLE_DIR (unset or empty: embedded).
  static ConsoleAssets FromEnvironment();

  // The file at `rel`, the URL path under /console/ as sent (percent-encoded, no query);
  // "" or a path ending in "/" is that directory's index.html. NOT_FOUND for no such file,
  // PERMISSION_DENIED for a path that would leave the directory.
  StatusOr<ConsoleFile> Find(std::string_view rel) const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace portico::http
