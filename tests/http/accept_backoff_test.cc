// HttpServer when accept fails (issue 8 fault 10): out of file descriptors, the listener
// retries after a growing pause instead of spinning, and serves the waiting clients once
// descriptors are free again. The shortage is real: the test fills this process's table.
#include <sys/resource.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/http/raw_connection.h"
#include "tests/http/server_fixture.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class AcceptBackoffTest : public ServerFixture {};

TEST_F(AcceptBackoffTest, OutOfFileDescriptorsBacksOffAndRecovers) {
  StartServer();
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  rlimit low = original;
  low.rlim_cur = std::min<rlim_t>(original.rlim_cur, 1024);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> filler;
  for (int fd = dup(0); fd >= 0; fd = dup(0)) filler.push_back(fd);
  ASSERT_GE(filler.size(), 2u);
  // Two descriptors for the client; the server has none left for the connection it accepts.
  for (int i = 0; i < 2; ++i) {
    close(filler.back());
    filler.pop_back();
  }
  const std::size_t errors_before = server_->accept_errors();
  RawConnection client(port());
  ASSERT_TRUE(client.connected());  // the kernel completes the handshake: it waits in the backlog
  ASSERT_TRUE(client.Send("GET /waited HTTP/1.1\r\nHost: a\r\n\r\n"));
  std::this_thread::sleep_for(600ms);
  const std::size_t errors = server_->accept_errors() - errors_before;
  for (int fd : filler) close(fd);
  setrlimit(RLIMIT_NOFILE, &original);
  // 10 + 20 + 40 + 80 + 160 + 320 ms: about six tries in 600 ms, not thousands.
  EXPECT_GE(errors, 1u);
  EXPECT_LE(errors, 10u);
  // Descriptors are free again: the waiting client is served within the longest pause.
  EXPECT_THAT(client.Read(3s, "body="), HasSubstr("GET /waited"));
}

}  // namespace
}  // namespace portico::testing
