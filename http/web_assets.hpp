#pragma once
// The explorer page (GET /) and its files (GET /static/...), compiled into
// the binary by web/CMakeLists.txt: nothing to install next to the node,
// nothing fetched from elsewhere, the same bytes for the life of the process.

#include <string_view>

namespace dlt {

struct web_asset {
  /// The Content-Type header value, e.g. "text/javascript; charset=utf-8".
  std::string_view content_type;
  std::string_view body;
  /// A strong validator with its quotes, ready for the ETag header and for
  /// comparing with If-None-Match: "\"<first 20 hex digits of SHA-256>\"".
  std::string_view etag;
};

/// The asset served at `path` ("/" is the page, "/static/<file>" its files),
/// or null. Only exact matches of a fixed table: no path is normalised or
/// decoded, so "/static/../x", "/static/%2e%2e/x" or "/static/app.js?x" are
/// simply not found (the caller strips the query string first).
const web_asset* find_web_asset(std::string_view path);

} // namespace dlt
