// libFuzzer target (c): a client's bytes as the edge reads them.
//
// Boost.Beast's request parser with the node's limits (body 1 MiB, header
// 16 KiB; http/server.cpp), fed in pieces chosen by the input's first byte;
// then every request-body parser of model/json_requests.hpp on the body,
// with and without Python's values. Checked: nothing crashes or grows; what
// is accepted without Python's values is accepted alike with them; every
// accepted transaction is canonical; a body is fine for endpoints without
// input exactly when it is blank or a JSON document.

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "model/json_blocks.hpp"
#include "model/json_requests.hpp"
#include "model/json_rules.hpp"

namespace {

namespace http = boost::beast::http;

[[noreturn]] void broken(const char* what) {
  (void)what;
  __builtin_trap();
}

void check_body(const std::string& body) {
  for (bool python : {false, true}) {
    auto tx = dlt::transaction_request(body, python);
    if (tx) {
      auto again = dlt::transaction_from_text(*tx, true);
      if (!again || *again != *tx)
        broken("an accepted transaction is not canonical");
      if (tx->size() > body.size() * 6 + 16)
        broken("a transaction grew beyond what escaping explains");
    } else if (tx.error().empty()) {
      broken("a refusal without a reason");
    }
    auto nodes = dlt::register_request(body, python);
    if (!nodes && nodes.error().empty())
      broken("a refusal without a reason");
    auto problem = dlt::no_input_body_problem(body, python);
    bool document = dlt::canonicalize(body, dlt::request_rules(python))
                    || dlt::is_blank(body);
    if (static_cast<bool>(problem) == document)
      broken("no_input_body_problem disagrees with canonicalize");
    if (!python) {
      auto tx_py = dlt::transaction_request(body, true);
      if (tx && (!tx_py || *tx_py != *tx))
        broken("Python's values changed a standard transaction");
      auto nodes_py = dlt::register_request(body, true);
      if (nodes && (!nodes_py || *nodes_py != *nodes))
        broken("Python's values changed a standard node list");
      if (!problem && dlt::no_input_body_problem(body, true))
        broken("Python's values refused a standard body");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  unsigned piece = 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data) + 1;
  std::size_t n = size - 1;

  http::request_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  parser.header_limit(16 << 10);
  parser.eager(true);
  boost::beast::error_code ec;
  std::string pending;
  std::size_t at = 0;
  while (!parser.is_done()) {
    if (at < n) {
      std::size_t k = std::min<std::size_t>(piece, n - at);
      pending.append(bytes + at, k);
      at += k;
    } else if (pending.empty()) {
      parser.put_eof(ec);
      break;
    }
    auto used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == http::error::need_more) {
      ec = {};
      if (at >= n) {
        parser.put_eof(ec);
        break;
      }
      continue;
    }
    if (ec)
      break;
    if (used == 0 && at >= n) {
      parser.put_eof(ec);
      break;
    }
  }
  if (ec || !parser.is_done())
    return 0;
  check_body(parser.get().body());
  return 0;
}
