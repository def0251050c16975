#include "tests/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace portico::testing {
namespace {

std::string MakeTempFile(int* fd) {
  char path[] = "/tmp/portico-child-XXXXXX";
  *fd = mkostemp(path, O_CLOEXEC);
  if (*fd < 0) throw std::runtime_error(std::string("mkostemp: ") + std::strerror(errno));
  return path;
}

std::string ReadAll(const std::string& path) {
  if (path.empty()) return "";
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteAll(int fd, const char* s) {
  std::size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

ChildProcess::ChildProcess() = default;

ChildProcess::~ChildProcess() {
  Kill();
  if (!stdout_path_.empty()) ::unlink(stdout_path_.c_str());
  if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
}

void ChildProcess::Start(const std::string& binary, const std::vector<std::string>& args,
                         const std::string& cwd, std::chrono::milliseconds max_lifetime) {
  Kill();
  if (!stdout_path_.empty()) ::unlink(stdout_path_.c_str());
  if (!stderr_path_.empty()) ::unlink(stderr_path_.c_str());
  int out_fd = -1, err_fd = -1;
  stdout_path_ = MakeTempFile(&out_fd);
  stderr_path_ = MakeTempFile(&err_fd);

  // Everything the child needs is prepared before fork: between fork and exec only
  // async-signal-safe calls are allowed (the test process has other threads).
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* dir = cwd.empty() ? nullptr : cwd.c_str();
  const long max_fd = std::max(1024L, sysconf(_SC_OPEN_MAX));
  const pid_t parent = ::getpid();

  std::unique_lock lock(mu_);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(out_fd);
    ::close(err_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    // Child.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &dfl, nullptr);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    // Sockets of the test process (clients, the test backend) must not leak into the child:
    // an inherited client socket would keep a connection open from the child's side.
    for (long fd = 3; fd < max_fd; ++fd) ::close(static_cast<int>(fd));
    if (dir != nullptr && ::chdir(dir) != 0) {
      WriteAll(2, "ChildProcess: chdir failed\n");
      ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    WriteAll(2, "ChildProcess: exec failed: ");
    WriteAll(2, argv[0]);
    WriteAll(2, "\n");
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  pid_ = pid;
  reaped_ = false;
  status_ = 0;
  watchdog_stop_ = false;
  lock.unlock();

  watchdog_ = std::thread([this, max_lifetime] {
    std::unique_lock l(mu_);
    if (!watchdog_cv_.wait_for(l, max_lifetime, [this] { return watchdog_stop_; })) {
      // Still ours (not reaped), so the pid cannot have been reused.
      if (!reaped_) ::kill(pid_, SIGKILL);
    }
  });
}

bool ChildProcess::ReapLocked() {
  if (reaped_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return true;
  }
  if (r < 0 && errno == ECHILD) {  // someone else reaped it; treat as gone
    reaped_ = true;
    status_ = 0;
    return true;
  }
  return false;
}

bool ChildProcess::Running() {
  std::lock_guard lock(mu_);
  return pid_ > 0 && !ReapLocked();
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (pid_ <= 0) return std::nullopt;
      if (ReapLocked()) {
        if (WIFEXITED(status_)) return WEXITSTATUS(status_);
        if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
        return -1;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void ChildProcess::Signal(int sig) {
  std::lock_guard lock(mu_);
  if (pid_ > 0 && !ReapLocked()) ::kill(pid_, sig);
}

void ChildProcess::StopWatchdog() {
  {
    std::lock_guard lock(mu_);
    watchdog_stop_ = true;
  }
  watchdog_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

void ChildProcess::Kill() {
  {
    std::lock_guard lock(mu_);
    if (pid_ > 0 && !ReapLocked()) {
      ::kill(pid_, SIGKILL);
      // SIGKILL cannot be caught; the child ends promptly (bounded anyway).
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!ReapLocked() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  }
  StopWatchdog();
}

std::string ChildProcess::Stdout() const { return ReadAll(stdout_path_); }
std::string ChildProcess::Stderr() const { return ReadAll(stderr_path_); }

std::uint16_t PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool ConnectRefused(std::uint16_t port, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
      socklen_t len = sizeof(err);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    } else {
      err = ETIMEDOUT;
    }
  }
  ::close(fd);
  return err == ECONNREFUSED;
}

}  // namespace portico::testing
