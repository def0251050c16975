// DESIGN section 3: the real build/portico binary as an operator runs it: flags, config file
// errors and their exit codes, the embedded default, the default data dir, signals and the
// graceful drain. Each test runs the binary as a child process (tests/support/process.h); every
// wait is bounded, and a watchdog kills a child that outlives its test.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_backend.h"

namespace portico::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr const char* kHelloProto = R"(syntax = "proto3";
package hello.v1;
import "google/api/annotations.proto";
message Req { string name = 1; }
message Rep { string text = 1; }
service Hello {
  rpc Say(Req) returns (Rep) { option (google.api.http) = { get: "/v1/say/{name}" }; }
}
)";

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  ASSERT_TRUE(out.good()) << path;
}

std::string Addr(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

class CliTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& c : children_) c->Kill();  // kills (if still running) and reaps
    children_.clear();
  }

  ChildProcess& NewChild() {
    children_.push_back(std::make_unique<ChildProcess>());
    return *children_.back();
  }

  // Runs portico with `args` to its end (at most `timeout`); returns the exit code, or -1
  // (and a test failure) if it was still running.
  int Run(ChildProcess& child, const std::vector<std::string>& args, const std::string& cwd = "",
          std::chrono::milliseconds timeout = 15s) {
    child.Start(PORTICO_BINARY, args, cwd);
    std::optional<int> code = child.Wait(timeout);
    if (!code) {
      ADD_FAILURE() << "portico " << ::testing::PrintToString(args) << " still running after "
                    << timeout.count() << " ms; stderr:\n"
                    << child.Stderr();
      child.Kill();
      return -1;
    }
    return *code;
  }

  // Starts a serving portico whose arguments `make_args(port, admin_port)` builds for two
  // free ports, retrying with new ports when a bind race is lost. Returns once the start-up
  // line is on stderr and GET /admin/healthz answers 200; false (with a failure) otherwise.
  bool StartServing(
      ChildProcess& child,
      const std::function<std::vector<std::string>(std::uint16_t, std::uint16_t)>& make_args,
      std::uint16_t* port, std::uint16_t* admin_port, const std::string& cwd = "") {
    for (int attempt = 0; attempt < 5; ++attempt) {
      *port = PickFreePort();
      *admin_port = PickFreePort();
      if (*port == *admin_port) continue;
      child.Start(PORTICO_BINARY, make_args(*port, *admin_port), cwd);
      // The start-up line is printed after both listeners are bound and the io threads run.
      // Only then is it our process on those ports (so a request cannot hang on a stranger).
      const bool started = child.WaitFor(
          [&] { return child.Stderr().find("admin on http://") != std::string::npos; }, 15s);
      if (!started) {
        std::optional<int> code = child.Wait(2s);
        const std::string err = child.Stderr();
        if (code && err.find("cannot listen") != std::string::npos) continue;  // lost the race
        ADD_FAILURE() << "portico did not start (exit "
                      << (code ? std::to_string(*code) : "none") << "); stderr:\n"
                      << err;
        child.Kill();
        return false;
      }
      HttpReply health;
      const std::uint16_t admin = *admin_port;
      const bool healthy = child.WaitFor(
          [&] {
            health = HttpCall(admin, "GET", "/admin/healthz");
            return health.status == 200;
          },
          10s);
      if (!healthy) {
        ADD_FAILURE() << "GET /admin/healthz never answered 200 (last: " << health.status << " "
                      << health.body << "); stderr:\n"
                      << child.Stderr();
        child.Kill();
        return false;
      }
      return true;
    }
    ADD_FAILURE() << "could not find free ports in 5 attempts";
    return false;
  }

  // Sends SIGTERM and expects exit code 0 within `timeout`.
  void TerminateAndExpectCleanExit(ChildProcess& child, std::chrono::milliseconds timeout = 5s) {
    child.Signal(SIGTERM);
    std::optional<int> code = child.Wait(timeout);
    ASSERT_TRUE(code.has_value()) << "still running " << timeout.count()
                                  << " ms after SIGTERM; stderr:\n"
                                  << child.Stderr();
    EXPECT_EQ(*code, 0) << child.Stderr();
  }

  static std::vector<std::string> ListenArgs(std::uint16_t port, std::uint16_t admin_port) {
    return {"--listen", Addr(port), "--admin-listen", Addr(admin_port)};
  }

  std::vector<std::unique_ptr<ChildProcess>> children_;
  TempDir tmp_;
};

// --- flags ---------------------------------------------------------------------------------

