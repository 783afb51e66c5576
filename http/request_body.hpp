#pragma once
// Reading request bodies: runs in the transport (a session's thread, or the
// parse pool for large bodies), never in an actor, so one client's heavy
// body cannot hold up everyone else's requests.

#include <optional>
#include <string>

#include "http/rest.hpp"
#include "http/routes.hpp"

namespace dlt {

/// Reads `body` as `kind` says into `req` (tx, nodes), through the model's
/// one reader of JSON text (model/json_requests.hpp); on a malformed or
/// refused body, the 400 answer to give instead. `python_values`: accept
/// what only Python writes (--python-json).
std::optional<rest_response> read_body(body_kind kind, const std::string& body,
                                       bool python_values, rest_request& req);

} // namespace dlt
