// A raw HTTP/1.1 client for streaming tests: writes a request (optionally in pieces, chunked),
// reads the response head, then the body incrementally, so a test can see each streamed
// message as it arrives and disconnect mid-stream. Every read is bounded by a timeout.
// Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace portico::testing {

class StreamClient {
 public:
  explicit StreamClient(std::uint16_t port,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~StreamClient();

  bool Write(const std::string& bytes);
  // Reads the status line and headers. Returns the status (0 on failure).
  int ReadHead();
  const std::map<std::string, std::string>& headers() const;
  // Reads body bytes (de-chunked) until `needle` appears in what was read so far (or the body
  // ends, or the timeout passes). Returns everything read so far.
  std::string ReadUntil(const std::string& needle);
  // Reads the body to its end.
  std::string ReadAll();
  bool ended() const;
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Chunk(const std::string& data);  // one chunk of the chunked transfer coding

}  // namespace portico::testing
