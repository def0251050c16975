#include "transcoder/path_matcher.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcoder/percent_encoding.h"

namespace portico::transcoder {
namespace {

using Kind = HttpTemplate::Segment::Kind;

constexpr std::size_t kNoSegment = std::string_view::npos;
constexpr std::int32_t kNoNode = -1;

struct Entry {
  std::string method;
  std::string verb;
  std::size_t route = 0;
  std::vector<HttpTemplate::Variable> variables;
};

// The Builder's mutable trie: one level per template segment. `**` is always last, so a
// double_wildcard node only holds entries.
struct BuildNode {
  std::map<std::string, std::unique_ptr<BuildNode>, std::less<>> literals;
  std::unique_ptr<BuildNode> wildcard;
  std::unique_ptr<BuildNode> double_wildcard;
  std::vector<Entry> entries;  // routes ending here, in registration order
};

// The frozen trie: flat arrays indexed by int32, literal children in a per-node open-addressing
// table. Against std::unordered_map this saves the bucket modulo and the pointer chase per
// level; the table is never modified, so probe lengths are fixed by the routes, not by requests.
struct FrozenNode {
  std::uint32_t slots_begin = 0;
  std::uint32_t slot_mask = 0;  // table size - 1; 0 when the node has no literal children
  std::int32_t wildcard = kNoNode;
  std::int32_t double_wildcard = kNoNode;
  std::uint32_t entries_begin = 0;
  std::uint32_t entries_end = 0;
};

struct Slot {
  std::uint64_t hash = 0;
  std::uint32_t key_offset = 0;  // into Impl::keys
  std::uint32_t key_size = 0;
  std::int32_t child = kNoNode;  // kNoNode: empty slot
};

// FNV-1a: inline and quick on the short strings path segments are. Not flood-resistant, and
// need not be: requests cannot add keys, so the worst probe length is fixed at Build().
std::uint64_t HashSegment(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// The request path as seen by one matching pass: `body` is the path without a split-off
// ":verb", its segments start at `first` and are separated by '/'. Offsets, not copies.
struct Target {
  std::string_view body;
  std::size_t first = kNoSegment;  // kNoSegment: the path is "/" (no segments)
  std::string_view verb;
  std::string_view method;  // empty: any method
};

// The segment at pos; *next becomes the offset of the following one, or kNoSegment.
std::string_view SegmentAt(const Target& t, std::size_t pos, std::size_t* next) {
  const std::size_t slash = t.body.find('/', pos);
  if (slash == std::string_view::npos) {
    *next = kNoSegment;
    return t.body.substr(pos);
  }
  *next = slash + 1;
  return t.body.substr(pos, slash - pos);
}

// The verb pass: when the last segment holds a ':', the text after its last ':' is the verb.
bool VerbTarget(std::string_view path, Target* t) {
  const std::size_t last_segment = path.rfind('/') + 1;  // path starts with '/'
  const std::size_t colon = path.substr(last_segment).rfind(':');
  if (colon == std::string_view::npos || last_segment + colon + 1 == path.size()) return false;
  t->body = path.substr(0, last_segment + colon);
  t->first = 1;
  t->verb = path.substr(last_segment + colon + 1);
  return true;
}

// The plain pass: the whole path, ':' included, against routes without a verb.
void PlainTarget(std::string_view path, Target* t) {
  t->body = path;
  t->first = path.size() == 1 ? kNoSegment : 1;
  t->verb = {};
}

std::string ShapeOf(const HttpTemplate& tmpl) {
  std::string out;
  for (const HttpTemplate::Segment& s : tmpl.segments) {
    out += '/';
    out += s.kind == Kind::kLiteral ? s.literal : s.kind == Kind::kWildcard ? "*" : "**";
  }
  if (out.empty()) out = "/";
  if (!tmpl.verb.empty()) out += ":" + tmpl.verb;
  return out;
}

// Add accepts hand-built templates too, so re-check what Parse guarantees and matching needs.
bool Validate(const HttpTemplate& tmpl, std::string* error) {
  const int count = static_cast<int>(tmpl.segments.size());
  for (int i = 0; i < count; ++i) {
    const HttpTemplate::Segment& s = tmpl.segments[static_cast<std::size_t>(i)];
    if (s.kind == Kind::kLiteral && s.literal.empty()) {
      *error = "empty literal segment";
      return false;
    }
    if (s.kind == Kind::kDoubleWildcard && i != count - 1) {
      *error = "'**' must be the last segment";
      return false;
    }
  }
  const bool ends_in_double_wildcard =
      count > 0 && tmpl.segments.back().kind == Kind::kDoubleWildcard;
  for (const HttpTemplate::Variable& v : tmpl.variables) {
    const bool valid_end = v.end_segment == -1
                               ? ends_in_double_wildcard
                               : v.end_segment > v.start_segment && v.end_segment <= count;
    if (v.field_path.empty() || v.start_segment < 0 || v.start_segment >= count || !valid_end) {
      *error = "variable with an invalid segment range";
      return false;
    }
  }
  return true;
}

void SetError(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
}

// Fills bindings in template order. Reuses the strings already in *match: a caller looping over
// requests with one PathMatch allocates nothing once capacities have grown.
void Bind(const Entry& entry, const Target& t, PathMatch* match) {
  match->route = entry.route;
  match->bindings.resize(entry.variables.size());
  std::size_t pos = t.first;
  std::size_t next = kNoSegment;
  int index = 0;  // segment index of pos
  for (std::size_t i = 0; i < entry.variables.size(); ++i) {
    const HttpTemplate::Variable& var = entry.variables[i];
    VariableBinding& binding = match->bindings[i];
    binding.field_path = var.field_path;
    for (; index < var.start_segment && pos != kNoSegment; ++index) SegmentAt(t, pos, &pos);
    if (pos == kNoSegment) {  // a lone `**` that matched zero segments
      binding.value.clear();
      continue;
    }
    const std::size_t begin = pos;
    std::size_t stop = t.body.size();  // `**`: through the last segment
    if (var.end_segment >= 0) {
      for (; index < var.end_segment - 1 && pos != kNoSegment; ++index) SegmentAt(t, pos, &pos);
      if (pos != kNoSegment) {
        const std::string_view last = SegmentAt(t, pos, &next);
        stop = pos + last.size();
        pos = next;
        ++index;
      }
    }
    const std::string_view raw = t.body.substr(begin, stop - begin);
    binding.value.resize(raw.size());
    binding.value.resize(
        PercentDecodeInto(raw, var.multi_segment ? DecodeMode::kKeepEscapedSlash : DecodeMode::kAll,
                          binding.value.data()));
  }
}

}  // namespace

struct PathMatcher::Impl {
  std::vector<FrozenNode> nodes;  // nodes[0] is the root
  std::vector<Slot> slots;
  std::vector<Entry> entries;
  std::string keys;        // the literal texts, back to back
  bool has_verbs = false;  // lets paths with ':' skip the verb pass when no route has a verb

