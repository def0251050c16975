// ws_load: WebSocket load client for Portico's single-call bridge (DESIGN section 6).
//
// Built on websocketpp (C++17, deprecated asio API), standalone: see Makefile. One asio thread,
// like `wrk -t1`. Loopback only: the URL host must be 127.0.0.1.
//
// Modes:
//   echo   N sockets, each a loop of unary calls: connect, send one text frame (--body),
//          receive the reply, receive close 1000, repeat. One socket per call, because the
//          single-call protocol ends the socket with the call. Reports calls/s and the
//          latency of a call (connect start -> reply), plus the frame round trip (send -> reply).
//   stream N sockets, each a loop of server-streaming calls: connect, send --body (which should
//          carry "repeat": R), count replies until close 1000, repeat. Reports messages/s.
//   hold   open N sockets to a streaming method and send nothing: every socket is a gRPC call
//          that Portico holds open, waiting for its request message. Reads the gateway's VmRSS
//          (--pid) before and after, reports the RSS delta per stream, holds them idle for
//          --duration seconds, checks that every stream is still open and still works (sends
//          --verify-body on each and expects one reply and close 1000), then closes them all.
//
// Output: human-readable lines, then one machine-readable line starting with "WS_RESULT".
// Exit code: 0 when the run had no errors, 1 on errors, 2 on bad usage.

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace {

using Client = websocketpp::client<websocketpp::config::asio_client>;
using Clock = std::chrono::steady_clock;
using websocketpp::connection_hdl;

// ------------------------------------------------------------------ options ----
struct Options {
  std::string url;
  std::string mode = "echo";
  int streams = 32;
  long messages = 0;    // echo/stream: calls per socket (0 = until --duration)
  double duration = 10;  // seconds: measured window (echo/stream) or idle hold (hold)
  double warmup = 1;     // echo/stream: seconds before the measured window
  std::string body = "{\"message\":\"hello\"}";
  std::string verify_body = "{\"message\":\"x\",\"repeat\":1}";
  std::string expect = "hello";  // echo: a reply must contain this
  int pid = 0;                   // gateway PID: VmRSS and CPU
  int backend_pid = 0;           // backend PID: CPU
  int ramp = 256;                // hold: handshakes in flight at most
  double open_timeout = 120;     // hold: seconds to open all N
  double settle = 2;             // hold: seconds between the last open and the RSS reading
  bool verify = true;            // hold: send verify_body on every held stream at the end
};

[[noreturn]] void Usage(const char* why) {
  if (why) std::fprintf(stderr, "ws_load: %s\n", why);
  std::fprintf(stderr,
               "usage: ws_load --url ws://127.0.0.1:PORT/pkg.Svc/Method [--mode echo|stream|hold]\n"
               "  [--streams N=32] [--messages M=0 (calls per socket; 0 = until duration)]\n"
               "  [--duration S=10] [--warmup S=1] [--body JSON] [--expect SUBSTR]\n"
               "  [--pid GATEWAY_PID] [--backend-pid PID]\n"
               "  hold: [--ramp 256] [--open-timeout 120] [--settle 2] [--verify-body JSON]\n"
               "        [--no-verify]\n");
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + a).c_str());
      return argv[++i];
    };
    if (a == "--url") o.url = next();
    else if (a == "--mode") o.mode = next();
    else if (a == "--streams" || a == "-n") o.streams = std::atoi(next().c_str());
    else if (a == "--messages" || a == "-m") o.messages = std::atol(next().c_str());
    else if (a == "--duration" || a == "-d") o.duration = std::atof(next().c_str());
    else if (a == "--warmup") o.warmup = std::atof(next().c_str());
    else if (a == "--body") o.body = next();
    else if (a == "--verify-body") o.verify_body = next();
    else if (a == "--expect") o.expect = next();
    else if (a == "--pid") o.pid = std::atoi(next().c_str());
    else if (a == "--backend-pid") o.backend_pid = std::atoi(next().c_str());
    else if (a == "--ramp") o.ramp = std::atoi(next().c_str());
    else if (a == "--open-timeout") o.open_timeout = std::atof(next().c_str());
    else if (a == "--settle") o.settle = std::atof(next().c_str());
    else if (a == "--no-verify") o.verify = false;
    else if (a == "-h" || a == "--help") Usage(nullptr);
    else Usage(("unknown argument " + a).c_str());
  }
  if (o.url.empty()) Usage("--url is required");
  if (o.url.rfind("ws://127.0.0.1:", 0) != 0) Usage("--url must start with ws://127.0.0.1:");
  if (o.mode != "echo" && o.mode != "stream" && o.mode != "hold") Usage("bad --mode");
  if (o.streams <= 0 || o.duration < 0 || o.warmup < 0 || o.ramp <= 0) Usage("bad number");
  return o;
}

