#pragma once
// Minimal thread-safe logging to stderr: one write per line, so lines from
// different threads never interleave.

#include <sstream>
#include <string_view>

namespace dlt {

void write_log_line(std::string_view component, const std::string& text);

template <class... Ts>
void log(std::string_view component, const Ts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  write_log_line(component, os.str());
}

} // namespace dlt
