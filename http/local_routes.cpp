#include "http/local_routes.hpp"

#include "model/canonical_json.hpp"

namespace dlt {
namespace {

/// Most blocks one GET /blocks answers.
constexpr std::uint64_t max_blocks_per_answer = 1000;

rest_response chain_answer(const chain_view& view) {
  rest_response res;
  res.prefix = "{\"chain\": ";
  res.chain = view.blocks;
  res.suffix = std::string{", \"is_valid\": "} + (view.valid ? "true" : "false")
               + "}";
  return res;
}

rest_response blocks_answer(const rest_request& req, const chain_view& view) {
  std::string error;
  std::uint64_t first = 1, count = 0;
  if (req.query.count("last")) {
    if (req.query.count("from"))
      return error_response(400, "give either \"from\" or \"last\"");
    auto last = query_number(req.query, "last", 0, 1, max_blocks_per_answer, error);
    if (!last)
      return error_response(400, error);
    count = std::min(*last, view.height);
    first = view.height - count + 1;
  } else {
    auto from = query_number(req.query, "from", 1, 1, UINT64_MAX >> 1, error);
    auto n = from ? query_number(req.query, "count", 100, 0, max_blocks_per_answer, error)
                  : std::nullopt;
    if (!from || !n)
      return error_response(400, error);
    first = *from;
    count = first > view.height ? 0 : std::min(*n, view.height - first + 1);
  }
  std::string body = "{\"blocks\": [";
  for (std::uint64_t i = 0; i < count; ++i) {
    if (i > 0)
      body += ", ";
    body += view.blocks->block(first + i);
  }
  body += "], \"height\": " + std::to_string(view.height) + "}";
  return json_response(200, std::move(body));
}

} // namespace

std::optional<rest_response> answer_locally(const route_info& route,
                                            const rest_request& req,
                                            const server_wiring& wiring) {
  switch (route.id) {
    case route_id::chain:
      return chain_answer(wiring.chain->load());
    case route_id::blocks:
      return blocks_answer(req, wiring.chain->load());
    case route_id::metrics: {
      if (!wiring.metrics)
        return error_response(404, "Metrics are turned off (--metrics false)");
      auto res = json_response(200, wiring.metrics());
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return res;
    }
    case route_id::explorer: {
      const static_asset* asset =
        wiring.assets ? wiring.assets(req.path) : nullptr;
      if (!asset)
        return error_response(404, "Not found: " + req.path);
      rest_response res;
      res.content_type = std::string{asset->content_type};
      res.headers.emplace_back("ETag", std::string{asset->etag});
      res.headers.emplace_back("Cache-Control", "no-cache");
      res.headers.emplace_back("X-Content-Type-Options", "nosniff");
      // The page reads other nodes (connect-src http:), nothing else leaves
      // it, and no other site may frame it (a framed page could be tricked
      // into clicking "evil": its POST would come from our own origin).
      res.headers.emplace_back(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self'; connect-src 'self' http: https:; object-src 'none'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
      res.headers.emplace_back("X-Frame-Options", "DENY");
      if (!req.if_none_match.empty() && req.if_none_match == asset->etag) {
        res.status = 304;
        return res;
      }
      res.prefix = std::string{asset->body};
      return res;
    }
    default:
      return std::nullopt;
  }
}

rest_response options_response(const route_info& route) {
  rest_response res;
  res.status = 204;
  bool get_like = std::string_view{route.method} == "GET";
  res.allow = get_like ? "GET, HEAD, OPTIONS"
                       : std::string{route.method} + ", OPTIONS";
  if (route.cors) {
    res.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    res.headers.emplace_back("Access-Control-Allow-Headers",
                             "Last-Event-ID, Cache-Control, Accept");
    res.headers.emplace_back("Access-Control-Max-Age", "600");
  }
  return res;
}

} // namespace dlt
