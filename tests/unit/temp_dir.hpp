#pragma once
// A fresh directory under /tmp for one test, removed with everything in it
// when the test's scope ends.

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

#include <catch2/catch.hpp>

namespace test {

struct temp_dir {
  std::string path;
  /// `tag` names the directory (/tmp/dlt-unit-<tag>-XXXXXX).
  explicit temp_dir(const std::string& tag) {
    std::string tmpl = "/tmp/dlt-unit-" + tag + "-XXXXXX";
    REQUIRE(mkdtemp(tmpl.data()));
    path = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

} // namespace test
