#include "http/request_body.hpp"

#include "model/block.hpp"
#include "model/canonical_json.hpp"
#include "model/json_parse.hpp"

namespace dlt {
namespace {

bool is_blank(const std::string& body) {
  return body.find_first_not_of(" \t\r\n") == std::string::npos;
}

rest_response malformed(const std::string& why) {
  return error_response(400, "Malformed JSON body: " + why);
}

/// The body as a JSON object; else the answer: `missing` (the reference's
/// message) for an empty body or one that is not an object, the parser's
/// reason for malformed JSON.
std::optional<json> object_body(const std::string& body, std::string_view missing,
                                std::optional<rest_response>& answer) {
  if (is_blank(body)) {
    answer = error_response(400, missing);
    return std::nullopt;
  }
  auto doc = parse_json(body);
  if (!doc) {
    answer = malformed(doc.error());
    return std::nullopt;
  }
  if (!doc->is_object()) {
    answer = error_response(400, missing);
    return std::nullopt;
  }
  return std::move(*doc);
}

std::optional<rest_response> read_transaction(const std::string& body,
                                              rest_request& req) {
  std::optional<rest_response> answer;
  auto doc = object_body(body, "Missing values", answer);
  if (!doc)
    return answer;
  if (!doc->contains("data"))
    return error_response(400, "Missing values");
  req.tx = transaction_json((*doc)["data"]);
  return std::nullopt;
}

std::optional<rest_response> read_nodes(const std::string& body,
                                        rest_request& req) {
  std::optional<rest_response> answer;
  auto doc = object_body(body, "Missing list of nodes", answer);
  if (!doc)
    return answer;
  auto it = doc->find("nodes");
  if (it == doc->end() || it->is_null() || (it->is_array() && it->empty()))
    return error_response(400, "Missing list of nodes");
  if (!it->is_array())
    return error_response(400, "\"nodes\" must be a list of node addresses");
  for (const auto& node : *it) {
    if (!node.is_string())
      return error_response(
        400, "every node address must be a string, got " + canonical(node));
    req.nodes.push_back(node.get<std::string>());
  }
  return std::nullopt;
}

} // namespace

std::optional<rest_response> read_body(body_kind kind, const std::string& body,
                                       rest_request& req) {
  switch (kind) {
    case body_kind::ignored:
      return std::nullopt;
    case body_kind::none: {
      // Any JSON is fine (the notebook posts {}), anything else is not.
      if (is_blank(body))
        return std::nullopt;
      auto doc = parse_json(body);
      if (!doc)
        return malformed(doc.error());
      return std::nullopt;
    }
    case body_kind::transaction:
      return read_transaction(body, req);
    case body_kind::nodes:
      return read_nodes(body, req);
  }
  return std::nullopt;
}

} // namespace dlt
