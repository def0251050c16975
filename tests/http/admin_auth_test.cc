// http/admin_auth.h: every rule of the admin listener's admission, on requests as the session
// hands them over (the socket side is tests/integration/console_server_test.cc).
#include "http/admin_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/console_handler.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;
using ::testing::HasSubstr;

constexpr std::int64_t kNow = 1'800'000'000;
constexpr char kHost[] = "127.0.0.1:9901";
constexpr char kKey[] = "0123456789abcdef0123456789abcdef";

Request Make(bhttp::verb method, const std::string& target,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request r(method, target, 11);
  r.set(bhttp::field::host, kHost);
  for (const auto& [name, value] : headers) r.insert(name, value);
  return r;
}

class AdminAuthTest : public ::testing::Test {
 protected:
  AdminAuth auth_{"s3cret", kKey, [this] { return now_; }};
  AdminAuth open_{"", kKey, [this] { return now_; }};
  std::int64_t now_ = kNow;

  std::string Cookie() const { return "portico_console=" + auth_.SessionValue(kNow + 3600); }
  static unsigned Status(const std::optional<Response>& r) { return r ? r->result_int() : 0; }
};

TEST_F(AdminAuthTest, CrossOriginIsRefusedTokenOrNot) {
  for (const AdminAuth* auth : {&auth_, &open_}) {
    auto r = auth->Check(Make(bhttp::verb::get, "/admin/routes",
                              {{"Origin", "http://evil.example"},
                               {"Authorization", "Bearer s3cret"}}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 403u);
    EXPECT_THAT(r->body(), HasSubstr("\"code\":7"));
    // Another port of the same host is another origin (the data plane's pages).
    EXPECT_EQ(Status(auth->Check(Make(bhttp::verb::post, "/admin/backends/x",
                                      {{"Origin", "http://127.0.0.1:8080"},
                                       {"Authorization", "Bearer s3cret"}}))),
              403u);
    for (const char* site : {"cross-site", "same-site"}) {
      EXPECT_EQ(Status(auth->Check(Make(bhttp::verb::get, "/metrics",
                                        {{"Sec-Fetch-Site", site},
                                         {"Authorization", "Bearer s3cret"}}))),
                403u)
          << site;
    }
    // A cross-origin console call, login or upgrade: refused too.
    EXPECT_EQ(Status(auth->Check(Make(bhttp::verb::post, "/console/call/v1/echo",
                                      {{"Origin", "http://evil.example"}}))),
              403u);
    EXPECT_EQ(Status(auth->Check(Make(bhttp::verb::post, "/console/login",
                                      {{"Origin", "http://evil.example"}}))),
              403u);
    EXPECT_EQ(Status(auth->Check(Make(bhttp::verb::get, "/console/call/",
                                      {{"Origin", "http://evil.example"},
                                       {"Authorization", "Bearer s3cret"}}),
                                 AdminAuth::Entry::kUpgrade)),
              403u);
  }
}

TEST_F(AdminAuthTest, SameOriginIsAdmitted) {
  EXPECT_FALSE(open_.Check(Make(bhttp::verb::post, "/admin/backends/x",
                                {{"Origin", "http://127.0.0.1:9901"},
                                 {"Sec-Fetch-Site", "same-origin"}})));
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::post, "/admin/backends/x",
                                {{"Origin", "http://127.0.0.1:9901"},
                                 {"Sec-Fetch-Site", "same-origin"},
                                 {"Cookie", Cookie()}})));
  EXPECT_FALSE(open_.Check(Make(bhttp::verb::get, "/metrics", {{"Sec-Fetch-Site", "none"}})));
  // A page under Referrer-Policy: no-referrer sends "Origin: null" on its own POSTs: same
  // origin only when Sec-Fetch-Site says so.
  EXPECT_FALSE(open_.Check(Make(bhttp::verb::post, "/console/login",
                                {{"Origin", "null"}, {"Sec-Fetch-Site", "same-origin"}})));
  EXPECT_EQ(Status(open_.Check(Make(bhttp::verb::post, "/console/login", {{"Origin", "null"}}))),
            403u);
  EXPECT_EQ(Status(open_.Check(Make(bhttp::verb::post, "/admin/backends/x",
                                    {{"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}}))),
            403u);
}

TEST_F(AdminAuthTest, ConsoleFilesMayBeLinkedFromElsewhere) {
  for (auto method : {bhttp::verb::get, bhttp::verb::head}) {
    EXPECT_FALSE(open_.Check(Make(method, "/console/",
                                  {{"Origin", "http://evil.example"},
                                   {"Sec-Fetch-Site", "cross-site"}})));
  }
  // ... but with a token they still need a session: the login page.
  auto page = auth_.Check(Make(bhttp::verb::get, "/console/app.js",
                               {{"Sec-Fetch-Site", "cross-site"}}));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->result_int(), 401u);
  // Not files: a POST to a file path, a call, the API.
  EXPECT_EQ(Status(open_.Check(Make(bhttp::verb::post, "/console/index.html",
                                    {{"Sec-Fetch-Site", "cross-site"}}))),
            403u);
  EXPECT_EQ(Status(open_.Check(Make(bhttp::verb::get, "/console/call/v1/echo/x",
                                    {{"Sec-Fetch-Site", "cross-site"}}))),
            403u);
}

TEST_F(AdminAuthTest, NoTokenAdmitsEverythingSameOrigin) {
  EXPECT_FALSE(open_.Check(Make(bhttp::verb::get, "/admin/routes")));
  EXPECT_FALSE(open_.Check(Make(bhttp::verb::get, "/console/call/", {}),
                           AdminAuth::Entry::kUpgrade));
}

TEST_F(AdminAuthTest, BearerToken) {
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes",
                                {{"Authorization", "Bearer s3cret"}})));
  for (const char* wrong : {"Bearer wrong", "Bearer s3cre", "Bearer s3cretx", "bearer s3cret",
                            "s3cret", "Basic czNjcmV0", ""}) {
    auto r = auth_.Check(Make(bhttp::verb::get, "/admin/routes", {{"Authorization", wrong}}));
    ASSERT_TRUE(r) << wrong;
    EXPECT_EQ(r->result_int(), 401u) << wrong;
    EXPECT_EQ(r->at(bhttp::field::www_authenticate), "Bearer");
    EXPECT_THAT(r->body(), HasSubstr("\"code\":16"));
  }
  EXPECT_EQ(Status(auth_.Check(Make(bhttp::verb::get, "/admin/healthz"))), 401u);
  EXPECT_EQ(Status(auth_.Check(Make(bhttp::verb::get, "/metrics"))), 401u);
  // A bearer opens a WebSocket without any Origin (not a browser).
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/console/call/",
                                {{"Authorization", "Bearer s3cret"}}),
                           AdminAuth::Entry::kUpgrade));
}

