#pragma once
// The routes the transport answers itself, from published state: no actor
// is asked, so reads cost no hop and never queue behind writes.

#include <optional>

#include "http/rest.hpp"
#include "http/routes.hpp"
#include "http/server.hpp"

namespace dlt {

/// The answer to `req` when `route` is answered locally (GET /chain,
/// /blocks, /metrics, the explorer); nothing for routes of the edge actor.
std::optional<rest_response> answer_locally(const route_info& route,
                                            const rest_request& req,
                                            const server_wiring& wiring);

/// The answer to OPTIONS (a CORS preflight, or a client asking).
rest_response options_response(const route_info& route);

} // namespace dlt
