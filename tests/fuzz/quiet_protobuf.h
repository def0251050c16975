// protobuf logs a WARNING for many malformed inputs ("JsonObjectWriter was not fully closed");
// a fuzzer feeds it millions. Including this header silences protobuf's log (FATAL still aborts).
#pragma once

#include <google/protobuf/stubs/logging.h>

namespace portico::fuzz {

inline const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

}  // namespace portico::fuzz