// ------------------------------------------------------------- /proc helpers ----
long ReadVmRssKb(int pid) {
  if (pid <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

// utime + stime in clock ticks; -1 if unreadable.
long long ReadCpuTicks(int pid) {
  if (pid <= 0) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return -1;
  std::istringstream in(s.substr(rp + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // Fields after "(comm)": state is field 3; utime is 14, stime is 15.
  for (int n = 3; n <= 15 && (in >> field); ++n) {
    if (n == 14) utime = std::atoll(field.c_str());
    if (n == 15) stime = std::atoll(field.c_str());
  }
  return utime + stime;
}

void RaiseFdLimit(int want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t target = static_cast<rlim_t>(want);
  if (rl.rlim_cur >= target) return;
  rlim_t cap = rl.rlim_max == RLIM_INFINITY ? target : std::min(target, rl.rlim_max);
  rl.rlim_cur = cap;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || cap < target) {
    std::fprintf(stderr, "ws_load: warning: fd limit %llu < %d wanted (hard limit %llu)\n",
                 static_cast<unsigned long long>(cap), want,
                 static_cast<unsigned long long>(rl.rlim_max));
  }
}

double Us(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

struct Percentiles {
  std::vector<std::uint32_t> v;
  void add(Clock::duration d) {
    double us = Us(d);
    v.push_back(us < 0 ? 0 : static_cast<std::uint32_t>(std::min(us, 4.0e9)));
  }
  std::uint32_t at(double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    std::size_t i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  }
};

// Counts error reasons; prints the most frequent.
struct Errors {
  long total = 0;
  std::map<std::string, long> by_reason;
  void add(const std::string& why) {
    ++total;
    ++by_reason[why];
  }
  void print() const {
    for (auto& [why, n] : by_reason) std::printf("  error x%ld: %s\n", n, why.c_str());
  }
};

std::string CloseDesc(Client::connection_ptr con) {
  std::string s = "close " + std::to_string(con->get_remote_close_code());
  if (!con->get_remote_close_reason().empty()) s += " (" + con->get_remote_close_reason() + ")";
  if (con->get_ec()) s += " ec=" + con->get_ec().message();
  return s;
}

struct CpuWindow {
  int pid;
  long long t0 = -1, t1 = -1;
  void start() { t0 = ReadCpuTicks(pid); }
  void stop() { t1 = ReadCpuTicks(pid); }
  // microseconds of CPU per unit, or -1
  double per(double units) const {
    if (pid <= 0 || t0 < 0 || t1 < 0 || units <= 0) return -1;
    return static_cast<double>(t1 - t0) / static_cast<double>(sysconf(_SC_CLK_TCK)) * 1e6 / units;
  }
  double cores(double seconds) const {
    if (pid <= 0 || t0 < 0 || t1 < 0 || seconds <= 0) return -1;
    return static_cast<double>(t1 - t0) / static_cast<double>(sysconf(_SC_CLK_TCK)) / seconds;
  }
};

void InitClient(Client& c, long open_timeout_ms) {
  c.clear_access_channels(websocketpp::log::alevel::all);
  c.clear_error_channels(websocketpp::log::elevel::all);
  c.init_asio();
  c.set_open_handshake_timeout(open_timeout_ms);
  c.set_close_handshake_timeout(10000);
  c.set_socket_init_handler([](connection_hdl, boost::asio::ip::tcp::socket& s) {
    boost::system::error_code ignored;
    s.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  });
}

// ------------------------------------------------------------ echo / stream ----
// Each worker runs calls one after another on fresh sockets.
class CallLoad {
 public:
  explicit CallLoad(const Options& o) : o_(o), workers_(static_cast<std::size_t>(o.streams)) {
    InitClient(client_, 10000);
    stream_ = o.mode == "stream";
  }

  int Run() {
    auto& io = client_.get_io_service();
    t_start_ = Clock::now();
    for (std::size_t i = 0; i < workers_.size(); ++i) StartCall(i);

    boost::asio::steady_timer warm(io), end(io), hard(io);
    warm.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.warmup)));
    warm.async_wait([this](const boost::system::error_code&) {
      measuring_ = true;
      t_begin_ = Clock::now();
      gw_.start();
      be_.start();
    });
    end.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.warmup + o_.duration)));
    end.async_wait([this, &hard](const boost::system::error_code& ec) {
      if (ec) return;
      EndWindow();
      // Calls in flight finish (not counted); give them 10 s at most.
      hard.expires_after(std::chrono::seconds(10));
      hard.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) {
          std::printf("  %d calls still running 10 s after the window; stopping\n", active_);
          client_.stop();
        }
      });
    });
    io_warm_ = &warm;
    io_end_ = &end;
    io_hard_ = &hard;
    client_.run();
    if (!window_ended_) EndWindow();  // every worker hit --messages before the window ended
    return Report();
  }

 private:
  struct Worker {
    long calls = 0;
    bool got_reply = false;
    long replies = 0;
    Clock::time_point t_connect, t_send;
  };

  void EndWindow() {
    if (window_ended_) return;
    window_ended_ = true;
    if (!measuring_) {  // window ended before warm-up finished (all workers done early)
      t_begin_ = t_start_;
      gw_.start();
      be_.start();
    }
    measuring_ = false;
    stopping_ = true;
    t_end_ = Clock::now();
    gw_.stop();
    be_.stop();
  }

  void MaybeFinish() {
    if (active_ == 0) {
      EndWindow();
      if (io_warm_) io_warm_->cancel();
      if (io_end_) io_end_->cancel();
      if (io_hard_) io_hard_->cancel();
    }
  }

  void StartCall(std::size_t i) {
    Worker& w = workers_[i];
    if (stopping_ || (o_.messages > 0 && w.calls >= o_.messages)) return MaybeFinish();
    websocketpp::lib::error_code ec;
    Client::connection_ptr con = client_.get_connection(o_.url, ec);
    if (ec) {
      std::fprintf(stderr, "ws_load: bad url: %s\n", ec.message().c_str());
      std::exit(2);
    }
    ++active_;
    w.got_reply = false;
    w.replies = 0;
    w.t_connect = Clock::now();
    con->set_open_handler([this, i](connection_hdl h) {
      Worker& w = workers_[i];
      w.t_send = Clock::now();
      websocketpp::lib::error_code ec;
      client_.send(h, o_.body, websocketpp::frame::opcode::text, ec);
      if (ec) Fail(i, "send: " + ec.message());
    });
    con->set_message_handler([this, i](connection_hdl, Client::message_ptr msg) {
      Worker& w = workers_[i];
      auto now = Clock::now();
      if (!w.got_reply) {
        w.got_reply = true;
        if (measuring_) {
          call_lat_.add(now - w.t_connect);
          rtt_.add(now - w.t_send);
        }
        if (!stream_ && !o_.expect.empty() &&
            msg->get_payload().find(o_.expect) == std::string::npos) {
          bad_replies_++;
          if (bad_sample_.empty()) bad_sample_ = msg->get_payload();
        }
      }
      ++w.replies;
      if (measuring_) ++messages_;
    });
    con->set_close_handler([this, i](connection_hdl h) {
      Worker& w = workers_[i];
      auto con = client_.get_con_from_hdl(h);
      if (con->get_remote_close_code() == websocketpp::close::status::normal && w.got_reply) {
        ++w.calls;
        if (measuring_) ++calls_;
      } else if (measuring_ || !window_ended_) {
        Fail(i, CloseDesc(con) + (w.got_reply ? "" : " before any reply"));
      }
      Next(i);
    });
    con->set_fail_handler([this, i](connection_hdl h) {
      auto con = client_.get_con_from_hdl(h);
      std::string why = "connect failed: " + con->get_ec().message();
      if (con->get_response_code() != 0) {
        why += " (HTTP " + std::to_string(static_cast<int>(con->get_response_code())) + ")";
      }
      if (measuring_ || !window_ended_) Fail(i, why);
      Next(i, std::chrono::milliseconds(10));  // back off a little after a failed connect
    });
    client_.connect(con);
  }

  void Fail(std::size_t, const std::string& why) { errors_.add(why); }

  void Next(std::size_t i, Clock::duration delay = Clock::duration::zero()) {
    --active_;
    if (delay == Clock::duration::zero()) {
      boost::asio::post(client_.get_io_service(), [this, i] { StartCall(i); });
    } else {
      auto t = std::make_shared<boost::asio::steady_timer>(client_.get_io_service(), delay);
      t->async_wait([this, i, t](const boost::system::error_code&) { StartCall(i); });
    }
  }

  int Report() {
    double secs = std::chrono::duration<double>(t_end_ - t_begin_).count();
    double units = stream_ ? static_cast<double>(messages_) : static_cast<double>(calls_);
    double mps = secs > 0 ? static_cast<double>(messages_) / secs : 0;
    double cps = secs > 0 ? static_cast<double>(calls_) / secs : 0;
    std::printf("ws_load %s: %s, %d sockets, window %.2f s (after %.1f s warm-up)\n",
                o_.mode.c_str(), o_.url.c_str(), o_.streams, secs, o_.warmup);
    std::printf("  calls ok: %ld (%.1f/s)   messages received: %ld (%.1f/s)\n", calls_, cps,
                messages_, mps);
    std::printf("  call latency (connect -> first reply) us: p50=%u p90=%u p99=%u p99.9=%u max=%u\n",
                call_lat_.at(50), call_lat_.at(90), call_lat_.at(99), call_lat_.at(99.9),
                call_lat_.at(100));
    std::printf("  frame round trip (send -> first reply) us: p50=%u p99=%u\n", rtt_.at(50),
                rtt_.at(99));
    std::printf("  errors: %ld   bad replies: %ld\n", errors_.total, bad_replies_);
    errors_.print();
    if (bad_replies_) std::printf("  first bad reply: %s\n", bad_sample_.c_str());
    double gw_us = gw_.per(units), be_us = be_.per(units);
    if (o_.pid) std::printf("  gateway CPU: %.2f cores, %.1f us per %s\n", gw_.cores(secs), gw_us,
                            stream_ ? "message" : "call");
    if (o_.backend_pid) std::printf("  backend CPU: %.2f cores, %.1f us per %s\n",
                                    be_.cores(secs), be_us, stream_ ? "message" : "call");
    std::printf(
        "WS_RESULT mode=%s streams=%d window_s=%.2f calls=%ld calls_per_s=%.1f messages=%ld "
        "msgs_per_s=%.1f p50_us=%u p90_us=%u p99_us=%u rtt_p50_us=%u rtt_p99_us=%u errors=%ld "
        "bad_replies=%ld gw_cpu_us=%.1f backend_cpu_us=%.1f\n",
        o_.mode.c_str(), o_.streams, secs, calls_, cps, messages_, mps, call_lat_.at(50),
        call_lat_.at(90), call_lat_.at(99), rtt_.at(50), rtt_.at(99), errors_.total,
        bad_replies_, gw_us, be_us);
    std::fflush(stdout);
    return (errors_.total == 0 && bad_replies_ == 0 && calls_ > 0) ? 0 : 1;
  }

  const Options& o_;
  Client client_;
  bool stream_ = false;
  std::vector<Worker> workers_;
  int active_ = 0;
  bool measuring_ = false, stopping_ = false, window_ended_ = false;
  Clock::time_point t_start_, t_begin_, t_end_;
  long calls_ = 0, messages_ = 0, bad_replies_ = 0;
  std::string bad_sample_;
  Percentiles call_lat_, rtt_;
  Errors errors_;
  CpuWindow gw_{o_.pid}, be_{o_.backend_pid};
  boost::asio::steady_timer* io_warm_ = nullptr;
  boost::asio::steady_timer* io_end_ = nullptr;
  boost::asio::steady_timer* io_hard_ = nullptr;
};

