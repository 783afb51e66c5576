#include "http/rest.hpp"

#include "model/canonical_json.hpp"

namespace dlt {

rest_response error_response(unsigned status, std::string_view message) {
  std::string body = "{\"error\": ";
  append_python_string(body, message);
  body += '}';
  return json_response(status, std::move(body));
}

rest_response json_response(unsigned status, std::string body) {
  rest_response res;
  res.status = status;
  res.prefix = std::move(body);
  return res;
}

responder::responder(callback cb) : cb_(std::move(cb)) {
}

responder::~responder() {
  if (cb_)
    cb_(error_response(503, "The node could not answer this request"));
}

void responder::respond(rest_response res) {
  if (auto cb = std::move(cb_)) {
    cb_ = nullptr;
    cb(std::move(res));
  }
}

} // namespace dlt
