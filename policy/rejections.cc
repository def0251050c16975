#include "policy/rejections.h"

namespace portico::policy {

std::string_view RejectKindName(RejectKind kind) {
  switch (kind) {
    case RejectKind::kIp: return "ip";
    case RejectKind::kApiKey: return "api_key";
    case RejectKind::kHmac: return "hmac";
    case RejectKind::kJwt: return "jwt";
    case RejectKind::kRbac: return "rbac";
    case RejectKind::kRateLimit: return "rate_limit";
    case RejectKind::kCors: return "cors";
    case RejectKind::kConcurrency: return "max_concurrency";
    case RejectKind::kCount: break;
  }
  return "unknown";
}

}  // namespace portico::policy
