// dashboard_backend: the backend of the dashboard example. Serves users.v1.Users,
// orders.v1.Orders, recs.v1.Recs and dashboard.v1.Control (counters) on one plaintext port, with
// the health service and server reflection. Data is fixed (see kUsers, kOrders, kRecs).
//
//   dashboard_backend [--port N] [--host H]
//                     [--{users,orders,recs}-delay-ms N] [--{users,orders,recs}-fail-code C]
//
// Knobs, so an aggregate's parts can be made slow or failing: a part's delay runs first (in
// short slices, ending early when the client cancels or its deadline passes), then its failure
// (gRPC code C, 1..16) if one is set. Per call, request metadata overrides the flags:
// x-<part>-delay-ms / x-<part>-fail-code for one part (e.g. x-recs-delay-ms: 800), else
// x-delay-ms / x-fail-code for whatever part receives it. Cancellations are logged to stderr and
// counted; dashboard.v1.Control/GetCounters returns the counters.
//
// Prints "dashboard listening on HOST:PORT" once serving; SIGINT/SIGTERM stop it (exit 0).

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <pthread.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "control.grpc.pb.h"
#include "orders.grpc.pb.h"
#include "recs.grpc.pb.h"
#include "users.grpc.pb.h"
#include "examples/stop_signals.h"

namespace {

constexpr int kMaxDelayMs = 60'000;
constexpr auto kDelaySlice = std::chrono::milliseconds(5);
// In-flight calls get this long to finish after a signal before they are cancelled.
constexpr auto kShutdownGrace = std::chrono::seconds(2);

// ---- Fixed data -------------------------------------------------------------------------------

struct UserRow {
  const char* id;
  const char* name;
  const char* email;
  const char* tier;
};
// u3 has more orders than the example's max_fan_out (10); u4 has none.
constexpr std::array<UserRow, 4> kUsers = {{
    {"u1", "Ada", "ada@example.com", "gold"},
    {"u2", "Grace", "grace@example.com", "silver"},
    {"u3", "Alan", "alan@example.com", "basic"},
    {"u4", "Edsger", "edsger@example.com", "basic"},
}};

std::vector<orders::v1::Order> MakeOrders() {
  std::vector<orders::v1::Order> all;
  auto add = [&all](std::string id, std::string user_id, std::int64_t total_cents, int items) {
    orders::v1::Order order;
    order.set_id(std::move(id));
    order.set_user_id(std::move(user_id));
    order.set_total_cents(total_cents);
    order.set_item_count(items);
    all.push_back(std::move(order));
  };
  add("o-1003", "u1", 9900, 3);
  add("o-1002", "u1", 1250, 1);
  add("o-1001", "u1", 4599, 2);
  add("o-2002", "u2", 31999, 5);
  add("o-2001", "u2", 2500, 1);
  for (int i = 12; i >= 1; --i) {
    add("o-30" + std::string(i < 10 ? "0" : "") + std::to_string(i), "u3", 1000 + i * 175,
        1 + i % 4);
  }
  return all;
}

struct RecRow {
  const char* user_name;
  const char* title;
  double score;
};
constexpr std::array<RecRow, 9> kRecs = {{
    {"Ada", "Notes on the Analytical Engine", 0.97},
    {"Ada", "Punched cards, a primer", 0.81},
    {"Ada", "Bernoulli numbers by hand", 0.64},
    {"Grace", "COBOL for managers", 0.93},
    {"Grace", "A nanosecond is a foot of wire", 0.88},
    {"Alan", "On computable numbers", 0.95},
    {"Alan", "The imitation game", 0.90},
    {"Alan", "Morphogenesis", 0.72},
    {"Edsger", "Go To considered harmful", 0.99},
}};

// ---- Knobs and counters -----------------------------------------------------------------------

enum Part { kUsersPart, kOrdersPart, kRecsPart, kPartCount };
constexpr std::array<const char*, kPartCount> kPartNames = {"users", "orders", "recs"};

struct Knobs {
  int delay_ms = 0;
  int fail_code = 0;  // 0 = none
};

// Thread-safe (one mutex; calls are few and short).
class Counters {
 public:
  void Call(const std::string& method) { Bump(&calls_, method); }
  void Failed(const std::string& method) { Bump(&failed_, method); }
  void Cancelled(const std::string& method) { Bump(&cancelled_, method); }
  void Enter() { in_flight_.fetch_add(1); }
  void Leave() { in_flight_.fetch_sub(1); }