TEST_F(AdminAuthTest, SessionCookie) {
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes", {{"Cookie", Cookie()}})));
  // Among other cookies, in any of several Cookie fields, quoted.
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes",
                                {{"Cookie", "a=1; " + Cookie() + "; b=2"}})));
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes",
                                {{"Cookie", "a=1"}, {"Cookie", Cookie()}})));
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes",
                                {{"Cookie", "portico_console=\"" +
                                                auth_.SessionValue(kNow + 5) + "\""}})));
  // One forged cookie of the name next to a good one (another port's page may set one).
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes",
                                {{"Cookie", "portico_console=1.00; " + Cookie()}})));
}

TEST_F(AdminAuthTest, ExpiredForgedTamperedAndGarbageCookiesAreRefused) {
  const std::string good = auth_.SessionValue(kNow + 3600);
  const std::string expiry = good.substr(0, good.find('.'));
  const std::string mac = good.substr(good.find('.') + 1);
  AdminAuth other{"s3cret", "another key of thirty-two bytes!", [] { return kNow; }};
  std::string flipped = good;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  const std::vector<std::string> bad = {
      auth_.SessionValue(kNow),      // expires now
      auth_.SessionValue(kNow - 1),  // expired
      other.SessionValue(kNow + 3600),                      // another process's key
      std::to_string(kNow + 7200) + "." + mac,              // expiry moved
      "0" + good,                                           // same number, other text
      flipped,                                              // MAC changed
      expiry + "." + std::string(64, '0'),
      expiry + ".",
      "." + mac,
      expiry,
      good + "0",
      good.substr(0, good.size() - 1),
      "-1." + mac,
      "99999999999999999999999999." + mac,
      "",
      std::string("\0\xff\x01", 3),
      "s3cret",
  };
  for (const std::string& value : bad) {
    EXPECT_FALSE(auth_.ValidSession(value)) << value;
    EXPECT_EQ(Status(auth_.Check(Make(bhttp::verb::get, "/admin/routes",
                                      {{"Cookie", "portico_console=" + value}}))),
              401u)
        << value;
  }
  EXPECT_TRUE(auth_.ValidSession(good));
  now_ = kNow + 3600;  // time passes: the same cookie expires
  EXPECT_FALSE(auth_.ValidSession(good));
}

