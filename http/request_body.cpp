#include "http/request_body.hpp"

#include "model/json_requests.hpp"

namespace dlt {

std::optional<rest_response> read_body(body_kind kind, const std::string& body,
                                       bool python_values, rest_request& req) {
  switch (kind) {
    case body_kind::ignored:
      return std::nullopt;
    case body_kind::none:
      // Any JSON is fine (the notebook posts {}), anything else is not.
      if (auto problem = no_input_body_problem(body, python_values))
        return error_response(400, *problem);
      return std::nullopt;
    case body_kind::transaction: {
      auto tx = transaction_request(body, python_values);
      if (!tx)
        return error_response(400, tx.error());
      req.tx = std::move(*tx);
      return std::nullopt;
    }
    case body_kind::nodes: {
      auto nodes = register_request(body, python_values);
      if (!nodes)
        return error_response(400, nodes.error());
      req.nodes = std::move(*nodes);
      return std::nullopt;
    }
  }
  return std::nullopt;
}

} // namespace dlt
