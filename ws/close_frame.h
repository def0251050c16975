// What a WebSocket close frame may carry (RFC 6455 sections 5.5, 7.4): pure functions, no
// sockets, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::ws {

// A close frame's payload is at most 125 bytes: a 2-byte code and the reason.
inline constexpr std::size_t kMaxCloseReasonBytes = 123;

// `message` as a close reason browsers accept: well-formed UTF-8 (each byte that does not
// start a valid character becomes '?') of at most kMaxCloseReasonBytes, cut at a character
// boundary. A reason cut inside a character makes browsers fail the socket with 1006 and lose
// the code.
std::string CloseReason(std::string_view message);

// True for a close code a peer may send (RFC 6455 section 7.4 and the IANA registry): 1000-1003,
// 1007-1014 and 3000-4999. Not 0-999, 1004-1006, 1015, 1016-2999, nor 5000 and up.
bool IsValidPeerCloseCode(std::uint16_t code);

}  // namespace portico::ws