TEST_F(CliTest, HelpPrintsUsageAndExitsZero) {
  for (const char* flag : {"--help", "-h"}) {
    ChildProcess& p = NewChild();
    EXPECT_EQ(Run(p, {flag}), 0) << flag << ": " << p.Stderr();
    const std::string out = p.Stdout();
    EXPECT_THAT(out, HasSubstr("Usage")) << flag;
    for (const char* name : {"--config", "--listen", "--admin-listen", "--data-dir", "--help",
                             "--version"}) {
      EXPECT_THAT(out, HasSubstr(name)) << flag;
    }
  }
}

TEST_F(CliTest, VersionPrintsVersionAndExitsZero) {
  ChildProcess& p = NewChild();
  EXPECT_EQ(Run(p, {"--version"}), 0) << p.Stderr();
  EXPECT_EQ(p.Stdout(), "portico 0.1.0\n");
}

TEST_F(CliTest, UnknownFlagExitsTwoNamingIt) {
  ChildProcess& p = NewChild();
  EXPECT_EQ(Run(p, {"--frobnicate"}), 2);
  EXPECT_THAT(p.Stderr(), HasSubstr("--frobnicate"));
  // Nothing on stdout: errors go to stderr.
  EXPECT_EQ(p.Stdout(), "");
}

TEST_F(CliTest, FlagWithoutValueExitsTwo) {
  ChildProcess& p = NewChild();
  EXPECT_EQ(Run(p, {"--listen"}), 2);
  EXPECT_THAT(p.Stderr(), HasSubstr("--listen"));
}

// DESIGN section 7: an admin API reachable from other hosts without a token is refused, with
// the reason, unless the operator says so explicitly.
TEST_F(CliTest, RemoteAdminWithoutTokenExitsTwoSayingWhy) {
  ChildProcess& p = NewChild();
  const std::string admin = "0.0.0.0:" + std::to_string(PickFreePort());
  EXPECT_EQ(Run(p, {"--listen", Addr(PickFreePort()), "--admin-listen", admin}), 2);
  EXPECT_THAT(p.Stderr(), HasSubstr("admin.listen \"" + admin +
                                    "\" is not a loopback address and admin.token is empty"));
  EXPECT_THAT(p.Stderr(), HasSubstr("--admin-allow-remote-without-token"));
  EXPECT_THAT(p.Stderr(), Not(HasSubstr("admin on http://")));
}

TEST_F(CliTest, RemoteAdminWithExplicitConsentServes) {
  ChildProcess& p = NewChild();
  std::uint16_t port = 0, admin_port = 0;
  ASSERT_TRUE(StartServing(
      p,
      [](std::uint16_t data, std::uint16_t admin) {
        return std::vector<std::string>{"--listen", Addr(data), "--admin-listen",
                                        "0.0.0.0:" + std::to_string(admin),
                                        "--admin-allow-remote-without-token"};
      },
      &port, &admin_port, tmp_.path().string()));
  TerminateAndExpectCleanExit(p);
}

// --- config file errors --------------------------------------------------------------------

TEST_F(CliTest, UnknownConfigKeyExitsTwoNamingTheKeyPath) {
  const fs::path config = tmp_.path() / "portico.yaml";
  WriteFile(config, "admin: {tokn: x}\n");
  ChildProcess& p = NewChild();
  EXPECT_EQ(Run(p, {"--config", config.string()}), 2);
  EXPECT_THAT(p.Stderr(), HasSubstr("admin.tokn"));
  EXPECT_THAT(p.Stderr(), HasSubstr(config.string()));
}

TEST_F(CliTest, MissingConfigFileExitsNonZeroNamingThePath) {
  const fs::path config = tmp_.path() / "does-not-exist.yaml";
  ChildProcess& p = NewChild();
  const int code = Run(p, {"--config", config.string()});
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1);
  EXPECT_THAT(p.Stderr(), HasSubstr(config.string()));
}

TEST_F(CliTest, YamlSyntaxErrorExitsTwo) {
  const fs::path config = tmp_.path() / "portico.yaml";
  WriteFile(config, "listen: [127.0.0.1:8080\nadmin: {listen: \n");
  ChildProcess& p = NewChild();
  EXPECT_EQ(Run(p, {"--config", config.string()}), 2) << p.Stderr();
  EXPECT_THAT(p.Stderr(), HasSubstr(config.string()));
}

