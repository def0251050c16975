// One connection's place under limits.max_connections (DESIGN section 7). Whatever owns the
// connection holds it (an HTTP session, then the WebSocket session the connection was
// upgraded to), so a connection counts for its whole life; destroying the slot frees the place.
// Move-only. Thread safety: the count is atomic, a slot may die on any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <utility>

namespace portico::http {

class ConnectionSlot {
 public:
  using Count = std::atomic<std::size_t>;

  ConnectionSlot() = default;  // holds nothing
  explicit ConnectionSlot(std::shared_ptr<Count> count) : count_(std::move(count)) {
    if (count_) count_->fetch_add(1);
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept : count_(std::move(other.count_)) {}
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept {
    if (this != &other) {
      Release();
      count_ = std::move(other.count_);
    }
    return *this;
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot() { Release(); }

  void Release() {
    if (count_) count_->fetch_sub(1);
    count_.reset();
  }
  bool held() const { return count_ != nullptr; }

 private:
  std::shared_ptr<Count> count_;
};

}  // namespace portico::http
