// The explorer's files compiled into the binary: found by exact path only,
// typed, tagged, complete (everything the page loads is there), and free of
// the constructs the page must never use on data from the network.

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "http/web_assets.hpp"

using dlt::find_web_asset;

namespace {

/// Every value of `attr="..."` in `text`.
std::vector<std::string> attribute_values(std::string_view text, std::string_view attr) {
  std::vector<std::string> out;
  const std::string needle = " " + std::string(attr) + "=\"";
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    auto begin = at + needle.size();
    auto end = text.find('"', begin);
    if (end == std::string_view::npos) break;
    out.emplace_back(text.substr(begin, end - begin));
  }
  return out;
}

/// Every module a JavaScript file imports ("./x.js" becomes "/static/x.js").
std::vector<std::string> imports(std::string_view js) {
  std::vector<std::string> out;
  const std::string_view needle = " from \"./";
  for (auto at = js.find(needle); at != std::string_view::npos; at = js.find(needle, at + 1)) {
    auto begin = at + needle.size();
    auto end = js.find('"', begin);
    if (end == std::string_view::npos) break;
    out.push_back("/static/" + std::string(js.substr(begin, end - begin)));
  }
  return out;
}

const std::vector<std::string> static_files = {
  "/static/palette.css", "/static/explorer.css", "/static/grid.css",
  "/static/favicon.svg", "/static/main.js", "/static/dom.js",
  "/static/stream.js", "/static/block_window.js", "/static/sources.js", "/static/network.js",
  "/static/chain_grid.js", "/static/fork.js", "/static/panels.js", "/static/controls.js",
  "/static/py_hash.js", "/static/theme.js",
};

} // namespace

TEST_CASE("web assets: the page at / and its files under /static/", "[web]") {
  const auto* page = find_web_asset("/");
  REQUIRE(page != nullptr);
  CHECK(page->content_type == "text/html; charset=utf-8");
  CHECK(page->body.substr(0, 15) == "<!doctype html>");
  CHECK(page->body.find("</html>") != std::string_view::npos);

  for (const auto& path : static_files) {
    INFO(path);
    const auto* asset = find_web_asset(path);
    REQUIRE(asset != nullptr);
    CHECK_FALSE(asset->body.empty());
    if (path.size() > 3 && path.compare(path.size() - 3, 3, ".js") == 0)
      CHECK(asset->content_type == "text/javascript; charset=utf-8");
    else if (path.size() > 4 && path.compare(path.size() - 4, 4, ".css") == 0)
      CHECK(asset->content_type == "text/css; charset=utf-8");
    else
      CHECK(asset->content_type == "image/svg+xml");
  }
}

TEST_CASE("web assets: strong ETags that differ between files", "[web]") {
  std::vector<std::string_view> tags{find_web_asset("/")->etag};
  for (const auto& path : static_files) tags.push_back(find_web_asset(path)->etag);
  for (std::size_t i = 0; i < tags.size(); ++i) {
    INFO(tags[i]);
    REQUIRE(tags[i].size() == 22);
    CHECK(tags[i].front() == '"');
    CHECK(tags[i].back() == '"');
    CHECK(tags[i].substr(1, 20).find_first_not_of("0123456789abcdef") == std::string_view::npos);
    for (std::size_t j = 0; j < i; ++j) CHECK(tags[i] != tags[j]);
  }
}

TEST_CASE("web assets: only exact paths of the table are found", "[web]") {
  for (std::string_view path : {
         "", "/index.html", "/static", "/static/", "/static/../index.html",
         "/static/./main.js", "/static//main.js", "//static/main.js", "/static/%2e%2e/main.js",
         "/static/main%2ejs", "/static/main.js?v=1", "/static/main.js/", "/STATIC/main.js",
         "/static/MAIN.JS", "/static/../../etc/passwd", "/web/index.html",
         "/static/index.html", "/static/embed.cmake", "/static/CMakeLists.txt", "\\static\\main.js",
         "/ ", "/?x=1", "/#"}) {
    INFO(std::string(path));
    CHECK(find_web_asset(path) == nullptr);
  }
  const char with_nul[] = "/static/main.js\0.png";
  CHECK(find_web_asset(std::string_view(with_nul, sizeof with_nul - 1)) == nullptr);
}

TEST_CASE("web assets: everything the page loads is compiled in, nothing from elsewhere", "[web]") {
  const auto page = find_web_asset("/")->body;
  auto refs = attribute_values(page, "src");
  for (auto& href : attribute_values(page, "href")) refs.push_back(href);
  REQUIRE_FALSE(refs.empty());
  for (const auto& ref : refs) {
    INFO(ref);
    if (ref.front() == '#') continue; // a link within the page
    CHECK(find_web_asset(ref) != nullptr);
  }
  for (const auto& path : static_files) {
    if (path.compare(path.size() - 3, 3, ".js") != 0) continue;
    for (const auto& module : imports(find_web_asset(path)->body)) {
      INFO(path << " imports " << module);
      CHECK(find_web_asset(module) != nullptr);
    }
  }
}

TEST_CASE("web assets: no HTML parsing of data, no code from strings", "[web]") {
  // The page shows data from any node on the network; it must never be
  // turned into markup or code (see web/static/dom.js).
  for (const auto& path : static_files) {
    const auto body = find_web_asset(path)->body;
    for (std::string_view banned : {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                                    "eval(", "new Function", "setTimeout(\"", "setInterval(\"",
                                    "createContextualFragment", "DOMParser"}) {
      INFO(path << " contains " << banned);
      CHECK(body.find(banned) == std::string_view::npos);
    }
  }
}
