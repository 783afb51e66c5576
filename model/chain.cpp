#include "model/chain.hpp"

#include <unordered_map>

#include "model/canonical_json.hpp"
#include "model/json_blocks.hpp"

namespace dlt {

std::optional<std::string> links_error(std::string_view previous_hash,
                                       std::uint64_t first_index,
                                       const chain& blocks) {
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const block& b = blocks[i];
    auto index = first_index + i;
    if (b.index != index)
      return "block " + std::to_string(index) + " has index "
             + std::to_string(b.index);
    std::string_view expected = i == 0 ? previous_hash : blocks[i - 1].hash.view();
    if (b.previous_hash != expected)
      return "block " + std::to_string(index)
             + " does not link to the block before it (previous_hash "
             + (index == 1 ? "of a genesis block must be \"0\")"
                           : "is not the hash of block "
                               + std::to_string(index - 1) + ")");
  }
  return std::nullopt;
}

std::optional<std::string> validation_error(const chain& blocks) {
  if (blocks.empty())
    return "the chain has no blocks";
  return links_error(genesis_previous_hash, 1, blocks);
}

result<chain> chain_from_json(const nlohmann::json& blocks) {
  if (!blocks.is_array())
    return failure{"chain is not a list"};
  chain out;
  out.reserve(blocks.size());
  for (const auto& value : blocks) {
    auto b = block_from_json(value);
    if (!b)
      return failure{"block " + std::to_string(out.size() + 1) + ": "
                     + b.error()};
    out.push_back(std::move(*b));
  }
  if (auto err = validation_error(out))
    return failure{*err};
  return out;
}

std::vector<std::string> block_transactions(const block& b) {
  // The block's bytes are canonical: its transactions are slices of them.
  return transactions_of(b.json);
}

std::size_t common_prefix(const chain& a, const chain& b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n].hash == b[n].hash)
    ++n;
  return n;
}

reorg_transactions reorg(const chain& old_chain, const chain& replacement,
                         const std::function<bool(const block&)>& counts) {
  auto fork = common_prefix(old_chain, replacement);
  std::unordered_map<std::string, std::size_t> incoming;
  for (std::size_t i = std::max<std::size_t>(fork, 1); i < replacement.size();
       ++i)
    for (auto& tx : block_transactions(replacement[i]))
      ++incoming[tx];
  reorg_transactions out;
  for (std::size_t i = std::max<std::size_t>(fork, 1); i < old_chain.size();
       ++i) {
    if (counts && !counts(old_chain[i]))
      continue;
    for (auto& tx : block_transactions(old_chain[i])) {
      auto it = incoming.find(tx);
      if (it != incoming.end() && it->second > 0)
        --it->second;
      else
        out.orphaned.push_back(std::move(tx));
    }
  }
  for (auto& [tx, n] : incoming)
    for (std::size_t k = 0; k < n; ++k)
      out.included.push_back(tx);
  return out;
}

std::string chain_json_array(const chain& blocks) {
  std::size_t total = 2;
  for (const auto& b : blocks)
    total += b.json.size() + 2;
  std::string out;
  out.reserve(total);
  out += '[';
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += blocks[i].json;
  }
  out += ']';
  return out;
}

} // namespace dlt
