#include "model/json_requests.hpp"

#include "model/json_canonicalizer.hpp"
#include "model/json_walk.hpp"

namespace dlt {
namespace {

using json_detail::canonicalizer;
using json_detail::refusal;

std::string body_error(const canonicalizer& parser, const char* depth_note) {
  switch (parser.why()) {
    case refusal::python_only:
      return "Refused JSON body: " + parser.error()
             + " (accepted with --python-json)";
    case refusal::too_deep:
      return "Refused JSON body: " + parser.error() + depth_note;
    default:
      return "Malformed JSON body: " + parser.error();
  }
}

// Reads `body` as a request document; false after setting `error`.
bool read_request(canonicalizer& parser, std::string_view body,
                  bool python_values, const char* depth_note,
                  std::string& error) {
  if (json_detail::read_document(parser, body, request_rules(python_values)))
    return true;
  error = body_error(parser, depth_note);
  return false;
}

// The value of `name` (a canonical key, quotes included) in the canonical
// object `object`, if there.
std::optional<std::string_view> member(std::string_view object,
                                       std::string_view name) {
  std::optional<std::string_view> found;
  json_detail::for_each_member(object,
                               [&](std::string_view key, std::string_view value) {
                                 if (key != name)
                                   return true;
                                 found = value;
                                 return false;
                               });
  return found;
}

} // namespace

bool is_blank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

result<std::string> transaction_request(std::string_view body,
                                        bool python_values) {
  if (is_blank(body))
    return failure{missing_values};
  canonicalizer parser;
  std::string error;
  if (!read_request(parser, body, python_values,
                    " (a transaction's data may nest 512 levels)", error))
    return failure{std::move(error)};
  auto doc = parser.output().view();
  auto data = member(doc, "\"data\"");
  if (!data)
    return failure{missing_values}; // not an object, or no "data"
  std::string tx;
  tx.reserve(data->size() + 10);
  tx += "{\"data\": ";
  tx += *data;
  tx += '}';
  return tx;
}

result<std::vector<std::string>> register_request(std::string_view body,
                                                  bool python_values) {
  if (is_blank(body))
    return failure{missing_nodes};
  canonicalizer parser;
  std::string error;
  if (!read_request(parser, body, python_values, "", error))
    return failure{std::move(error)};
  auto nodes = member(parser.output().view(), "\"nodes\"");
  if (!nodes || *nodes == "null" || *nodes == "[]")
    return failure{missing_nodes};
  if ((*nodes)[0] != '[')
    return failure{"\"nodes\" must be a list of node addresses"};
  std::vector<std::string> out;
  std::string bad;
  json_detail::for_each_element(*nodes, [&](std::string_view node) {
    if (!json_detail::is_string(node)) {
      bad = std::string(node);
      return false;
    }
    out.push_back(json_detail::string_value(node));
    return true;
  });
  if (!bad.empty())
    return failure{"every node address must be a string, got " + bad};
  return out;
}

std::optional<std::string> no_input_body_problem(std::string_view body,
                                                 bool python_values) {
  if (is_blank(body))
    return std::nullopt;
  canonicalizer parser;
  std::string error;
  // Validation only: nothing of the body is kept.
  if (json_detail::read_document(parser, body, request_rules(python_values),
                                 false))
    return std::nullopt;
  return body_error(parser, "");
}

} // namespace dlt
