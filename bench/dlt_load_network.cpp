#include "bench/dlt_load_network.hpp"

#include <algorithm>

#include "model/chain.hpp"
#include "model/json_blocks.hpp"
#include "model/json_parse.hpp"

namespace dlt_load {

std::optional<chain_scan> scan_chain(std::string_view body) {
  constexpr auto none = std::string_view::npos;
  int depth = 0;
  bool in_string = false, escaped = false, in_chain = false, found = false;
  std::size_t string_start = 0, element_start = none;
  std::string_view last_key; // the last string read at depth 1
  chain_scan out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"') {
        in_string = false;
        if (depth == 1)
          last_key = body.substr(string_start, i - string_start);
      }
      continue;
    }
    switch (c) {
    case '"':
      in_string = true;
      string_start = i + 1;
      break;
    case '{':
    case '[':
      if (depth == 1 && c == '[' && last_key == "chain" && !found) {
        in_chain = found = true;
      } else if (in_chain && depth == 2) {
        element_start = i;
        ++out.count;
      }
      ++depth;
      break;
    case '}':
    case ']':
      if (--depth < 0)
        return std::nullopt;
      if (in_chain && depth == 2 && element_start != none)
        out.last = body.substr(element_start, i + 1 - element_start);
      if (in_chain && depth == 1)
        in_chain = false;
      break;
    default:
      break;
    }
  }
  if (!found || depth != 0 || in_string)
    return std::nullopt;
  return out;
}

namespace {

bool tip_from_scan(const chain_scan& s, node_view& v) {
  auto b = dlt::block_from_text(s.last);
  if (!b) {
    v.error = "its last block is unreadable: " + b.error();
    return false;
  }
  v.height = s.count;
  v.tip = b->hash;
  return true;
}

/// {"height": H, "tip": "...", "pending": P, ...} (GET /status).
bool read_status(const std::string& body, node_view& v) {
  auto doc = dlt::parse_json(body);
  if (!doc || !doc->is_object())
    return false;
  auto h = doc->find("height");
  auto t = doc->find("tip");
  if (h == doc->end() || !h->is_number_unsigned() || t == doc->end()
      || !t->is_string())
    return false;
  v.height = h->get<std::uint64_t>();
  v.tip = t->get<std::string>();
  auto p = doc->find("pending");
  v.pending = p != doc->end() && p->is_number_integer() ? p->get<std::int64_t>()
                                                       : -1;
  return true;
}

} // namespace

network::network(const std::vector<std::string>& nodes)
  : views_(nodes.size()), locks_(nodes.size()),
    has_status_(new std::atomic<bool>[nodes.size()]) {
  for (const auto& n : nodes) {
    has_status_[clients_.size()] = true;
    clients_.push_back(std::make_unique<http_client>(n));
  }
}

void network::probe_if_idle(std::size_t i, ms timeout) {
  std::unique_lock<std::mutex> lock{locks_[i], std::try_to_lock};
  if (lock)
    probe_locked(i, timeout, lock, false);
}

node_view network::probe_locked(std::size_t i, ms timeout,
                                std::unique_lock<std::mutex>& lock,
                                bool keep_failures) {
  ++probes;
  node_view v;
  std::string body, error;
  {
    auto& c = *clients_[i];
    if (has_status_[i]) {
      auto st = c.request(verb::get, "/status", "", &body, timeout, true, &error);
      if (st == 200 && read_status(body, v))
        v.reachable = true;
      else if (st == 0)
        v.error = "unreachable: " + error;
      else
        has_status_[i] = false; // an older node, or another implementation
    }
    if (!v.reachable && v.error.empty()) {
      auto st = c.request(verb::get, "/chain", "", &body, timeout, true, &error);
      auto scan = st == 200 ? scan_chain(body) : std::nullopt;
      if (st == 0)
        v.error = "unreachable: " + error;
      else if (st != 200)
        v.error = "GET /chain answered " + std::to_string(st);
      else if (!scan || scan->count == 0)
        v.error = "GET /chain answered no readable chain";
      else
        v.reachable = tip_from_scan(*scan, v);
    }
  }
  lock.unlock();
  if (v.reachable || keep_failures)
    store(i, v);
  return v;
}

void network::consensus(std::size_t i, ms timeout) {
  ++consensus_calls;
  std::string body, error;
  unsigned st;
  timer t{consensus_us};
  {
    std::lock_guard<std::mutex> guard{locks_[i]};
    st = clients_[i]->request(verb::post, "/nodes/consensus", "{}", &body,
                              timeout, true, &error);
  }
  auto v = view(i);
  v.pending = -1; // an adopted chain gives orphaned transactions back
  auto scan = st == 200 ? scan_chain(body) : std::nullopt;
  if (scan && scan->count > 0 && tip_from_scan(*scan, v)) {
    v.reachable = true;
    v.error.clear();
  } else if (st == 0) {
    v.reachable = false;
    v.error = "unreachable: " + error;
  }
  store(i, v);
}

mined network::mine(std::size_t i, ms timeout) {
  ++mines;
  mined m;
  std::string body;
  unsigned st;
  timer t{mine_us};
  {
    std::lock_guard<std::mutex> guard{locks_[i]};
    st = clients_[i]->request(verb::post, "/mine", "{}", &body, timeout, true);
  }
  auto doc = st == 200 || st == 201 ? dlt::parse_json(body)
                                    : dlt::result<dlt::json>{dlt::failure{""}};
  if (!doc || !doc->is_object() || !doc->contains("new_block"))
    return m;
  auto& nb = (*doc)["new_block"];
  m.ok = true;
  auto v = view(i);
  if (nb.is_null()) {
    v.pending = 0;
    store(i, v);
    return m;
  }
  auto b = dlt::block_from_json(nb);
  if (!b) {
    m.ok = false;
    return m;
  }
  m.block = true;
  m.hash = b->hash;
  m.previous_hash = b->previous_hash;
  m.transactions = nb["transactions"].size();
  v.height = b->index;
  v.tip = b->hash;
  if (v.pending >= 0)
    v.pending = std::max<std::int64_t>(
      0, v.pending - static_cast<std::int64_t>(m.transactions));
  store(i, v);
  return m;
}

std::vector<std::string> network::block_hashes(std::size_t i, ms timeout) {
  ++chains;
  std::string body;
  unsigned st;
  {
    std::lock_guard<std::mutex> guard{locks_[i]};
    st = clients_[i]->request(verb::get, "/chain", "", &body, timeout, true);
  }
  std::vector<std::string> out;
  auto doc = st == 200 ? dlt::parse_json(body)
                       : dlt::result<dlt::json>{dlt::failure{""}};
  if (!doc || !doc->is_object() || !doc->contains("chain"))
    return out;
  auto c = dlt::chain_from_json((*doc)["chain"]);
  if (c)
    for (const auto& b : *c)
      out.push_back(b.hash);
  return out;
}

bool network::post_transaction(std::size_t i, const std::string& data,
                               ms timeout) {
  ++transactions;
  std::lock_guard<std::mutex> guard{locks_[i]};
  return clients_[i]->request(verb::post, "/transactions/new",
                              "{\"data\": \"" + data + "\"}", nullptr,
                              timeout, true)
         == 201;
}

bool network::all_have_status() const {
  for (std::size_t i = 0; i < size(); ++i)
    if (!has_status_[i])
      return false;
  return true;
}

} // namespace dlt_load
