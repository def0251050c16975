// Who a request is, for the logs and the backend (DESIGN section 12): its request id and its
// W3C Trace Context (https://www.w3.org/TR/trace-context/).
//
// - X-Request-Id: kept when it is 1 to 128 bytes of [A-Za-z0-9._:+=/@-]; otherwise (absent,
//   too long, other bytes) a new one is made: 32 lowercase hex digits (16 random bytes).
//   Either way it is returned on every reply and sent to the backend as `x-request-id`.
// - traceparent: parsed strictly (ParseTraceparent). A valid one keeps its trace id and its
//   sampled flag; the gateway's call to the backend gets a new span id (the backend sees
//   "00-<trace id>-<new span id>-<flags>"). When absent or invalid a new trace is started:
//   random trace id and span id, flags 01 (sampled). Portico is the root of such a trace and
//   leaves the sampling decision to the tracers behind it, so new traces are always marked
//   sampled; there is no knob.
// - tracestate: passed on unchanged with a valid traceparent when it is at most 512 bytes of
//   printable ASCII; dropped otherwise, and always dropped when a new trace is started (the
//   spec: a new trace must not carry the old vendors' state).
//
// Socket-free pure functions; thread-safe (random ids come from a thread-local generator
// seeded from std::random_device).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::http {

inline constexpr std::size_t kMaxRequestIdBytes = 128;
inline constexpr std::size_t kMaxTracestateBytes = 512;

struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> parent_id{};
  std::uint8_t flags = 0;  // only the sampled bit (01) is kept when propagating

  bool sampled() const { return (flags & 0x01) != 0; }
};

// A traceparent header value, strictly: version 00 is exactly
// "00-<32 lowercase hex>-<16 lowercase hex>-<2 lowercase hex>", trace id and parent id not all
// zero. A higher version (not "ff") is read by the version-00 layout from its first 55
// characters, which must be followed by nothing or by '-' (the spec's forward compatibility).
// nullopt for anything else (uppercase hex, version ff, wrong length, ...).
std::optional<TraceContext> ParseTraceparent(std::string_view value);

// A request id as sent is acceptable (see above).
bool ValidRequestId(std::string_view id);

struct RequestIdentity {
  std::string request_id;
  bool request_id_generated = false;  // none, or an unacceptable one, was sent
  TraceContext trace;                 // the incoming trace, or a new one
  bool trace_generated = false;       // no valid traceparent came in
  std::array<std::uint8_t, 8> span_id{};  // the gateway's span: the backend's parent id
  std::string tracestate;             // what is passed on ("" = nothing)

  std::string TraceId() const;      // 32 lowercase hex digits
  std::string Traceparent() const;  // what the backend gets: "00-<trace id>-<span id>-<flags>"
};

// The identity of a request from its X-Request-Id, traceparent and tracestate header values
// ("" when absent).
RequestIdentity IdentifyRequest(std::string_view request_id, std::string_view traceparent,
                                std::string_view tracestate);

// Another call on behalf of the same request (a multiplexed WebSocket call): the same request
// id, trace and tracestate, a new span id.
RequestIdentity ChildCall(const RequestIdentity& parent);

// 32 lowercase hex digits from 16 random bytes.
std::string NewRequestId();

// Lowercase hex of `n` bytes.
std::string Hex(const std::uint8_t* data, std::size_t n);

}  // namespace portico::http