TEST_F(AdminAuthTest, UnauthenticatedConsolePagesGetTheLoginForm) {
  for (auto method : {bhttp::verb::get, bhttp::verb::head}) {
    auto r = auth_.Check(Make(method, "/console/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 401u);
    EXPECT_EQ(r->at(bhttp::field::content_type), "text/html; charset=utf-8");
    EXPECT_THAT(r->body(), HasSubstr("action=\"/console/login\""));
    EXPECT_THAT(std::string(r->at("Content-Security-Policy")), HasSubstr("script-src 'self'"));
  }
  // Calls and the API: the JSON 401.
  auto call = auth_.Check(Make(bhttp::verb::get, "/console/call/v1/echo/x"));
  ASSERT_TRUE(call);
  EXPECT_EQ(call->at(bhttp::field::content_type), "application/json");
  // Login and logout need no credentials.
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::post, "/console/login")));
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::post, "/console/logout")));
}

TEST_F(AdminAuthTest, WebSocketByCookieNeedsASameOriginOrigin) {
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/console/call/",
                                {{"Cookie", Cookie()}, {"Origin", "http://127.0.0.1:9901"}}),
                           AdminAuth::Entry::kUpgrade));
  EXPECT_EQ(Status(auth_.Check(Make(bhttp::verb::get, "/console/call/", {{"Cookie", Cookie()}}),
                               AdminAuth::Entry::kUpgrade)),
            403u);
  EXPECT_EQ(Status(auth_.Check(Make(bhttp::verb::get, "/console/call/",
                                    {{"Cookie", Cookie()}, {"Origin", "http://evil.example"}}),
                               AdminAuth::Entry::kUpgrade)),
            403u);
  EXPECT_EQ(Status(auth_.Check(Make(bhttp::verb::get, "/console/call/",
                                    {{"Origin", "http://127.0.0.1:9901"}}),
                               AdminAuth::Entry::kUpgrade)),
            401u);
}