TEST_F(CliTest, BrokenProtoInConfigExitsNonZeroWithFileLineCol) {
  const fs::path proto = tmp_.path() / "broken.proto";
  WriteFile(proto, "syntax = \"proto3\";\npackage broken.v1;\nmessage M {\n  int32 a = 1\n}\n");
  const fs::path config = tmp_.path() / "portico.yaml";
  WriteFile(config, "store: {dir: \"" + (tmp_.path() / "data").string() +
                        "\"}\n"
                        "descriptors:\n"
                        "  - path: \"" +
                        proto.string() + "\"\n    import_paths: [\"" + tmp_.path().string() +
                        "\"]\n");
  ChildProcess& p = NewChild();
  // Free ports: should it start by mistake, it must not take the well-known ones.
  const int code = Run(p, {"--config", config.string(), "--listen", Addr(PickFreePort()),
                           "--admin-listen", Addr(PickFreePort())});
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1);
  const std::string err = p.Stderr();
  EXPECT_TRUE(std::regex_search(err, std::regex(R"(broken\.proto:\d+:\d+)"))) << err;
}

TEST_F(CliTest, TornStoreFileExitsNonZeroAndIsLeftUntouched) {
  const fs::path data = tmp_.path() / "data";
  fs::create_directories(data);
  std::string garbage = "\x0a\xff\xff\xff\x0f torn write";
  garbage += std::string(1, '\0') + "\x01\x12";
  WriteFile(data / "descriptors.pb", garbage);
  const auto mtime = fs::last_write_time(data / "descriptors.pb");
  ChildProcess& p = NewChild();
  const int code = Run(p, {"--data-dir", data.string(), "--listen", Addr(PickFreePort()),
                           "--admin-listen", Addr(PickFreePort())});
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1);
  EXPECT_THAT(p.Stderr(), HasSubstr("descriptors.pb"));
  EXPECT_EQ(ReadFile((data / "descriptors.pb").string()), garbage);
  EXPECT_EQ(fs::last_write_time(data / "descriptors.pb"), mtime);
}

// --- serving -------------------------------------------------------------------------------

TEST_F(CliTest, EmbeddedDefaultServesAndExitsZeroOnSigterm) {
  ChildProcess& p = NewChild();
  const std::string data = (tmp_.path() / "data").string();
  std::uint16_t port = 0, admin_port = 0;
  ASSERT_TRUE(StartServing(
      p,
      [&](std::uint16_t a, std::uint16_t b) {
        auto args = ListenArgs(a, b);
        args.insert(args.end(), {"--data-dir", data});
        return args;
      },
      &port, &admin_port));
  EXPECT_THAT(p.Stderr(), HasSubstr(data));

  // No descriptors, no backends: an unknown path is a JSON 404 on the data plane.
  HttpReply r = HttpCall(port, "GET", "/no/such/path");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_THAT(r.header("content-type"), HasSubstr("application/json"));
  EXPECT_NO_THROW((void)r.json()) << r.body;
  // And the admin API is on the admin port only.
  EXPECT_EQ(HttpCall(port, "GET", "/admin/healthz").status, 404);
  EXPECT_EQ(HttpCall(admin_port, "GET", "/admin/descriptors").json()["files"], json::array());

  TerminateAndExpectCleanExit(p);
  EXPECT_TRUE(ConnectRefused(port));
  EXPECT_TRUE(ConnectRefused(admin_port));
}

TEST_F(CliTest, SigintAlsoExitsZero) {
  ChildProcess& p = NewChild();
  const std::string data = (tmp_.path() / "data").string();
  std::uint16_t port = 0, admin_port = 0;
  ASSERT_TRUE(StartServing(
      p,
      [&](std::uint16_t a, std::uint16_t b) {
        auto args = ListenArgs(a, b);
        args.insert(args.end(), {"--data-dir=" + data});
        return args;
      },
      &port, &admin_port));
  p.Signal(SIGINT);
  std::optional<int> code = p.Wait(5s);
  ASSERT_TRUE(code.has_value()) << p.Stderr();
  EXPECT_EQ(*code, 0) << p.Stderr();
}

TEST_F(CliTest, DefaultDataDirIsPorticoDataInTheWorkingDirectoryAndSurvivesRestart) {
  const fs::path cwd = tmp_.path() / "cwd";
  fs::create_directories(cwd);
  std::uint16_t port = 0, admin_port = 0;
  {
    ChildProcess& p = NewChild();
    ASSERT_TRUE(StartServing(p, ListenArgs, &port, &admin_port, cwd.string()));
    HttpReply up = HttpCall(admin_port, "POST", "/admin/descriptors?name=hello.proto",
                            kHelloProto, {{"Content-Type", "text/plain"}});
    ASSERT_EQ(up.status, 200) << up.body;
    EXPECT_EQ(up.json()["services"], json::array({"hello.v1.Hello"}));
    EXPECT_TRUE(fs::is_directory(cwd / "portico-data"));
    EXPECT_FALSE(fs::is_empty(cwd / "portico-data"));
    TerminateAndExpectCleanExit(p);
    if (HasFatalFailure()) return;
  }
  ChildProcess& again = NewChild();
  ASSERT_TRUE(StartServing(again, ListenArgs, &port, &admin_port, cwd.string()));
  HttpReply list = HttpCall(admin_port, "GET", "/admin/descriptors");
  ASSERT_EQ(list.status, 200) << list.body;
  json files = list.json()["files"];
  ASSERT_EQ(files.size(), 1u) << list.body;
  EXPECT_EQ(files[0]["name"], "hello.proto");
  // Its route is back too (no backend: 503, not 404).
  EXPECT_EQ(HttpCall(port, "GET", "/v1/say/x").status, 503);
  TerminateAndExpectCleanExit(again);
}