  void Fill(dashboard::v1::Counters* out) {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : calls_) (*out->mutable_calls())[k] = v;
    for (const auto& [k, v] : failed_) (*out->mutable_failed())[k] = v;
    for (const auto& [k, v] : cancelled_) (*out->mutable_cancelled())[k] = v;
    out->set_in_flight(in_flight_.load());
  }
  void Reset() {
    std::lock_guard lock(mu_);
    calls_.clear();
    failed_.clear();
    cancelled_.clear();
  }

 private:
  void Bump(std::map<std::string, std::int64_t>* counts, const std::string& method) {
    std::lock_guard lock(mu_);
    ++(*counts)[method];
  }

  std::mutex mu_;
  std::map<std::string, std::int64_t> calls_;
  std::map<std::string, std::int64_t> failed_;
  std::map<std::string, std::int64_t> cancelled_;
  std::atomic<std::int64_t> in_flight_{0};
};

std::optional<int> ParseInt(std::string_view text, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return std::nullopt;
  }
  return value;
}

// The first of `keys` present in the call's metadata.
std::optional<std::string> Metadata(const grpc::ServerContext& ctx,
                                    std::initializer_list<std::string_view> keys) {
  const auto& md = ctx.client_metadata();
  for (std::string_view key : keys) {
    auto it = md.find(grpc::string_ref(key.data(), key.size()));
    if (it != md.end()) return std::string(it->second.data(), it->second.size());
  }
  return std::nullopt;
}

// Shared by the three services: counts the call, applies the part's delay and failure.
// Thread-safe; the knobs are fixed at start.
class Behaviour {
 public:
  Behaviour(std::array<Knobs, kPartCount> knobs, Counters* counters)
      : knobs_(knobs), counters_(counters) {}

  // Runs before a handler's work: OK to go on, else the status to return.
  grpc::Status Before(grpc::ServerContext* ctx, Part part, const std::string& method) {
    counters_->Call(method);
    const std::string name = kPartNames[static_cast<std::size_t>(part)];
    Knobs knobs = knobs_[static_cast<std::size_t>(part)];
    if (auto v = Metadata(*ctx, {"x-" + name + "-delay-ms", "x-delay-ms"})) {
      auto ms = ParseInt(*v, 0, kMaxDelayMs);
      if (!ms) return Bad(method, "delay must be 0.." + std::to_string(kMaxDelayMs) + " ms");
      knobs.delay_ms = *ms;
    }
    if (auto v = Metadata(*ctx, {"x-" + name + "-fail-code", "x-fail-code"})) {
      auto code = ParseInt(*v, 0, 16);
      if (!code) return Bad(method, "fail code must be 0..16");
      knobs.fail_code = *code;
    }
    if (knobs.delay_ms > 0) {
      const auto start = std::chrono::steady_clock::now();
      const auto until = start + std::chrono::milliseconds(knobs.delay_ms);
      while (std::chrono::steady_clock::now() < until) {
        if (ctx->IsCancelled()) {
          counters_->Cancelled(method);
          const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start);
          std::fprintf(stderr, "dashboard: %s cancelled after %lld of %d ms\n", method.c_str(),
                       static_cast<long long>(waited.count()), knobs.delay_ms);
          return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled by the client");
        }
        std::this_thread::sleep_for(kDelaySlice);
      }
    }
    if (knobs.fail_code != 0) {
      counters_->Failed(method);
      std::fprintf(stderr, "dashboard: %s fails with code %d (injected)\n", method.c_str(),
                   knobs.fail_code);
      return grpc::Status(static_cast<grpc::StatusCode>(knobs.fail_code),
                          name + ": injected failure (code " + std::to_string(knobs.fail_code) +
                              ")");
    }
    return grpc::Status::OK;
  }

  grpc::Status NotFound(const std::string& method, std::string message) {
    counters_->Failed(method);
    return grpc::Status(grpc::StatusCode::NOT_FOUND, std::move(message));
  }

  Counters* counters() { return counters_; }

 private:
  grpc::Status Bad(const std::string& method, std::string message) {
    counters_->Failed(method);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
  }

  const std::array<Knobs, kPartCount> knobs_;
  Counters* const counters_;
};