  std::int32_t Freeze(BuildNode& built) {
    const auto index = static_cast<std::int32_t>(nodes.size());
    nodes.emplace_back();
    FrozenNode node;
    node.entries_begin = static_cast<std::uint32_t>(entries.size());
    for (Entry& e : built.entries) entries.push_back(std::move(e));
    node.entries_end = static_cast<std::uint32_t>(entries.size());
    std::vector<std::pair<const std::string*, std::int32_t>> children;
    for (auto& [text, child] : built.literals) children.emplace_back(&text, Freeze(*child));
    if (built.wildcard) node.wildcard = Freeze(*built.wildcard);
    if (built.double_wildcard) node.double_wildcard = Freeze(*built.double_wildcard);
    if (!children.empty()) {
      std::size_t size = 2;  // at most half full, so every probe sequence reaches an empty slot
      while (size < 2 * children.size()) size *= 2;
      node.slots_begin = static_cast<std::uint32_t>(slots.size());
      node.slot_mask = static_cast<std::uint32_t>(size - 1);
      slots.resize(slots.size() + size);
      for (const auto& [text, child] : children) {
        const std::uint64_t hash = HashSegment(*text);
        std::size_t i = static_cast<std::size_t>(hash & node.slot_mask);
        while (slots[node.slots_begin + i].child != kNoNode) i = (i + 1) & node.slot_mask;
        slots[node.slots_begin + i] = Slot{hash, static_cast<std::uint32_t>(keys.size()),
                                           static_cast<std::uint32_t>(text->size()), child};
        keys += *text;
      }
    }
    nodes[static_cast<std::size_t>(index)] = node;
    return index;
  }

