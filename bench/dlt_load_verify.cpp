#include "bench/dlt_load_verify.hpp"

#include <algorithm>
#include <mutex>

#include "bench/dlt_load_net.hpp"
#include "bench/dlt_load_network.hpp"
#include "model/json_parse.hpp"

namespace dlt_load {

verify_report verify_chains(const std::vector<std::string>& nodes,
                            std::size_t width) {
  verify_report out;
  auto started = clock_type::now();
  std::string first;
  if (http_client{nodes[0]}.request(verb::get, "/chain", "", &first) != 200) {
    out.why = "GET /chain failed on " + nodes[0];
    return out;
  }
  auto doc = dlt::parse_json(first);
  if (!doc || !doc->is_object() || !doc->contains("chain")) {
    out.why = nodes[0] + " answered an unreadable chain";
    return out;
  }
  auto parsed = dlt::chain_from_json((*doc)["chain"]);
  if (!parsed) {
    out.why = nodes[0] + " holds an invalid chain: " + parsed.error();
    return out;
  }
  doc = dlt::json{}; // the parse tree is ten times the chain: drop it now
  const auto& blocks = *parsed;
  std::mutex mutex;
  std::vector<std::string> problems;
  parallel_for(nodes.size() - 1, width, [&](std::size_t k) {
    const auto& node = nodes[k + 1];
    std::string body;
    std::string problem;
    if (http_client{node}.request(verb::get, "/chain", "", &body) != 200) {
      problem = "GET /chain failed on " + node;
    } else if (body != first) {
      // Not byte for byte the same answer: compare the chains themselves.
      auto d = dlt::parse_json(body);
      auto c = d && d->is_object() && d->contains("chain")
                 ? dlt::chain_from_json((*d)["chain"])
                 : dlt::result<dlt::chain>{dlt::failure{"no readable chain"}};
      if (!c)
        problem = node + " holds an invalid chain: " + c.error();
      else if (c->size() != blocks.size()
               || c->back().hash != blocks.back().hash)
        problem = node + " holds another chain (height "
                  + std::to_string(c->size()) + ", tip "
                  + short_hash(c->back().hash) + ") than " + nodes[0]
                  + " (height " + std::to_string(blocks.size()) + ", tip "
                  + short_hash(blocks.back().hash) + ")";
    }
    if (!problem.empty()) {
      std::lock_guard<std::mutex> guard{mutex};
      problems.push_back(std::move(problem));
    }
  });
  out.seconds = seconds_since(started);
  if (!problems.empty()) {
    std::sort(problems.begin(), problems.end());
    out.why = problems.front();
    if (problems.size() > 1)
      out.why += " (and " + std::to_string(problems.size() - 1) + " more)";
    return out;
  }
  out.chain = std::move(*parsed);
  out.ok = true;
  return out;
}

} // namespace dlt_load