TEST_F(AdminAuthTest, LoginSetsTheSessionCookie) {
  Request login = Make(bhttp::verb::post, "/console/login",
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
  login.body() = "token=s3cret";
  Response r = auth_.Login(login);
  EXPECT_EQ(r.result_int(), 303u);
  EXPECT_EQ(r.at(bhttp::field::location), "/console/");
  const std::string cookie(r.at(bhttp::field::set_cookie));
  EXPECT_EQ(cookie, "portico_console=" + auth_.SessionValue(kNow + 12 * 3600) +
                        "; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict");
  // The cookie admits.
  const std::string value = cookie.substr(0, cookie.find(';'));
  EXPECT_FALSE(auth_.Check(Make(bhttp::verb::get, "/admin/routes", {{"Cookie", value}})));
  // A token with form escapes.
  AdminAuth odd{"a b+c&d", kKey, [] { return kNow; }};
  login.body() = "other=1&token=a+b%2Bc%26d";
  EXPECT_EQ(odd.Login(login).result_int(), 303u);
  // Secure when the listener serves HTTPS.
  AdminAuth secure{"s3cret", kKey, [] { return kNow; }, /*secure_cookie=*/true};
  login.body() = "token=s3cret";
  EXPECT_THAT(std::string(secure.Login(login).at(bhttp::field::set_cookie)),
              HasSubstr("; Secure"));
}

TEST_F(AdminAuthTest, LoginWithAWrongTokenIsTheFormAgain) {
  for (const char* body : {"token=wrong", "token=", "", "tok=s3cret", "token=s3cret%00",
                           "token=S3CRET", "token=s3cre"}) {
    Request login = Make(bhttp::verb::post, "/console/login");
    login.body() = body;
    Response r = auth_.Login(login);
    EXPECT_EQ(r.result_int(), 401u) << body;
    EXPECT_THAT(r.body(), HasSubstr("not the admin token")) << body;
    EXPECT_FALSE(r.count(bhttp::field::set_cookie)) << body;
  }
}

TEST_F(AdminAuthTest, LoginWithoutATokenRedirectsAndLogoutClears) {
  Request login = Make(bhttp::verb::post, "/console/login");
  Response r = open_.Login(login);
  EXPECT_EQ(r.result_int(), 303u);
  EXPECT_FALSE(r.count(bhttp::field::set_cookie));
  Response out = auth_.Logout();
  EXPECT_EQ(out.result_int(), 303u);
  EXPECT_EQ(out.at(bhttp::field::set_cookie),
            "portico_console=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}

TEST_F(AdminAuthTest, StripsTheAdminCredentialsFromCalls) {
  Request call = Make(bhttp::verb::post, "/console/call/v1/echo",
                      {{"Authorization", "Bearer s3cret"},
                       {"Cookie", "a=1; " + Cookie() + "; b=2"},
                       {"Cookie", Cookie()}});
  auth_.StripCredentials(call);
  EXPECT_EQ(call.count(bhttp::field::authorization), 0u);
  const auto [first, last] = call.equal_range(bhttp::field::cookie);
  std::vector<std::string> cookies;
  for (auto it = first; it != last; ++it) cookies.emplace_back(it->value());
  EXPECT_EQ(cookies, std::vector<std::string>{"a=1; b=2"});
  // Another Authorization (a data-plane credential) passes.
  Request other = Make(bhttp::verb::post, "/console/call/v1/echo",
                       {{"Authorization", "Bearer data-plane-jwt"}, {"Cookie", "a=1"}});
  auth_.StripCredentials(other);
  EXPECT_EQ(other.at(bhttp::field::authorization), "Bearer data-plane-jwt");
  EXPECT_EQ(other.at(bhttp::field::cookie), "a=1");
}

TEST(AdminAuthParsingTest, CookiesAndForms) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(CookieValues("a=1; b=2;a=3", "a"), (V{"1", "3"}));
  EXPECT_EQ(CookieValues(" a = 1 ;;; =x; a", "a"), (V{"1"}));
  EXPECT_EQ(CookieValues("", "a"), V{});
  EXPECT_EQ(WithoutCookie("a=1; b=2; a=3", "a"), "b=2");
  EXPECT_EQ(WithoutCookie("a=1", "a"), "");
  EXPECT_EQ(FormField("x=1&token=a%20b+c", "token"), "a b c");
  EXPECT_EQ(FormField("x=1", "token"), std::nullopt);
}

TEST(AdminAuthKeyTest, EachProcessHasItsOwnKey) {
  AdminAuth a("t"), b("t");
  const std::int64_t later = 4'000'000'000;
  EXPECT_TRUE(a.ValidSession(a.SessionValue(later)));
  EXPECT_FALSE(b.ValidSession(a.SessionValue(later)));
}

}  // namespace
}  // namespace portico::http
