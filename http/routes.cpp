#include "http/routes.hpp"

#include <algorithm>
#include <cctype>

namespace dlt {
namespace {

const std::vector<route_info> table = {
  {route_id::chain, "chain", "/chain", "GET", body_kind::ignored, true},
  {route_id::blocks, "blocks", "/blocks", "GET", body_kind::ignored, true},
  {route_id::events, "events", "/events", "GET", body_kind::ignored, true},
  {route_id::metrics, "metrics", "/metrics", "GET", body_kind::ignored, false},
  {route_id::explorer, "explorer", "/", "GET", body_kind::ignored, false},
  {route_id::explorer, "explorer", "/static/", "GET", body_kind::ignored, false},
  {route_id::status, "status", "/status", "GET", body_kind::ignored, true},
  {route_id::pending, "pending", "/transactions/pending", "GET",
   body_kind::ignored, true},
  {route_id::peer_chain, "peer_chain", "/nodes/peer-chain", "GET",
   body_kind::ignored, true},
  {route_id::transactions_new, "transactions_new", "/transactions/new", "POST",
   body_kind::transaction, false},
  {route_id::mine, "mine", "/mine", "POST", body_kind::none, false},
  {route_id::register_nodes, "register", "/nodes/register", "POST",
   body_kind::nodes, false},
  {route_id::unregister_nodes, "unregister", "/nodes/unregister", "POST",
   body_kind::nodes, false},
  {route_id::consensus, "consensus", "/nodes/consensus", "POST",
   body_kind::none, false},
  {route_id::evil, "evil", "/action/evil", "POST", body_kind::none, false},
};

const route_info unknown_route{route_id::unknown, "unknown", "", "",
                               body_kind::ignored, false};

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

std::string decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0
               && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// scheme://host[:port], lower case, default ports dropped; empty when
/// `origin` is not of that form.
std::string normalize_origin(std::string_view origin) {
  std::string s(origin);
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  while (!s.empty() && s.back() == '/')
    s.pop_back();
  auto sep = s.find("://");
  if (sep == std::string::npos || sep == 0 || sep + 3 >= s.size())
    return {};
  auto scheme = s.substr(0, sep);
  auto authority = s.substr(sep + 3);
  if (authority.find_first_of("/?#@ ") != std::string::npos)
    return {};
  auto strip = [&](const char* port) {
    std::string p = port;
    if (authority.size() > p.size()
        && authority.compare(authority.size() - p.size(), p.size(), p) == 0)
      authority.erase(authority.size() - p.size());
  };
  if (scheme == "http")
    strip(":80");
  else if (scheme == "https")
    strip(":443");
  return scheme + "://" + authority;
}

} // namespace

const route_info& find_route(std::string_view path) {
  for (const auto& r : table) {
    std::string_view p = r.path;
    if (p.back() == '/' && p.size() > 1 ? path.substr(0, p.size()) == p
                                        : path == p)
      return r;
  }
  return unknown_route;
}

const std::vector<route_info>& all_routes() {
  return table;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    auto eq = item.find('=');
    if (!item.empty())
      out[decode(item.substr(0, eq))] =
        eq == std::string_view::npos ? std::string{} : decode(item.substr(eq + 1));
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

std::optional<std::uint64_t>
query_number(const std::map<std::string, std::string>& query, const char* name,
             std::uint64_t fallback, std::uint64_t min, std::uint64_t max,
             std::string& error) {
  auto it = query.find(name);
  if (it == query.end())
    return fallback;
  const auto& v = it->second;
  if (v.empty() || v.size() > 19
      || v.find_first_not_of("0123456789") != std::string::npos) {
    error = std::string{"\""} + name + "\" must be a whole number";
    return std::nullopt;
  }
  auto n = std::stoull(v);
  if (n < min || n > max) {
    error = std::string{"\""} + name + "\" must be between "
            + std::to_string(min) + " and " + std::to_string(max);
    return std::nullopt;
  }
  return n;
}

bool origin_allowed(std::string_view origin, std::string_view host,
                    const std::vector<std::string>& allowed) {
  auto o = normalize_origin(origin);
  if (o.empty())
    return false; // "null", garbage
  if (o == normalize_origin("http://" + std::string{host}))
    return true;
  for (const auto& a : allowed)
    if (o == normalize_origin(a))
      return true;
  return false;
}

} // namespace dlt
