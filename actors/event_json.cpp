#include "actors/event_json.hpp"

#include <cstdio>

#include "model/canonical_json.hpp"

namespace dlt {
namespace {

void add_key(std::string& out, const char* key) {
  if (out.size() > 1)
    out += ", ";
  out += '"';
  out += key;
  out += "\": ";
}

void add(std::string& out, const char* key, std::uint64_t n) {
  add_key(out, key);
  out += std::to_string(n);
}

void add(std::string& out, const char* key, std::string_view text) {
  add_key(out, key);
  append_python_string(out, text);
}

void add_bool(std::string& out, const char* key, bool b) {
  add_key(out, key);
  out += b ? "true" : "false";
}

void add_raw(std::string& out, const char* key, std::string_view json) {
  add_key(out, key);
  out += json;
}

/// The end of the JSON value starting at text[i] (a canonical value: no
/// whitespace to skip but the ", " separators).
std::size_t value_end(std::string_view text, std::size_t i) {
  int depth = 0;
  bool in_string = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{')
      ++depth;
    else if (c == ']' || c == '}') {
      if (depth == 0)
        return i;
      if (--depth == 0)
        return i + 1;
    } else if (c == ',' && depth == 0)
      return i;
  }
  return text.size();
}

/// The block's canonical bytes with "transactions" cut to what fits in
/// max_event_transaction_bytes, plus "truncated" and "transaction_count".
/// Keys of a canonical block are sorted and its earlier values cannot hold
/// an unescaped quote, so the first ", \"transactions\": [" is the key.
std::string block_fields(const block& b) {
  static constexpr std::string_view key = ", \"transactions\": [";
  auto at = b.json.find(key);
  if (b.json.size() <= max_event_transaction_bytes + 256
      || at == std::string::npos)
    return b.json.substr(1, b.json.size() - 2); // without the braces
  std::string out = b.json.substr(1, at + key.size() - 1);
  std::string_view list(b.json);
  std::size_t i = at + key.size(), kept_bytes = 0, count = 0, kept = 0;
  bool full = false;
  while (i < list.size() && list[i] != ']') {
    auto end = value_end(list, i);
    if (!full && kept_bytes + (end - i) <= max_event_transaction_bytes) {
      if (kept > 0)
        out += ", ";
      out.append(list.substr(i, end - i));
      kept_bytes += end - i;
      ++kept;
    } else {
      full = true;
    }
    ++count;
    i = end;
    if (i < list.size() && list[i] == ',')
      i += 2;
  }
  out += "], \"truncated\": true, \"transaction_count\": ";
  out += std::to_string(count);
  return out;
}

std::string render(const block_appended& e, const node_event& ev) {
  std::string out = "{";
  add(out, "hash", e.block->hash);
  add(out, "height", ev.height);
  add(out, "origin", e.origin);
  add(out, "tip", ev.tip);
  out += ", ";
  out += block_fields(*e.block);
  return out + "}";
}

std::string render(const chain_replaced& e, const node_event& ev) {
  std::string out = "{";
  add(out, "added", e.added);
  add(out, "dropped", e.dropped);
  add(out, "fork_index", e.fork_index);
  add(out, "height", ev.height);
  add(out, "peer", e.peer);
  add(out, "tip", ev.tip);
  return out + "}";
}

std::string render(const block_popped& e, const node_event& ev) {
  std::string out = "{";
  add(out, "hash", e.block->hash);
  add(out, "height", ev.height);
  add(out, "index", e.block->index);
  add(out, "tip", ev.tip);
  return out + "}";
}

std::string render(const mempool_changed& e, const node_event&) {
  std::string out = "{";
  add(out, "added", e.added);
  add(out, "mined", e.mined);
  add(out, "pending", e.pending);
  std::string list = "[";
  for (std::size_t i = 0; i < e.recent.size(); ++i) {
    if (i > 0)
      list += ", ";
    list += e.recent[i];
  }
  add_raw(out, "transactions", list + "]");
  return out + "}";
}

std::string render(const peers_changed& e, const node_event&) {
  std::string out = "{";
  add_raw(out, "http", json_pairs(e.http));
  add_raw(out, "links", json_pairs(e.links));
  add_raw(out, "total_nodes", json_strings(e.total_nodes));
  return out + "}";
}

std::string render(const consensus_finished& e, const node_event&) {
  std::string out = "{";
  add(out, "answered", e.answered);
  add(out, "asked", e.asked);
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", e.duration_s * 1000);
  add_raw(out, "duration_ms", ms);
  add_bool(out, "hit_deadline", e.hit_deadline);
  add_bool(out, "replaced", e.replaced);
  std::string skipped = "[";
  for (const auto& p : e.peers) {
    if (p.result == "ok")
      continue;
    if (skipped.size() > 1)
      skipped += ", ";
    std::string item = "{";
    add(item, "peer", p.peer);
    add(item, "result", p.result);
    add(item, "why", p.why);
    skipped += item + "}";
  }
  add_raw(out, "skipped", skipped + "]");
  add(out, "status", e.replaced ? "Chain replaced" : "Chain not replaced - master");
  return out + "}";
}

std::string render(const ledger_committed&, const node_event&) {
  return {};
}

} // namespace

std::string json_pairs(
  const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out = "{";
  for (const auto& [k, v] : pairs) {
    if (out.size() > 1)
      out += ", ";
    append_python_string(out, k);
    out += ": ";
    append_python_string(out, v);
  }
  return out + "}";
}

std::string json_strings(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (std::size_t i = 0; i < xs.size(); ++i) {
    if (i > 0)
      out += ", ";
    append_python_string(out, xs[i]);
  }
  return out + "]";
}

std::string event_name(const node_event& e) {
  static constexpr const char* names[] = {"block", "chain",     "pop", "tx",
                                          "peers", "consensus", ""};
  static_assert(std::variant_size_v<event_payload> == std::size(names));
  return names[e.what.index()];
}

std::string event_data(const node_event& e) {
  return std::visit([&](const auto& x) { return render(x, e); }, e.what);
}

std::string snapshot_data(const node_status& s, const std::string& version,
                          std::size_t max_blocks) {
  std::string out = "{";
  std::string blocks = "[";
  if (s.chain.blocks) {
    auto height = s.chain.height;
    auto first = height > max_blocks ? height - max_blocks + 1 : 1;
    for (auto i = first; i <= height; ++i) {
      if (i > first)
        blocks += ", ";
      blocks += s.chain.blocks->block(i);
    }
  }
  add_raw(out, "blocks", blocks + "]");
  add(out, "height", s.chain.height);
  add_raw(out, "http", json_pairs(s.peers.http));
  add_raw(out, "links", json_pairs(s.peers.links));
  add(out, "pending", s.pending);
  add_raw(out, "peers", json_strings(s.peers.total_nodes));
  add(out, "tip", s.chain.tip_hash);
  add_bool(out, "valid", s.chain.valid);
  add(out, "version", version);
  return out + "}";
}

} // namespace dlt
