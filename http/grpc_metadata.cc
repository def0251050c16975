#include "http/grpc_metadata.h"

#include <cctype>

#include "policy/header_tokens.h"
#include "transcoder/base64.h"

namespace portico::http {
namespace {

bool ValidKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  // Reserved for the protocol and the transport, which set them themselves.
  return key.substr(0, 5) != "grpc-" && key != "content-type" && key != "te" &&
         key != "user-agent" && key != "host" && key != "connection";
}

bool PrintableValue(std::string_view v) {
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void Add(registry::Metadata* md, std::string key, std::string_view value) {
  if (!ValidKey(key)) return;
  if (!EndsWith(key, "-bin") && !PrintableValue(value)) return;
  md->emplace_back(std::move(key), std::string(value));
}

}  // namespace

bool AddClientMetadata(std::string_view key, std::string_view value, registry::Metadata* md) {
  const std::size_t before = md->size();
  Add(md, policy::AsciiLowered(key), value);
  return md->size() != before;
}

void SetIdentityMetadata(const RequestIdentity& identity, registry::Metadata* md) {
  std::erase_if(*md, [](const auto& entry) {
    return entry.first == "traceparent" || entry.first == "tracestate" ||
           entry.first == "x-request-id";
  });
  md->emplace_back("traceparent", identity.Traceparent());
  if (!identity.tracestate.empty()) md->emplace_back("tracestate", identity.tracestate);
  md->emplace_back("x-request-id", identity.request_id);
}

namespace {

// Headers that are HTTP's or a gRPC-family protocol's own, never a call's metadata.
bool ProtocolHeader(std::string_view name) {
  static constexpr std::string_view kExact[] = {
      "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
      "host", "expect", "te", "trailer", "origin", "referer", "x-grpc-web", "x-user-agent",
      "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "traceparent", "tracestate",
      "x-request-id", "priority", "dnt", "pragma", "cache-control"};
  static constexpr std::string_view kPrefixes[] = {"content-", "accept", "sec-", "connect-",
                                                   "grpc-", "access-control-"};
  for (auto exact : kExact) {
    if (name == exact) return true;
  }
  for (auto prefix : kPrefixes) {
    if (name.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

// X-Forwarded-For/-Host/-Proto, and the identity (or the client's trace context without one).
void AddForwarding(const Request& request, const PeerInfo& peer, const RequestIdentity* identity,
                   registry::Metadata* md) {
  std::string forwarded_for;
  for (const auto& field : request) {
    const std::string name = policy::AsciiLowered(field.name_string());
    const std::string_view value(field.value().data(), field.value().size());
    if (identity == nullptr && (name == "traceparent" || name == "tracestate")) {
      Add(md, name, value);
    } else if (name == "x-forwarded-for") {
      forwarded_for = std::string(value);
    }
  }
  if (!peer.address.empty()) {
    forwarded_for = forwarded_for.empty() ? peer.address : forwarded_for + ", " + peer.address;
  }
  if (!forwarded_for.empty()) Add(md, "x-forwarded-for", forwarded_for);
  const auto host = request[boost::beast::http::field::host];
  if (!host.empty()) Add(md, "x-forwarded-host", std::string_view(host.data(), host.size()));
  Add(md, "x-forwarded-proto", peer.tls ? "https" : "http");
  if (identity != nullptr) SetIdentityMetadata(*identity, md);
}

}  // namespace

registry::Metadata GrpcHeaderMetadata(const Request& request, const PeerInfo& peer,
                                      const RequestIdentity* identity) {
  registry::Metadata md;
  for (const auto& field : request) {
    const std::string name = policy::AsciiLowered(field.name_string());
    if (ProtocolHeader(name)) continue;
    const std::string_view value(field.value().data(), field.value().size());
    if (EndsWith(name, "-bin")) {
      std::string raw;
      if (transcoder::Base64Decode(value, &raw)) Add(&md, name, raw);
      continue;
    }
    Add(&md, name, value);
  }
  AddForwarding(request, peer, identity, &md);
  return md;
}

registry::Metadata RequestMetadata(const Request& request, const PeerInfo& peer,
                                   const RequestIdentity* identity) {
  registry::Metadata md;
  constexpr std::string_view kPrefix = "grpc-metadata-";
  for (const auto& field : request) {
    const std::string name = policy::AsciiLowered(field.name_string());
    const std::string_view value(field.value().data(), field.value().size());
    if (name.size() > kPrefix.size() && name.compare(0, kPrefix.size(), kPrefix) == 0) {
      Add(&md, name.substr(kPrefix.size()), value);
    } else if (name == "authorization") {
      Add(&md, name, value);
    }
  }
  AddForwarding(request, peer, identity, &md);
  return md;
}

void AddReplyMetadata(const registry::Metadata& headers, const registry::Metadata& trailers,
                      Response* response) {
  auto add = [response](std::string_view prefix, const registry::Metadata& md) {
    for (const auto& [key, value] : md) {
      if (key.rfind("grpc-", 0) == 0 || key == "content-type") continue;
      const bool binary = EndsWith(key, "-bin");
      if (!binary && !PrintableValue(value)) continue;
      response->insert(std::string(prefix) + key, binary ? transcoder::Base64Encode(value) : value);
    }
  };
  add("Grpc-Metadata-", headers);
  add("Grpc-Trailer-", trailers);
}

std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view text) {
  if (text.size() < 2 || text.size() > 9) return std::nullopt;
  std::int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  using namespace std::chrono;
  switch (text.back()) {
    case 'H':  // 8 digits of hours overflow nanoseconds: saturate (= no deadline)
      if (n > duration_cast<hours>(nanoseconds::max()).count()) return nanoseconds::max();
      return duration_cast<nanoseconds>(hours(n));
    case 'M': return duration_cast<nanoseconds>(minutes(n));
    case 'S': return duration_cast<nanoseconds>(seconds(n));
    case 'm': return duration_cast<nanoseconds>(milliseconds(n));
    case 'u': return duration_cast<nanoseconds>(microseconds(n));
    case 'n': return nanoseconds(n);
    default: return std::nullopt;
  }
}

}  // namespace portico::http