// --------------------------------------------------------------------- hold ----
class HoldLoad {
 public:
  explicit HoldLoad(const Options& o) : o_(o), socks_(static_cast<std::size_t>(o.streams)) {
    InitClient(client_, static_cast<long>(o.open_timeout * 1000));
  }

  int Run() {
    auto& io = client_.get_io_service();
    rss_before_ = ReadVmRssKb(o_.pid);
    std::printf("ws_load hold: %s, %d sockets (at most %d handshakes in flight)\n",
                o_.url.c_str(), o_.streams, o_.ramp);
    std::printf("  gateway VmRSS before: %ld kB\n", rss_before_);
    std::fflush(stdout);
    t_start_ = Clock::now();
    gw_.start();
    Pump();

    boost::asio::steady_timer deadline(io);
    deadline.expires_after(std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.open_timeout)));
    deadline.async_wait([this](const boost::system::error_code& ec) {
      if (ec || phase_ != Phase::kOpening) return;
      std::printf("  open timeout: %d of %d open after %.0f s\n", open_, o_.streams,
                  o_.open_timeout);
      AllOpened();
    });
    deadline_ = &deadline;
    client_.run();
    return Report();
  }

 private:
  enum class Phase { kOpening, kSettling, kHolding, kVerifying, kClosing, kDone };
  struct Sock {
    connection_hdl hdl;
    bool open = false, gone = false, replied = false, verified = false;
    Clock::time_point t_connect;
  };

  void Pump() {
    while (phase_ == Phase::kOpening && next_ < socks_.size() && in_flight_ < o_.ramp) {
      Connect(next_++);
    }
  }

  void Connect(std::size_t i) {
    websocketpp::lib::error_code ec;
    Client::connection_ptr con = client_.get_connection(o_.url, ec);
    if (ec) {
      std::fprintf(stderr, "ws_load: bad url: %s\n", ec.message().c_str());
      std::exit(2);
    }
    ++in_flight_;
    socks_[i].t_connect = Clock::now();
    socks_[i].hdl = con->get_handle();
    con->set_open_handler([this, i](connection_hdl) {
      Sock& s = socks_[i];
      s.open = true;
      ++open_;
      --in_flight_;
      open_lat_.add(Clock::now() - s.t_connect);
      if (open_ % 1000 == 0) {
        std::printf("  %d open (%.1f s)\n", open_,
                    std::chrono::duration<double>(Clock::now() - t_start_).count());
        std::fflush(stdout);
      }
      if (phase_ == Phase::kOpening) {
        if (open_ + failed_ == o_.streams) AllOpened();
        else Pump();
      }
    });
    con->set_message_handler([this, i](connection_hdl, Client::message_ptr msg) {
      Sock& s = socks_[i];
      if (phase_ != Phase::kVerifying) {
        errors_.add("unexpected message while holding: " + msg->get_payload().substr(0, 80));
        return;
      }
      s.replied = true;
    });
    con->set_close_handler([this, i](connection_hdl h) {
      Sock& s = socks_[i];
      auto con = client_.get_con_from_hdl(h);
      s.gone = true;
      --open_;
      if (phase_ == Phase::kVerifying) {
        if (con->get_remote_close_code() == websocketpp::close::status::normal && s.replied) {
          s.verified = true;
          ++verified_;
        } else {
          errors_.add("verify: " + CloseDesc(con) + (s.replied ? "" : " without a reply"));
        }
        if (--verify_pending_ == 0) CloseAll();
      } else if (phase_ == Phase::kClosing) {
        if (open_ == 0) Done();
      } else if (phase_ != Phase::kDone) {
        ++dropped_;
        errors_.add("held stream closed by Portico: " + CloseDesc(con));
      }
    });
    con->set_fail_handler([this, i](connection_hdl h) {
      auto con = client_.get_con_from_hdl(h);
      std::string why = "connect failed: " + con->get_ec().message();
      if (con->get_response_code() != 0) {
        why += " (HTTP " + std::to_string(static_cast<int>(con->get_response_code())) + ")";
      }
      errors_.add(why);
      socks_[i].gone = true;
      ++failed_;
      --in_flight_;
      if (phase_ == Phase::kOpening) {
        if (open_ + failed_ == o_.streams) AllOpened();
        else Pump();
      }
    });
    client_.connect(con);
  }

  void AllOpened() {
    phase_ = Phase::kSettling;
    deadline_->cancel();
    t_opened_ = Clock::now();
    opened_at_peak_ = open_;
    std::printf("  opened %d of %d in %.2f s (%ld connect failures)\n", open_, o_.streams,
                std::chrono::duration<double>(t_opened_ - t_start_).count(), failed_);
    std::fflush(stdout);
    After(o_.settle, [this] {
      gw_.stop();
      rss_open_ = ReadVmRssKb(o_.pid);
      std::printf("  gateway VmRSS with %d streams open: %ld kB\n", open_, rss_open_);
      std::fflush(stdout);
      phase_ = Phase::kHolding;
      After(o_.duration, [this] { EndHold(); });
    });
  }

  void EndHold() {
    rss_held_ = ReadVmRssKb(o_.pid);
    alive_after_hold_ = open_;
    std::printf("  after %.0f s idle: %d streams still open, gateway VmRSS %ld kB\n",
                o_.duration, open_, rss_held_);
    std::fflush(stdout);
    if (!o_.verify) return CloseAll();
    phase_ = Phase::kVerifying;
    t_verify_ = Clock::now();
    for (auto& s : socks_) {
      if (!s.open || s.gone) continue;
      websocketpp::lib::error_code ec;
      client_.send(s.hdl, o_.verify_body, websocketpp::frame::opcode::text, ec);
      if (ec) {
        errors_.add("verify send: " + ec.message());
        continue;
      }
      ++verify_pending_;
    }
    if (verify_pending_ == 0) return CloseAll();
    After(30, [this] {
      if (phase_ != Phase::kVerifying) return;
      std::printf("  verify timeout: %d streams did not finish\n", verify_pending_);
      errors_.add("verify timeout");
      CloseAll();
    });
  }

  void CloseAll() {
    if (phase_ == Phase::kClosing || phase_ == Phase::kDone) return;
    if (phase_ == Phase::kVerifying) {
      std::printf("  verified %d streams (request -> one reply -> close 1000) in %.2f s\n",
                  verified_, std::chrono::duration<double>(Clock::now() - t_verify_).count());
    }
    phase_ = Phase::kClosing;
    for (auto& s : socks_) {
      if (!s.open || s.gone) continue;
      websocketpp::lib::error_code ec;
      client_.close(s.hdl, websocketpp::close::status::normal, "", ec);
    }
    if (open_ == 0) return Done();
    After(15, [this] {
      if (phase_ != Phase::kDone) Done();
    });
  }

  void Done() {
    phase_ = Phase::kDone;
    After(1, [this] {
      rss_after_ = ReadVmRssKb(o_.pid);
      client_.stop();
    });
  }

  void After(double seconds, std::function<void()> fn) {
    auto t = std::make_shared<boost::asio::steady_timer>(
        client_.get_io_service(),
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
    t->async_wait([t, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  }

  int Report() {
    double delta_kb = (rss_open_ >= 0 && rss_before_ >= 0) ? static_cast<double>(rss_open_ - rss_before_) : -1;
    double per_stream_kib = opened_at_peak_ > 0 && delta_kb >= 0 ? delta_kb / opened_at_peak_ : -1;
    double open_secs = std::chrono::duration<double>(t_opened_ - t_start_).count();
    std::printf("  gateway VmRSS: before %ld kB, open %ld kB, after hold %ld kB, after close %ld kB\n",
                rss_before_, rss_open_, rss_held_, rss_after_);
    std::printf("  RSS per held stream: %.2f KiB (delta %.0f kB / %d streams)\n", per_stream_kib,
                delta_kb, opened_at_peak_);
    std::printf("  handshake latency us: p50=%u p99=%u max=%u; gateway CPU while opening: %.1f us/stream\n",
                open_lat_.at(50), open_lat_.at(99), open_lat_.at(100),
                gw_.per(opened_at_peak_));
    std::printf("  errors: %ld (connect failures %ld, dropped while held %ld)\n", errors_.total,
                failed_, dropped_);
    errors_.print();
    std::printf(
        "WS_RESULT mode=hold streams=%d opened=%d open_s=%.2f alive_after_hold=%d verified=%d "
        "dropped=%ld connect_failures=%ld errors=%ld rss_before_kb=%ld rss_open_kb=%ld "
        "rss_held_kb=%ld rss_after_kb=%ld rss_per_stream_kib=%.2f open_p50_us=%u open_p99_us=%u "
        "gw_cpu_us_per_open=%.1f\n",
        o_.streams, opened_at_peak_, open_secs, alive_after_hold_, verified_, dropped_, failed_,
        errors_.total, rss_before_, rss_open_, rss_held_, rss_after_, per_stream_kib,
        open_lat_.at(50), open_lat_.at(99), gw_.per(opened_at_peak_));
    std::fflush(stdout);
    bool ok = errors_.total == 0 && opened_at_peak_ == o_.streams &&
              alive_after_hold_ == o_.streams && (!o_.verify || verified_ == o_.streams);
    return ok ? 0 : 1;
  }

  const Options& o_;
  Client client_;
  std::vector<Sock> socks_;
  Phase phase_ = Phase::kOpening;
  std::size_t next_ = 0;
  int in_flight_ = 0, open_ = 0, opened_at_peak_ = 0, alive_after_hold_ = 0, verified_ = 0,
      verify_pending_ = 0;
  long failed_ = 0, dropped_ = 0;
  long rss_before_ = -1, rss_open_ = -1, rss_held_ = -1, rss_after_ = -1;
  Clock::time_point t_start_, t_opened_, t_verify_;
  Percentiles open_lat_;
  Errors errors_;
  CpuWindow gw_{o_.pid};
  boost::asio::steady_timer* deadline_ = nullptr;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  RaiseFdLimit(o.streams + 256);
  if (o.mode == "hold") return HoldLoad(o).Run();
  return CallLoad(o).Run();
}
