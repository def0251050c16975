// chat_cli: a command-line client of the chat example over Portico's WebSocket bridge
// (DESIGN.md section 6, single-call protocol).
//
//   chat_cli [--url ws://127.0.0.1:8080/chat.v1.Chat/Join] --room lobby --user bob
//
// Sends {"room": ..., "user": ...} once connected, then {"text": line} for every line read from
// stdin, and prints the room's events ("[room] user: text", "* user joined", "* user left").
// End of input sends an empty frame (half-close: the server says goodbye and ends the call) and
// waits for the close. Exit status: 0 when the call ended OK (close code 1000), 1 otherwise.
//
// websocketpp 0.8.2 builds as C++17 only (its constructors are template-ids, which C++20
// rejects), and it still names asio's deprecated io_service, so this file is compiled as C++17
// without the project-wide BOOST_ASIO_NO_DEPRECATED (see CMakeLists.txt).
#undef BOOST_ASIO_NO_DEPRECATED

#include <utility>  // before asio (see DESIGN.md section 1)

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace {

using Client = websocketpp::client<websocketpp::config::asio_client>;
using Json = nlohmann::json;

// After the half-close, how long the server gets to end the call before we close ourselves.
constexpr auto kCloseWait = std::chrono::seconds(10);

struct Flags {
  std::string url = "ws://127.0.0.1:8080/chat.v1.Chat/Join";
  std::string room;
  std::string user;
};

void PrintUsage(std::FILE* out) {
  std::fputs(
      "usage: chat_cli [--url ws://127.0.0.1:8080/chat.v1.Chat/Join] --room ROOM --user NAME\n"
      "Lines read from stdin are sent to the room; end of input leaves it.\n",
      out);
}

// Accepts "--flag value" and "--flag=value". Returns false (after printing why) on a bad argument.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout);
      std::exit(0);
    }
    std::string value;
    const auto eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "chat_cli: %s needs a value\n", arg.c_str());
      return false;
    }
    if (arg == "--url") {
      flags->url = value;
    } else if (arg == "--room") {
      flags->room = value;
    } else if (arg == "--user") {
      flags->user = value;
    } else {
      std::fprintf(stderr, "chat_cli: unknown argument '%s'\n", arg.c_str());
      PrintUsage(stderr);
      return false;
    }
  }
  if (flags->url.rfind("ws://", 0) != 0) {
    std::fprintf(stderr, "chat_cli: --url must be a ws:// URL (no TLS), got '%s'\n",
                 flags->url.c_str());
    return false;
  }
  if (flags->room.empty() || flags->user.empty()) {
    std::fputs("chat_cli: --room and --user are required\n", stderr);
    PrintUsage(stderr);
    return false;
  }
  return true;
}

// One ChatEvent in proto3 JSON; absent fields have their default values.
void PrintEvent(const std::string& payload) {
  Json event = Json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) {
    std::printf("? %s\n", payload.c_str());
    std::fflush(stdout);
    return;
  }
  const std::string room = event.value("room", "");
  const std::string user = event.value("user", "");
  const std::string text = event.value("text", "");
  // Enums come as names; accept numbers too (JOINED = 1, LEFT = 2, MESSAGE = 3).
  std::string kind;
  if (event.contains("kind") && event["kind"].is_string()) {
    kind = event["kind"].get<std::string>();
  } else if (event.contains("kind") && event["kind"].is_number_integer()) {
    const int n = event["kind"].get<int>();
    kind = n == 1 ? "JOINED" : n == 2 ? "LEFT" : n == 3 ? "MESSAGE" : "";
  }
  if (kind == "JOINED") {
    std::printf("* %s joined\n", user.c_str());
  } else if (kind == "LEFT") {
    std::printf("* %s left\n", user.c_str());
  } else {
    std::printf("[%s] %s: %s\n", room.c_str(), user.c_str(), text.c_str());
  }
  std::fflush(stdout);
}

class ChatClient {
 public:
  explicit ChatClient(Flags flags) : flags_(std::move(flags)) {
    client_.clear_access_channels(websocketpp::log::alevel::all);
    client_.clear_error_channels(websocketpp::log::elevel::all);
    client_.init_asio();
    client_.set_open_handler([this](websocketpp::connection_hdl hdl) { OnOpen(hdl); });
    client_.set_message_handler(
        [](websocketpp::connection_hdl, Client::message_ptr msg) { PrintEvent(msg->get_payload()); });
    client_.set_fail_handler([this](websocketpp::connection_hdl hdl) { OnFail(hdl); });
    client_.set_close_handler([this](websocketpp::connection_hdl hdl) { OnClose(hdl); });
  }

