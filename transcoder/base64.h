// Standard base64 (RFC 4648 section 4, with padding), as proto3 JSON renders bytes. Pure.
#pragma once

#include <string>
#include <string_view>

namespace portico::transcoder {

std::string Base64Encode(std::string_view in);

}  // namespace portico::transcoder