// Counts a handler as in flight for its lifetime.
class InFlight {
 public:
  explicit InFlight(Counters* counters) : counters_(counters) { counters_->Enter(); }
  ~InFlight() { counters_->Leave(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  Counters* counters_;
};

// ---- Services ---------------------------------------------------------------------------------

class UsersService final : public users::v1::Users::Service {
 public:
  explicit UsersService(Behaviour* behaviour) : behaviour_(behaviour) {}

  grpc::Status GetUser(grpc::ServerContext* ctx, const users::v1::GetUserRequest* req,
                       users::v1::User* rep) override {
    static const std::string kMethod = "/users.v1.Users/GetUser";
    InFlight in_flight(behaviour_->counters());
    if (grpc::Status s = behaviour_->Before(ctx, kUsersPart, kMethod); !s.ok()) return s;
    for (const UserRow& row : kUsers) {
      if (req->id() == row.id) {
        rep->set_id(row.id);
        rep->set_name(row.name);
        rep->set_email(row.email);
        rep->set_tier(row.tier);
        return grpc::Status::OK;
      }
    }
    return behaviour_->NotFound(kMethod, "no user '" + req->id() + "'");
  }

 private:
  Behaviour* behaviour_;
};

class OrdersService final : public orders::v1::Orders::Service {
 public:
  explicit OrdersService(Behaviour* behaviour) : behaviour_(behaviour), orders_(MakeOrders()) {}

  grpc::Status List(grpc::ServerContext* ctx, const orders::v1::ListOrdersRequest* req,
                    orders::v1::ListOrdersReply* rep) override {
    static const std::string kMethod = "/orders.v1.Orders/List";
    InFlight in_flight(behaviour_->counters());
    if (grpc::Status s = behaviour_->Before(ctx, kOrdersPart, kMethod); !s.ok()) return s;
    if (req->limit() < 0) {
      behaviour_->counters()->Failed(kMethod);
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "limit must be >= 0");
    }
    bool known = false;
    for (const UserRow& row : kUsers) known = known || req->user_id() == row.id;
    if (!known) return behaviour_->NotFound(kMethod, "no user '" + req->user_id() + "'");
    for (const orders::v1::Order& order : orders_) {
      if (req->limit() > 0 && rep->items_size() >= req->limit()) break;
      if (order.user_id() == req->user_id()) *rep->add_items() = order;
    }
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const orders::v1::GetOrderRequest* req,
                   orders::v1::Order* rep) override {
    static const std::string kMethod = "/orders.v1.Orders/Get";
    InFlight in_flight(behaviour_->counters());
    if (grpc::Status s = behaviour_->Before(ctx, kOrdersPart, kMethod); !s.ok()) return s;
    for (const orders::v1::Order& order : orders_) {
      if (order.id() == req->id()) {
        *rep = order;
        return grpc::Status::OK;
      }
    }
    return behaviour_->NotFound(kMethod, "no order '" + req->id() + "'");
  }

 private:
  Behaviour* behaviour_;
  const std::vector<orders::v1::Order> orders_;
};

class RecsService final : public recs::v1::Recs::Service {
 public:
  explicit RecsService(Behaviour* behaviour) : behaviour_(behaviour) {}

  grpc::Status ForUser(grpc::ServerContext* ctx, const recs::v1::ForUserRequest* req,
                       recs::v1::ForUserReply* rep) override {
    static const std::string kMethod = "/recs.v1.Recs/ForUser";
    InFlight in_flight(behaviour_->counters());
    if (grpc::Status s = behaviour_->Before(ctx, kRecsPart, kMethod); !s.ok()) return s;
    for (const RecRow& row : kRecs) {
      if (req->name() == row.user_name) {
        recs::v1::Rec* rec = rep->add_items();
        rec->set_title(row.title);
        rec->set_score(row.score);
      }
    }
    if (rep->items_size() == 0) {
      return behaviour_->NotFound(kMethod, "no recommendations for '" + req->name() + "'");
    }
    return grpc::Status::OK;
  }

