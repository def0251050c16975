#include "transcoder/json_codec.h"

#include "transcoder/json_depth.h"
#include "transcoder/json_to_wire.h"
#include "transcoder/wire_check.h"
#include "transcoder/wire_to_json.h"

#include <map>
#include <mutex>
#include <shared_mutex>

#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

namespace portico::transcoder {

namespace pbutil = google::protobuf::util;

std::string TypeUrl(const google::protobuf::Descriptor& type) {
  std::string url(kTypeUrlPrefix);
  url += '/';
  url += type.full_name();
  return url;
}

class JsonCodec::CachingResolver final : public pbutil::TypeResolver {
 public:
  explicit CachingResolver(const google::protobuf::DescriptorPool* pool)
      : inner_(pbutil::NewTypeResolverForDescriptorPool(std::string(kTypeUrlPrefix), pool)) {}

  pbutil::Status ResolveMessageType(const std::string& type_url,
                                    google::protobuf::Type* type) override {
    return Resolve(type_url, type, types_, [this](const std::string& u, google::protobuf::Type* t) {
      return inner_->ResolveMessageType(u, t);
    });
  }
  pbutil::Status ResolveEnumType(const std::string& type_url,
                                 google::protobuf::Enum* enum_type) override {
    return Resolve(type_url, enum_type, enums_, [this](const std::string& u, google::protobuf::Enum* e) {
      return inner_->ResolveEnumType(u, e);
    });
  }

 private:
  template <typename T, typename Fn>
  pbutil::Status Resolve(const std::string& url, T* out, std::map<std::string, T, std::less<>>& cache,
                         Fn&& fetch) {
    {
      std::shared_lock lock(mu_);
      if (auto it = cache.find(url); it != cache.end()) {
        *out = it->second;
        return pbutil::Status();
      }
    }
    T fetched;
    pbutil::Status status = fetch(url, &fetched);
    if (!status.ok()) return status;  // misses are not cached: they are errors, and rare
    std::unique_lock lock(mu_);
    *out = cache.emplace(url, std::move(fetched)).first->second;
    return status;
  }

  std::unique_ptr<pbutil::TypeResolver> inner_;
  std::shared_mutex mu_;
  std::map<std::string, google::protobuf::Type, std::less<>> types_;
  std::map<std::string, google::protobuf::Enum, std::less<>> enums_;
};

JsonCodec::JsonCodec(const google::protobuf::DescriptorPool* pool)
    : pool_(pool),
      resolver_(std::make_unique<CachingResolver>(pool)),
      factory_(std::make_unique<google::protobuf::DynamicMessageFactory>(pool)) {}

const google::protobuf::Message* JsonCodec::Prototype(
    const google::protobuf::Descriptor& type) const {
  return factory_->GetPrototype(&type);
}

JsonCodec::~JsonCodec() = default;

struct JsonCodec::FastPath {
  explicit FastPath(const google::protobuf::Descriptor& type) : to_wire(type), to_json(type) {}
  ::portico::transcoder::JsonToWire to_wire;
  ::portico::transcoder::WireToJson to_json;
};

const JsonCodec::FastPath& JsonCodec::Fast(const google::protobuf::Descriptor& type) const {
  {
    std::shared_lock lock(fast_mu_);
    if (auto it = fast_.find(&type); it != fast_.end()) return *it->second;
  }
  auto built = std::make_unique<FastPath>(type);  // outside the lock: it walks the type closure
  std::unique_lock lock(fast_mu_);
  auto& slot = fast_[&type];
  if (!slot) slot = std::move(built);
  return *slot;
}

Status JsonCodec::JsonToWire(const google::protobuf::Descriptor& type, std::string_view json,
                             JsonParseFlags flags, std::string* wire) const {
  Status fast = Fast(type).to_wire.Convert(json, flags.ignore_unknown_fields, wire);
  if (fast.code() != Code::kUnimplemented) return fast;
  // protobuf's converter has no bound of its own on JSON nesting or size (and is slow), and
  // writes messages nested deeper than its own parser reads: both bounds are checked here.
  wire->clear();
  if (JsonNestsDeeperThan(json, kMaxJsonDepth)) {
    return InvalidArgument(std::string(kJsonNestingMessage));
  }
  // Its cost per byte is high whatever the nesting: the size is bounded too.
  if (json.size() > kMaxConverterJsonBytes) {
    return InvalidArgument(std::string(kConverterSizeMessage) + " (here: " + fast.message() + ")");
  }
  pbutil::JsonParseOptions options;
  options.ignore_unknown_fields = flags.ignore_unknown_fields;
  pbutil::Status s = pbutil::JsonToBinaryString(
      resolver_.get(), TypeUrl(type), google::protobuf::StringPiece(json.data(), json.size()),
      wire, options);
  if (!s.ok()) return InvalidArgument(std::string(s.message()));
  if (CheckWire(type, *wire) == WireCheck::kTooDeep) {
    wire->clear();
    return InvalidArgument(std::string(kMessageNestingMessage));
  }
  return OkStatus();
}

Status JsonCodec::WireToJson(const google::protobuf::Descriptor& type, const std::string& wire,
                             std::string* json, bool emit_defaults) const {
  if (!emit_defaults) {
    Status fast = Fast(type).to_json.Convert(wire, json);
    if (fast.ok()) return fast;
    if (fast.code() != Code::kUnimplemented) {
      return Status(Code::kInternal, "cannot render reply as JSON: " + fast.message());
    }
  }
  pbutil::JsonPrintOptions options;
  options.always_print_primitive_fields = emit_defaults;
  json->clear();
  // BinaryToJsonString does not validate its input: truncated or malformed bytes render as
  // made-up JSON with an OK status. A structural scan catches that at a fraction of a parse.
  switch (CheckWire(type, wire)) {
    case WireCheck::kOk:
      break;
    case WireCheck::kTooDeep:
      return Status(Code::kInternal, "cannot render reply as JSON: " +
                                         std::string(kMessageNestingMessage));
    case WireCheck::kMalformed:
      return Status(Code::kInternal, "cannot render reply as JSON: its bytes do not parse as " +
                                         type.full_name());
  }
  pbutil::Status s = pbutil::BinaryToJsonString(resolver_.get(), TypeUrl(type), wire, json, options);
  if (!s.ok()) return Status(Code::kInternal, "cannot render reply as JSON: " + std::string(s.message()));
  return OkStatus();
}

}  // namespace portico::transcoder
