#include "model/chain.hpp"

namespace dlt {

std::optional<std::string> validation_error(const chain& blocks) {
  if (blocks.empty())
    return "the chain has no blocks";
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const block& b = blocks[i];
    if (b.index != i + 1)
      return "block " + std::to_string(i + 1) + " has index "
             + std::to_string(b.index);
    const std::string& expected = i == 0 ? std::string{genesis_previous_hash}
                                         : blocks[i - 1].hash;
    if (b.previous_hash != expected)
      return "block " + std::to_string(i + 1)
             + " does not link to the block before it (previous_hash "
             + (i == 0 ? "of a genesis block must be \"0\")"
                       : "is not the hash of block " + std::to_string(i) + ")");
  }
  return std::nullopt;
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