  // Returns the process exit status.
  int Run() {
    websocketpp::lib::error_code ec;
    Client::connection_ptr con = client_.get_connection(flags_.url, ec);
    if (ec) {
      std::fprintf(stderr, "chat_cli: bad --url '%s': %s\n", flags_.url.c_str(), ec.message().c_str());
      return 2;
    }
    hdl_ = con->get_handle();
    client_.connect(con);
    std::thread io([this] { client_.run(); });
    ReadStdin();
    io.join();
    return exit_status_.load();
  }

 private:
  void OnOpen(websocketpp::connection_hdl hdl) {
    const Json join = {{"room", flags_.room}, {"user", flags_.user}};
    websocketpp::lib::error_code ec;
    client_.send(hdl, join.dump(), websocketpp::frame::opcode::text, ec);
    if (ec) std::fprintf(stderr, "chat_cli: send failed: %s\n", ec.message().c_str());
    open_ = true;
  }

  void OnFail(websocketpp::connection_hdl hdl) {
    Client::connection_ptr con = client_.get_con_from_hdl(hdl);
    // The transport's error says why (connection refused, host not found, ...), when it has one.
    const auto transport_ec = con->get_transport_ec();
    std::fprintf(stderr, "chat_cli: cannot connect to %s: %s", flags_.url.c_str(),
                 (transport_ec ? transport_ec : con->get_ec()).message().c_str());
    if (con->get_response_code() != websocketpp::http::status_code::uninitialized) {
      std::fprintf(stderr, " (HTTP %d)", static_cast<int>(con->get_response_code()));
    }
    std::fputs("\n", stderr);
    exit_status_ = 1;
    done_ = true;
  }

  // 1000 is a call that ended OK; 4000 + N is gRPC status N with its message as the reason.
  void OnClose(websocketpp::connection_hdl hdl) {
    Client::connection_ptr con = client_.get_con_from_hdl(hdl);
    const int code = static_cast<int>(con->get_remote_close_code());
    const std::string reason = con->get_remote_close_reason();
    if (code == websocketpp::close::status::normal) {
      std::fputs("* call ended\n", stderr);
      exit_status_ = 0;
    } else if (code >= 4000 && code < 4100) {
      std::fprintf(stderr, "chat_cli: call failed: gRPC status %d: %s\n", code - 4000,
                   reason.c_str());
      exit_status_ = 1;
    } else {
      std::fprintf(stderr, "chat_cli: connection closed (code %d%s%s)\n", code,
                   reason.empty() ? "" : ": ", reason.c_str());
      exit_status_ = 1;
    }
    done_ = true;
  }

  // Runs `fn` on the io thread, where every websocketpp call of this client happens.
  template <class Fn>
  void OnIoThread(Fn fn) {
    boost::asio::post(client_.get_io_service(), std::move(fn));
  }

  void SendText(std::string payload) {
    OnIoThread([this, payload = std::move(payload)] {
      websocketpp::lib::error_code ec;
      client_.send(hdl_, payload, websocketpp::frame::opcode::text, ec);
      if (ec) std::fprintf(stderr, "chat_cli: send failed: %s\n", ec.message().c_str());
    });
  }

  // Reads stdin line by line until EOF or the connection ends; the poll timeout lets it notice
  // a connection that the server closed while the user was not typing.
  void ReadStdin() {
    std::string buffer;
    bool eof = false;
    while (!done_ && !eof) {
      pollfd pfd = {STDIN_FILENO, POLLIN, 0};
      const int ready = poll(&pfd, 1, 200);
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof = true;
      } else {
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      std::size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos || (eof && !buffer.empty())) {
        std::string line = newline == std::string::npos ? buffer : buffer.substr(0, newline);
        buffer.erase(0, newline == std::string::npos ? buffer.size() : newline + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;  // an empty frame would half-close
        WaitForOpen();
        if (!done_) SendText(Json{{"text", line}}.dump());
      }
    }
    if (done_) return;
    // End of input: half-close, then give the server time to end the call.
    WaitForOpen();
    if (done_) return;
    SendText("");
    const auto deadline = std::chrono::steady_clock::now() + kCloseWait;
    while (!done_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!done_) {
      std::fputs("chat_cli: the server did not end the call; closing\n", stderr);
      OnIoThread([this] {
        websocketpp::lib::error_code ec;
        client_.close(hdl_, websocketpp::close::status::normal, "", ec);
      });
    }
  }

  // Lines typed before the handshake completes wait for it (they would be lost otherwise).
  void WaitForOpen() {
    while (!open_ && !done_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  const Flags flags_;
  Client client_;
  websocketpp::connection_hdl hdl_;
  std::atomic<bool> open_{false};
  std::atomic<bool> done_{false};
  std::atomic<int> exit_status_{1};
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;
  ChatClient client(std::move(flags));
  return client.Run();
}
