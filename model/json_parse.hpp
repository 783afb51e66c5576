#pragma once
// Strict JSON input: parses exactly the values whose canonical form
// (canonical_json.hpp) reproduces Python's json.dumps byte for byte, and
// refuses the rest with a reason instead of silently altering them.
//
// Refused: malformed JSON; NaN / Infinity (Python would emit them, JSON
// cannot carry them); integers outside 64 bits (nlohmann would turn them into
// doubles and change the hash); numbers that overflow a double; invalid UTF-8
// and lone surrogate escapes; nesting deeper than max_json_depth.
//
// Superseded by the readers straight from text (json_requests.hpp,
// json_blocks.hpp, json_rules.hpp: no DOM, Python's values, one depth rule);
// kept while callers move to them. Note it reads a NUL byte as the end of
// the text, as nlohmann does.

#include <cstddef>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/result.hpp"

namespace dlt {

using json = nlohmann::json;

/// Deepest nesting accepted. Python's own json.dumps fails near 1,000 levels
/// (recursion limit), so deeper values could not be hashed by a Python node.
constexpr std::size_t max_json_depth = 512;

/// Parses `text` as one JSON value under the rules above.
result<json> parse_json(std::string_view text);

} // namespace dlt