  std::int32_t FindLiteral(const FrozenNode& node, std::string_view segment) const {
    const std::uint64_t hash = HashSegment(segment);
    for (std::size_t i = static_cast<std::size_t>(hash & node.slot_mask);;
         i = (i + 1) & node.slot_mask) {
      const Slot& slot = slots[node.slots_begin + i];
      if (slot.child == kNoNode) return kNoNode;
      if (slot.hash == hash && slot.key_size == segment.size() &&
          std::memcmp(keys.data() + slot.key_offset, segment.data(), segment.size()) == 0) {
        return slot.child;
      }
    }
  }

  // Calls fn(child) for the literal child equal to the raw segment, then for the one equal to
  // its percent-decoded form (clients may escape characters a template spells plainly). Stops
  // and returns true as soon as fn does.
  template <typename Fn>
  bool ForEachLiteralChild(const FrozenNode& node, std::string_view segment, Fn&& fn) const {
    if (node.slot_mask == 0) return false;
    const std::int32_t raw = FindLiteral(node, segment);
    if (raw != kNoNode && fn(raw)) return true;
    if (segment.find('%') == std::string_view::npos) return false;
    char stack_buffer[256];
    std::string heap_buffer;  // only for absurdly long segments
    char* buffer = stack_buffer;
    if (segment.size() > sizeof(stack_buffer)) {
      heap_buffer.resize(segment.size());
      buffer = heap_buffer.data();
    }
    const std::string_view decoded(buffer, PercentDecodeInto(segment, DecodeMode::kAll, buffer));
    if (decoded == segment) return false;
    const std::int32_t child = FindLiteral(node, decoded);
    return child != kNoNode && child != raw && fn(child);
  }

  const Entry* AcceptAt(std::int32_t index, const Target& t) const {
    const FrozenNode& node = nodes[static_cast<std::size_t>(index)];
    for (std::uint32_t i = node.entries_begin; i < node.entries_end; ++i) {
      const Entry& e = entries[i];
      if (e.verb == t.verb && (t.method.empty() || e.method == t.method)) return &e;
    }
    return nullptr;
  }

  // Depth-first, literal before `*` before `**`, so the first hit is the most specific route.
  // Each node is reached by one chain of choices, so a pass visits every node at most once.
  const Entry* FindEntry(std::int32_t index, const Target& t, std::size_t pos) const {
    const FrozenNode& node = nodes[static_cast<std::size_t>(index)];
    if (pos == kNoSegment) {
      if (const Entry* e = AcceptAt(index, t)) return e;
      // `**` also matches zero segments: "/v1/**" matches "/v1".
      return node.double_wildcard != kNoNode ? AcceptAt(node.double_wildcard, t) : nullptr;
    }
    std::size_t next = kNoSegment;
    const std::string_view segment = SegmentAt(t, pos, &next);
    // Empty segments ("//", a trailing '/') match neither literals nor `*`, only `**`.
    if (!segment.empty()) {
      const Entry* found = nullptr;
      if (ForEachLiteralChild(node, segment, [&](std::int32_t child) {
            found = FindEntry(child, t, next);
            return found != nullptr;
          })) {
        return found;
      }
      if (node.wildcard != kNoNode) {
        if (const Entry* e = FindEntry(node.wildcard, t, next)) return e;
      }
    }
    return node.double_wildcard != kNoNode ? AcceptAt(node.double_wildcard, t) : nullptr;
  }

  // Like FindEntry, but visits every match and records the methods of the entries accepting t.
  void CollectMethods(std::int32_t index, const Target& t, std::size_t pos,
                      std::vector<std::string>* methods) const {
    const FrozenNode& node = nodes[static_cast<std::size_t>(index)];
    auto collect = [&](std::int32_t at) {
      const FrozenNode& n = nodes[static_cast<std::size_t>(at)];
      for (std::uint32_t i = n.entries_begin; i < n.entries_end; ++i) {
        if (entries[i].verb == t.verb) methods->push_back(entries[i].method);
      }
    };
    if (node.double_wildcard != kNoNode) collect(node.double_wildcard);
    if (pos == kNoSegment) {
      collect(index);
      return;
    }
    std::size_t next = kNoSegment;
    const std::string_view segment = SegmentAt(t, pos, &next);
    if (segment.empty()) return;
    ForEachLiteralChild(node, segment, [&](std::int32_t child) {
      CollectMethods(child, t, next, methods);
      return false;
    });
    if (node.wildcard != kNoNode) CollectMethods(node.wildcard, t, next, methods);
  }

