// A structural check of protobuf wire bytes against a message type, without building a
// message: tags, varints, fixed widths and lengths are in bounds, groups balance, fields of
// message type are well-formed in turn and nested at most kMaxMessageDepth deep, packed scalars
// hold whole elements, and proto3 strings are valid UTF-8. protobuf's BinaryToJsonString does
// not validate its input (truncated bytes render as made-up JSON; a packed varint over 10 bytes
// makes it loop, allocating, until memory runs out), and a full parse into a DynamicMessage costs as much as the
// rendering itself. Pure; thread-safe.
#pragma once

#include <string_view>

#include <google/protobuf/descriptor.h>

namespace portico::transcoder {

// protobuf's default recursion limit: a parser refuses messages nested deeper (the root is 0).
inline constexpr int kMaxMessageDepth = 100;

enum class WireCheck { kOk, kMalformed, kTooDeep };

WireCheck CheckWire(const google::protobuf::Descriptor& type, std::string_view wire);

}  // namespace portico::transcoder