TEST_F(CliTest, SigtermDrainsInFlightRequestThenExitsZero) {
  TestBackend backend;
  backend.Start();
  const fs::path config = tmp_.path() / "portico.yaml";
  const std::string proto_dir = PORTICO_TEST_PROTO_DIR;
  auto make_args = [&](std::uint16_t port, std::uint16_t admin_port) {
    std::ofstream out(config, std::ios::trunc);
    out << "listen: " << Addr(port) << "\n"
        << "admin: {listen: " << Addr(admin_port) << "}\n"
        << "store: {dir: \"" << (tmp_.path() / "data").string() << "\"}\n"
        << "descriptors:\n"
        << "  - path: \"" << proto_dir << "/portico/test/v1/test.proto\"\n"
        << "    import_paths: [\"" << proto_dir << "\"]\n"
        << "backends:\n"
        << "  - name: test\n"
        << "    endpoints: [" << backend.address() << "]\n"
        << "    services: [portico.test.v1.TestService]\n"
        << "    timeout: 10s\n";
    return std::vector<std::string>{"--config", config.string()};
  };
  ChildProcess& p = NewChild();
  std::uint16_t port = 0, admin_port = 0;
  ASSERT_TRUE(StartServing(p, make_args, &port, &admin_port));

  // Sanity: the route works before we test draining it.
  HttpReply warm = HttpCall(port, "POST", "/v1/sleep", R"({"ms":1})");
  ASSERT_EQ(warm.status, 200) << warm.body << "\nstderr:\n" << p.Stderr();

  HttpReply slow;
  std::chrono::steady_clock::time_point replied;
  const auto sent = std::chrono::steady_clock::now();
  // Bounded: should portico hang, the child's watchdog kills it, which ends this call.
  std::thread caller([&] {
    slow = HttpCall(port, "POST", "/v1/sleep", R"({"ms":800})");
    replied = std::chrono::steady_clock::now();
  });
  // SIGTERM ~200 ms in, once the request is being served (the in-flight gauge says so; on a
  // loaded machine the request may take a while to get there).
  p.WaitFor(
      [&] {
        HttpReply m = HttpCall(admin_port, "GET", "/metrics");
        return m.body.find("\nportico_http_requests_in_flight 1") != std::string::npos;
      },
      2s);
  std::this_thread::sleep_until(sent + 200ms);
  p.Signal(SIGTERM);

  // While the request is in flight, new connections are refused (the acceptor is closed).
  bool refused_while_draining = false;
  const auto deadline = std::chrono::steady_clock::now() + 400ms;
  while (std::chrono::steady_clock::now() < deadline) {
    const bool refused = ConnectRefused(port, 200ms);
    if (refused && p.Running()) {
      refused_while_draining = true;
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  caller.join();
  std::optional<int> code = p.Wait(5s);
  const auto exited = std::chrono::steady_clock::now();

  EXPECT_TRUE(refused_while_draining) << "a new connection was not refused after SIGTERM";
  EXPECT_EQ(slow.status, 200) << slow.body << "\nstderr:\n" << p.Stderr();
  if (slow.status == 200) {
    EXPECT_EQ(slow.json().value("cancelled", false), false) << slow.body;
  }
  EXPECT_GE(replied - sent, 750ms);
  ASSERT_TRUE(code.has_value()) << "still running 5 s after the drained request; stderr:\n"
                                << p.Stderr();
  EXPECT_EQ(*code, 0) << p.Stderr();
  // Exits once the drained request is done, not after the whole drain timeout (10 s).
  EXPECT_LT(exited - replied, 3s);
  EXPECT_THAT(p.Stderr(), HasSubstr("draining"));
  EXPECT_EQ(backend.sleep_cancellations(), 0);
}

}  // namespace
}  // namespace portico::testing
