#pragma once
// Client request bodies, straight from text. Each failure is the text of the
// 400 answer: the reference's own messages where it has one ("Missing
// values", "Missing list of nodes"), else "Malformed JSON body: <why>" or,
// for values only Python accepts (refused unless `python_values`, the
// node's --python-json), "Refused JSON body: <why>". Bodies nest at most
// request_depth(max_data_depth) levels (json_rules.hpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/result.hpp"

namespace dlt {

/// The reference's answers to a body without what the endpoint needs.
inline constexpr const char* missing_values = "Missing values";
inline constexpr const char* missing_nodes = "Missing list of nodes";

/// POST /transactions/new: the canonical transaction {"data": v}. "Missing
/// values" when the body is blank, not an object, or has no "data"; other
/// keys are ignored (but must be valid JSON within the depth bound).
result<std::string> transaction_request(std::string_view body,
                                        bool python_values);

/// POST /nodes/register: the addresses listed in "nodes". "Missing list of
/// nodes" (blank, not an object, no "nodes", null or []), "\"nodes\" must be
/// a list of node addresses", "every node address must be a string, got
/// <canonical value>".
result<std::vector<std::string>> register_request(std::string_view body,
                                                  bool python_values);

/// Endpoints that take no input accept a blank body or any JSON value (the
/// notebook posts {}): nothing then, else the 400 text.
std::optional<std::string> no_input_body_problem(std::string_view body,
                                                 bool python_values);

/// True when `body` holds nothing but JSON whitespace.
bool is_blank(std::string_view body);

} // namespace dlt
