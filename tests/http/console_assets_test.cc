// http/console_assets.h: the embedded console files, content types, and PORTICO_CONSOLE_DIR's
// reads from disk with the static mounts' traversal checks.
#include "http/console_assets.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "http/static_files.h"
#include "tests/support/gateway_fixture.h"

namespace portico::http {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

TEST(ConsoleAssetsTest, EmbedsEveryFileOfTheConsoleDirectory) {
  // The build embedded http/console/ as it is in the source tree, byte for byte.
  const fs::path source = fs::path(PORTICO_SOURCE_DIR) / "http" / "console";
  std::size_t count = 0;
  for (const auto& entry : fs::recursive_directory_iterator(source)) {
    if (!entry.is_regular_file()) continue;
    ++count;
    const std::string rel = fs::relative(entry.path(), source).generic_string();
    auto file = ConsoleAssets().Find(rel);
    ASSERT_TRUE(file.ok()) << rel << ": " << file.status().message();
    EXPECT_EQ(file->body, testing::ReadFile(entry.path().string())) << rel;
  }
  EXPECT_EQ(EmbeddedConsoleFiles().size(), count);
  EXPECT_GE(count, 1u);
}

TEST(ConsoleAssetsTest, TheDirectoryIsItsIndexPage) {
  auto index = ConsoleAssets().Find("");
  ASSERT_TRUE(index.ok()) << index.status().message();
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_NE(index->body.find("<html"), std::string::npos);
  auto same = ConsoleAssets().Find("index.html");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->body, index->body);
  // Percent-encoded names are decoded, as on any static mount.
  auto encoded = ConsoleAssets().Find("%69ndex.html");
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->body, index->body);
}

TEST(ConsoleAssetsTest, UnknownFilesAreNotFound) {
  EXPECT_EQ(ConsoleAssets().Find("no-such.js").status().code(), Code::kNotFound);
  EXPECT_EQ(ConsoleAssets().Find("nested/").status().code(), Code::kNotFound);
}

TEST(ConsoleAssetsTest, EmbeddedLookupsRefuseTraversal) {
  for (const char* rel : {"../index.html", "%2e%2e/index.html", "a/../index.html",
                          "a%5c..%5cindex.html", "index.html%00.js"}) {
    EXPECT_EQ(ConsoleAssets().Find(rel).status().code(), Code::kPermissionDenied) << rel;
  }
}

TEST(ConsoleAssetsTest, ContentTypesByExtension) {
  EXPECT_EQ(ContentTypeOf("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("js/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("app.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeOf("logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeOf("shot.png"), "image/png");
  EXPECT_EQ(ContentTypeOf("data.json"), "application/json");
  EXPECT_EQ(ContentTypeOf("favicon.ico"), "image/x-icon");
  EXPECT_EQ(ContentTypeOf("font.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeOf("blob"), "application/octet-stream");
}

class ConsoleDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() / "console";
    Write(root_ / "index.html", "<p>disk</p>");
    Write(root_ / "js" / "app.js", "export {};");
    Write(dir_.path() / "secret.txt", "secret");
  }
  testing::TempDir dir_;
  fs::path root_;
};

TEST_F(ConsoleDirTest, ReadsFromDiskOnEveryLookup) {
  ConsoleAssets assets(root_.string());
  auto index = assets.Find("");
  ASSERT_TRUE(index.ok()) << index.status().message();
  EXPECT_EQ(index->body, "<p>disk</p>");
  auto js = assets.Find("js/app.js");
  ASSERT_TRUE(js.ok());
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  Write(root_ / "js" / "app.js", "export const x = 1;");  // edited: the next lookup sees it
  EXPECT_EQ(assets.Find("js/app.js")->body, "export const x = 1;");
  EXPECT_EQ(assets.Find("js/").status().code(), Code::kNotFound);  // no index.html there
  EXPECT_EQ(assets.Find("missing.css").status().code(), Code::kNotFound);
}

TEST_F(ConsoleDirTest, RefusesPathsOutOfTheDirectory) {
  fs::create_symlink(dir_.path() / "secret.txt", root_ / "link.txt");
  fs::create_directory_symlink(dir_.path(), root_ / "up");
  ConsoleAssets assets(root_.string());
  for (const char* rel : {"../secret.txt", "%2e%2e/secret.txt", "%2E%2E%2Fsecret.txt",
                          "js/../../secret.txt", "..%5csecret.txt", "link.txt",
                          "up/secret.txt", "secret.txt%00"}) {
    auto file = assets.Find(rel);
    EXPECT_EQ(file.status().code(), Code::kPermissionDenied) << rel;
  }
}

TEST_F(ConsoleDirTest, FromEnvironment) {
  ::setenv("PORTICO_CONSOLE_DIR", root_.c_str(), 1);
  ConsoleAssets from_env = ConsoleAssets::FromEnvironment();
  ::unsetenv("PORTICO_CONSOLE_DIR");
  EXPECT_EQ(from_env.dir(), root_.string());
  EXPECT_EQ(from_env.Find("")->body, "<p>disk</p>");
  EXPECT_TRUE(ConsoleAssets::FromEnvironment().dir().empty());
}

}  // namespace
}  // namespace portico::http
