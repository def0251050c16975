// Maps (HTTP method, path) to a route registered from an HttpTemplate, extracting variables.
// Priority at every segment: a literal beats `*`, which beats `**`; a route with a custom verb
// only matches a path whose last segment ends in ":<verb>".
// Path rules (google.api.http as Envoy's grpc-httpjson-transcoding applies them):
// - "/" has no segments; otherwise the path after the leading '/' is split on '/'. A path not
//   starting with '/' matches nothing.
// - `*` matches exactly one non-empty segment; `**` matches zero or more remaining segments,
//   empty ones included ("/v1/**" matches "/v1", "/v1/" and "/v1/a//b"). So "/v1/echo/" and
//   "/v1//echo" do NOT match "/v1/echo": empty segments only ever match `**`.
// - A literal matches the raw segment, or else the segment's percent-decoded form ("/v1/%65cho"
//   matches "/v1/echo"). A literal never matches across an encoded '/'.
// - Verbs: if the last segment holds a ':', the text after the LAST ':' is tried as the verb
//   against routes with that verb; failing that the whole path, ':' included, is tried against
//   routes without a verb (so "/v1/items/a:b" binds "a:b" to "/v1/items/{id}"). An encoded
//   "%3A" never separates a verb.
// - Variable values: a single-segment variable is fully percent-decoded; a multi-segment one is
//   the raw segments joined by '/', decoded except %2F (kept as is).
// Build mutable, then freeze: PathMatcher::Builder is NOT thread-safe; the PathMatcher it
// builds is immutable and safe to use from any number of threads without locking.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transcoder/http_template.h"

namespace portico::transcoder {

struct VariableBinding {
  std::vector<std::string> field_path;
  std::string value;  // percent-decoded per DESIGN section 5
};

struct PathMatch {
  std::size_t route = 0;  // the value given to Builder::Add
  std::vector<VariableBinding> bindings;
};

class PathMatcher {
 public:
  enum class Result { kMatched, kMethodNotAllowed, kNotFound };

  class Builder {
   public:
    Builder();
    ~Builder();
    Builder(Builder&&) noexcept;
    Builder& operator=(Builder&&) noexcept;
    // http_method is upper case ("GET", "POST", custom kinds as given). Returns false, with
    // *error set, when the same method + template shape (same segments and verb, whatever the
    // variable names) is already registered. Also false for an empty http_method, and for a
    // hand-built template Parse would not produce (`**` not last, bad variable ranges).
    bool Add(std::string_view http_method, const HttpTemplate& path_template, std::size_t route,
             std::string* error);
    PathMatcher Build() &&;

   private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
  };

  PathMatcher();
  ~PathMatcher();
  PathMatcher(PathMatcher&&) noexcept;
  PathMatcher& operator=(PathMatcher&&) noexcept;

  // path is the request target's path only (no query string), e.g. "/v1/items/a%2Fb:undelete".
  // kMatched fills *match (reusing its strings' capacity; match may be null to only test).
  // kMethodNotAllowed: the path matches a route of another method. An empty http_method matches
  // routes of any method (WebSocket upgrades); among several, the most specific path wins, then the
  // method registered first.
  Result Lookup(std::string_view http_method, std::string_view path, PathMatch* match) const;

  // Methods registered for routes matching path (for the Allow header of a 405): exactly the
  // methods m for which Lookup(m, path) is kMatched. Sorted, without duplicates.
  std::vector<std::string> AllowedMethods(std::string_view path) const;

 private:
  struct Impl;
  std::unique_ptr<const Impl> impl_;
};

}  // namespace portico::transcoder
