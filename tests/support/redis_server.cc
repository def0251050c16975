#include "tests/support/redis_server.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace portico::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

void Flatten(const redisReply* r, std::string* out) {
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      *out += std::to_string(r->integer);
      break;
    case REDIS_REPLY_NIL:
      *out += "(nil)";
      break;
    case REDIS_REPLY_ARRAY:
      for (std::size_t i = 0; i < r->elements; ++i) {
        if (i > 0) *out += '\n';
        Flatten(r->element[i], out);
      }
      break;
    default:  // string, status, error
      out->append(r->str, r->len);
  }
}

}  // namespace

bool RedisServer::Available() { return ::access(kBinary, X_OK) == 0; }

RedisServer::RedisServer() {
  char path[] = "/tmp/portico-redis-XXXXXX";
  if (::mkdtemp(path) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = path;
}

RedisServer::~RedisServer() {
  Resume();
  process_.Kill();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string RedisServer::address() const { return "127.0.0.1:" + std::to_string(port_); }

bool RedisServer::Start(milliseconds timeout) {
  if (started_once_) return StartOnce(timeout);
  // A port picked free a moment ago may be taken by the time redis binds it: try fresh ones.
  for (int i = 0; i < 3; ++i) {
    port_ = PickFreePort();
    if (StartOnce(timeout)) {
      started_once_ = true;
      return true;
    }
    process_.Kill();
  }
  return false;
}

bool RedisServer::StartOnce(milliseconds timeout) {
  process_.Start(kBinary,
                 {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                  "--appendonly", "no", "--dir", dir_, "--daemonize", "no",
                  "--protected-mode", "no", "--loglevel", "warning"},
                 "", std::chrono::minutes(10));
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (!process_.Running()) return false;
    if (Command({"PING"}, milliseconds(500)) == "PONG") return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

void RedisServer::Kill() { process_.Kill(); }
void RedisServer::Pause() { process_.Signal(SIGSTOP); }
void RedisServer::Resume() { process_.Signal(SIGCONT); }

std::string RedisServer::Command(const std::vector<std::string>& args,
                                 milliseconds timeout) const {
  const timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                   .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
  if (c == nullptr) return "";
  std::string out;
  if (c->err == 0 && redisSetTimeout(c, tv) == REDIS_OK) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (reply != nullptr) {
      Flatten(reply, &out);
      freeReplyObject(reply);
    }
  }
  redisFree(c);
  return out;
}

}  // namespace portico::testing
