#include "ws/close_frame.h"

#include "transcoder/utf8.h"

namespace portico::ws {
namespace {

// Length of the well-formed UTF-8 character at the start of non-empty `s`, 0 if there is none.
std::size_t CharLength(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  if (*p < 0x80) return 1;
  std::uint32_t code_point;
  return transcoder::DecodeUtf8Sequence(p, s.size(), &code_point);
}

}  // namespace

std::string CloseReason(std::string_view message) {
  if (transcoder::IsValidUtf8(message)) {
    return std::string(transcoder::Utf8Prefix(message, kMaxCloseReasonBytes));
  }
  std::string out;
  while (!message.empty()) {
    const std::size_t n = CharLength(message);
    if (out.size() + (n == 0 ? 1 : n) > kMaxCloseReasonBytes) break;
    if (n == 0) {
      out += '?';
      message.remove_prefix(1);
    } else {
      out.append(message.substr(0, n));
      message.remove_prefix(n);
    }
  }
  return out;
}

bool IsValidPeerCloseCode(std::uint16_t code) {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;
  return code >= 3000 && code <= 4999;
}

}  // namespace portico::ws