 private:
  Behaviour* behaviour_;
};

class ControlService final : public dashboard::v1::Control::Service {
 public:
  explicit ControlService(Counters* counters) : counters_(counters) {}

  grpc::Status GetCounters(grpc::ServerContext*, const dashboard::v1::GetCountersRequest*,
                           dashboard::v1::Counters* rep) override {
    counters_->Fill(rep);
    return grpc::Status::OK;
  }

  grpc::Status ResetCounters(grpc::ServerContext*, const dashboard::v1::GetCountersRequest*,
                             dashboard::v1::Counters* rep) override {
    counters_->Reset();
    counters_->Fill(rep);
    return grpc::Status::OK;
  }

 private:
  Counters* counters_;
};

// ---- Flags ------------------------------------------------------------------------------------

struct Flags {
  std::string host = "127.0.0.1";
  int port = 50061;
  std::array<Knobs, kPartCount> knobs;
};

void PrintUsage(std::FILE* out) {
  std::fputs(
      "usage: dashboard_backend [--port N (50061)] [--host H (127.0.0.1)]\n"
      "                         [--{users,orders,recs}-delay-ms N]"
      " [--{users,orders,recs}-fail-code C]\n"
      "per call, metadata overrides the flags: x-<part>-delay-ms, x-<part>-fail-code,\n"
      "x-delay-ms, x-fail-code\n",
      out);
}

// Returns false (after printing why) on a bad argument. Accepts "--flag value" and "--flag=value".
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout);
      std::exit(0);
    }
    std::string_view value;
    if (const auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "dashboard_backend: '%s' needs a value\n", argv[i]);
      return false;
    }
    auto number = [&](int min, int max, int* out) {
      if (auto v = ParseInt(value, min, max)) {
        *out = *v;
        return true;
      }
      std::fprintf(stderr, "dashboard_backend: bad %.*s value '%.*s' (%d..%d)\n",
                   static_cast<int>(arg.size()), arg.data(), static_cast<int>(value.size()),
                   value.data(), min, max);
      return false;
    };
    bool matched = false;
    for (std::size_t p = 0; p < kPartCount && !matched; ++p) {
      const std::string prefix = std::string("--") + kPartNames[p];
      if (arg == prefix + "-delay-ms") {
        if (!number(0, kMaxDelayMs, &flags->knobs[p].delay_ms)) return false;
        matched = true;
      } else if (arg == prefix + "-fail-code") {
        if (!number(0, 16, &flags->knobs[p].fail_code)) return false;
        matched = true;
      }
    }
    if (matched) continue;
    if (arg == "--port") {
      if (!number(0, 65535, &flags->port)) return false;
    } else if (arg == "--host") {
      flags->host = std::string(value);
    } else {
      std::fprintf(stderr, "dashboard_backend: unknown argument '%s'\n", argv[i]);
      PrintUsage(stderr);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  // Before gRPC starts its threads: only the sigwait() below receives them.
  const sigset_t stop_signals = portico::examples::BlockStopSignals();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  Counters counters;
  Behaviour behaviour(flags.knobs, &counters);
  UsersService users(&behaviour);
  OrdersService orders(&behaviour);
  RecsService recs(&behaviour);
  ControlService control(&counters);

  grpc::ServerBuilder builder;
  int bound_port = 0;
  // Brackets keep an IPv6 host parseable next to the port.
  const std::string host =
      flags.host.find(':') != std::string::npos ? "[" + flags.host + "]" : flags.host;
  builder.AddListeningPort(host + ":" + std::to_string(flags.port),
                           grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&users);
  builder.RegisterService(&orders);
  builder.RegisterService(&recs);
  builder.RegisterService(&control);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "dashboard_backend: cannot listen on %s:%d\n", host.c_str(), flags.port);
    return 1;
  }
  std::printf("dashboard listening on %s:%d\n", host.c_str(), bound_port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "dashboard_backend: signal %d, shutting down\n", signal_number);
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server->Wait();
  return 0;
}
