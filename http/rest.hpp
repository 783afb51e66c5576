#pragma once
// The REST edge's own types: a request as the transport hands it to the edge
// actor, the response coming back, and the one-shot channel between them.
// No Beast here: the transport (server.cpp) converts.

#include <cstdint>
#include <functional>
#include <map>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>

#include "actors/actors.hpp"
#include "http/routes.hpp"

namespace dlt {

/// A request as the transport hands it on: routed, its body already read
/// (see http/request_body.hpp), so the edge actor never parses anything.
struct rest_request {
  route_id route = route_id::unknown;
  std::string method; // "GET", "POST", ...
  std::string path;   // target without the query string
  std::map<std::string, std::string> query;
  std::string tx;                 // transactions_new: canonical {"data": v}
  std::vector<std::string> nodes; // register / unregister: the addresses
  std::string if_none_match;      // the header, for cached explorer files
};

/// A JSON response assembled from parts, so a large shared chain body goes
/// out without being copied: prefix + chain list (if any) + suffix.
struct rest_response {
  unsigned status = 200;
  std::string prefix;
  std::shared_ptr<const chain_json> chain;
  std::string suffix;
  std::string content_type = "application/json";
  std::string allow;       // Allow header for 405 answers
  std::string retry_after; // Retry-After header (seconds) for 503 answers
  std::vector<std::pair<std::string, std::string>> headers; // any others
};

/// {"error": message} with `status`.
rest_response error_response(unsigned status, std::string_view message);

/// `body` (JSON) with `status`.
rest_response json_response(unsigned status, std::string body);

/// One-shot reply channel back to an HTTP session. If it is dropped without
/// an answer (a lost message, an actor that died), its destructor answers
/// 503 so that no client ever waits forever.
class responder {
public:
  using callback = std::function<void(rest_response)>;
  explicit responder(callback cb);
  ~responder();
  responder(const responder&) = delete;
  responder& operator=(const responder&) = delete;
  void respond(rest_response res);

private:
  callback cb_;
};

using responder_ptr = std::shared_ptr<responder>;

} // namespace dlt

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::rest_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dlt::responder_ptr)