  // Tries the verb pass, then the plain pass; on success *t describes the pass that matched.
  const Entry* Find(std::string_view method, std::string_view path, Target* t) const {
    t->method = method;
    if (has_verbs && VerbTarget(path, t)) {
      if (const Entry* e = FindEntry(0, *t, t->first)) return e;
    }
    // Without a verb match the ':' is ordinary path text, e.g. inside a variable's value.
    PlainTarget(path, t);
    return FindEntry(0, *t, t->first);
  }
};

struct PathMatcher::Builder::Impl {
  BuildNode root;
  bool has_verbs = false;
};

PathMatcher::Builder::Builder() : impl_(std::make_unique<Impl>()) {}
PathMatcher::Builder::~Builder() = default;
PathMatcher::Builder::Builder(Builder&&) noexcept = default;
PathMatcher::Builder& PathMatcher::Builder::operator=(Builder&&) noexcept = default;

bool PathMatcher::Builder::Add(std::string_view http_method, const HttpTemplate& path_template,
                               std::size_t route, std::string* error) {
  if (!impl_) {
    SetError(error, "PathMatcher::Builder used after Build()");
    return false;
  }
  if (http_method.empty()) {
    SetError(error, "HTTP method is empty");
    return false;
  }
  std::string invalid;
  if (!Validate(path_template, &invalid)) {
    SetError(error, "invalid template " + ShapeOf(path_template) + ": " + invalid);
    return false;
  }
  BuildNode* node = &impl_->root;
  for (const HttpTemplate::Segment& s : path_template.segments) {
    std::unique_ptr<BuildNode>* child = nullptr;
    switch (s.kind) {
      case Kind::kLiteral:
        child = &node->literals[s.literal];
        break;
      case Kind::kWildcard:
        child = &node->wildcard;
        break;
      case Kind::kDoubleWildcard:
        child = &node->double_wildcard;
        break;
    }
    if (!*child) *child = std::make_unique<BuildNode>();
    node = child->get();
  }
  for (const Entry& e : node->entries) {
    if (e.method == http_method && e.verb == path_template.verb) {
      SetError(error, "duplicate route: " + std::string(http_method) + " " +
                          ShapeOf(path_template) + " is already registered (route " +
                          std::to_string(e.route) + ")");
      return false;
    }
  }
  node->entries.push_back(
      Entry{std::string(http_method), path_template.verb, route, path_template.variables});
  if (!path_template.verb.empty()) impl_->has_verbs = true;
  return true;
}

PathMatcher PathMatcher::Builder::Build() && {
  PathMatcher matcher;
  if (impl_) {
    auto frozen = std::make_unique<PathMatcher::Impl>();
    frozen->has_verbs = impl_->has_verbs;
    frozen->Freeze(impl_->root);
    matcher.impl_ = std::move(frozen);
  }
  impl_.reset();
  return matcher;
}

PathMatcher::PathMatcher() = default;
PathMatcher::~PathMatcher() = default;
PathMatcher::PathMatcher(PathMatcher&&) noexcept = default;
PathMatcher& PathMatcher::operator=(PathMatcher&&) noexcept = default;

PathMatcher::Result PathMatcher::Lookup(std::string_view http_method, std::string_view path,
                                        PathMatch* match) const {
  if (!impl_ || path.empty() || path.front() != '/') return Result::kNotFound;
  Target t;
  if (const Entry* e = impl_->Find(http_method, path, &t)) {
    if (match != nullptr) Bind(*e, t, match);
    return Result::kMatched;
  }
  if (!http_method.empty() && impl_->Find({}, path, &t)) return Result::kMethodNotAllowed;
  return Result::kNotFound;
}

std::vector<std::string> PathMatcher::AllowedMethods(std::string_view path) const {
  std::vector<std::string> methods;
  if (!impl_ || path.empty() || path.front() != '/') return methods;
  Target t;
  if (impl_->has_verbs && VerbTarget(path, &t)) impl_->CollectMethods(0, t, t.first, &methods);
  PlainTarget(path, &t);
  impl_->CollectMethods(0, t, t.first, &methods);
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  return methods;
}

}  // namespace portico::transcoder
