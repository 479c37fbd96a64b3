// The dashboard compiled into the binary (api/web/assets.h): every file is served at its path
// with its content type and exactly the bytes of the file in the source tree.
#include "api/web/assets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace neuroplex::web {
namespace {

std::string read_source_file(const std::string& name) {
  std::ifstream in(std::string(NEUROPLEX_DASHBOARD_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << name;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

TEST(WebAssets, EachFileIsServedWithItsExactBytesAndContentType) {
  struct Case {
    const char* path;
    const char* file;
    const char* content_type;
  };
  for (const Case& c : {Case{"/", "index.html", "text/html; charset=utf-8"},
                        Case{"/index.html", "index.html", "text/html; charset=utf-8"},
                        Case{"/app.js", "app.js", "text/javascript; charset=utf-8"},
                        Case{"/style.css", "style.css", "text/css; charset=utf-8"}}) {
    SCOPED_TRACE(c.path);
    const Asset* asset = find_asset(c.path);
    ASSERT_NE(asset, nullptr);
    EXPECT_EQ(asset->content_type, c.content_type);
    const std::string expected = read_source_file(c.file);
    ASSERT_FALSE(expected.empty());
    EXPECT_EQ(asset->body.size(), expected.size());
    EXPECT_TRUE(asset->body == expected) << "embedded bytes differ from " << c.file;
  }
}

TEST(WebAssets, IndexLoadsTheScriptAndStylesheetFromTheNode) {
  const Asset* index = find_asset("/");
  ASSERT_NE(index, nullptr);
  EXPECT_NE(index->body.find("<!DOCTYPE html>"), std::string_view::npos);
  EXPECT_NE(index->body.find("src=\"/app.js\""), std::string_view::npos);
  EXPECT_NE(index->body.find("href=\"/style.css\""), std::string_view::npos);
  // Works offline: nothing is fetched from another origin.
  for (const char* path : {"/", "/app.js", "/style.css"}) {
    EXPECT_EQ(find_asset(path)->body.find("https://"), std::string_view::npos) << path;
    EXPECT_EQ(find_asset(path)->body.find("http://"), std::string_view::npos) << path;
  }
}

TEST(WebAssets, AQueryIsIgnored) {
  EXPECT_EQ(find_asset("/?x=1"), find_asset("/"));
  EXPECT_EQ(find_asset("/app.js?v=2"), find_asset("/app.js"));
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  for (const char* path : {"", "/nope", "/app.js/", "app.js", "/APP.JS", "/ws", "/metrics",
                           "/favicon.ico", "/../app.js", "/assets.cmake", "/embed.cmake"}) {
    EXPECT_EQ(find_asset(path), nullptr) << path;
  }
}

}  // namespace
}  // namespace neuroplex::web
