#include "model/peer_address.hpp"

#include <cctype>

namespace dlt {
namespace {

bool is_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253)
    return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '.') {
      if (label == 0)
        return false;
      label = 0;
      continue;
    }
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-'
              || c == '_';
    if (!ok || ++label > 63)
      return false;
  }
  return h.front() != '-' && h.back() != '-';
}

bool is_ipv6(std::string_view h) {
  if (h.size() < 2)
    return false;
  for (char c : h)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
      return false;
  return h.find(':') != std::string_view::npos;
}

} // namespace

namespace {

/// Removes `scheme` from the front of `in` (any case); whether it was there.
bool strip_scheme(std::string_view& in, std::string_view scheme) {
  if (in.size() < scheme.size())
    return false;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(in[i])) != scheme[i])
      return false;
  in.remove_prefix(scheme.size());
  return true;
}

} // namespace

std::optional<peer_address> parse_peer_address(std::string_view in) {
  peer_address out;
  if (!strip_scheme(in, "http://"))
    out.native = strip_scheme(in, "caf://");
  if (in.find("://") != std::string_view::npos)
    return std::nullopt; // another scheme (https, ...)
  if (!in.empty() && in.back() == '/')
    in.remove_suffix(1);
  if (in.empty() || in.find_first_of("/@?# \t") != std::string_view::npos)
    return std::nullopt;

  std::string_view host = in;
  std::string_view port;
  if (in.front() == '[') {
    auto close = in.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = in.substr(1, close - 1);
    auto rest = in.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      port = rest.substr(1);
      if (port.empty())
        return std::nullopt;
    }
    if (!is_ipv6(host))
      return std::nullopt;
  } else {
    auto colon = in.rfind(':');
    if (colon != std::string_view::npos) {
      host = in.substr(0, colon);
      port = in.substr(colon + 1);
      if (port.empty())
        return std::nullopt;
    }
    if (!is_hostname(host))
      return std::nullopt;
  }
  if (!port.empty()) {
    if (port.size() > 5)
      return std::nullopt;
    unsigned value = 0;
    for (char c : port) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535)
      return std::nullopt;
    out.port = static_cast<std::uint16_t>(value);
  }
  if (out.native && port.empty())
    return std::nullopt; // CAF has no default port
  for (char c : host)
    out.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool v6 = out.host.find(':') != std::string::npos;
  out.text = out.native ? "caf://" : "";
  out.text += v6 ? "[" + out.host + "]" : out.host;
  if (!port.empty())
    out.text += ":" + std::to_string(out.port);
  return out;
}

} // namespace dlt
