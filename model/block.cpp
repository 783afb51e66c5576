#include "model/block.hpp"

#include <charconv>

#include "model/canonical_json.hpp"
#include "model/sha256.hpp"

namespace dlt {

std::string transaction_json(const nlohmann::json& data) {
  std::string out = "{\"data\": ";
  append_canonical(out, data);
  out += '}';
  return out;
}

block seal_block(std::uint64_t index, std::string_view previous_hash,
                 double timestamp,
                 const std::vector<std::string>& transactions) {
  block b;
  b.index = index;
  b.previous_hash = previous_hash;
  std::size_t tx_bytes = 0;
  for (const auto& tx : transactions)
    tx_bytes += tx.size() + 2;
  b.json.reserve(128 + previous_hash.size() + tx_bytes);
  // Keys in sorted order, as json.dumps(sort_keys=True) writes them.
  b.json += "{\"index\": ";
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, index);
  b.json.append(buf, r.ptr);
  b.json += ", \"previous_hash\": ";
  append_python_string(b.json, previous_hash);
  b.json += ", \"timestamp\": ";
  append_python_float(b.json, timestamp);
  b.json += ", \"transactions\": [";
  for (std::size_t i = 0; i < transactions.size(); ++i) {
    if (i > 0)
      b.json += ", ";
    b.json += transactions[i];
  }
  b.json += "]}";
  b.hash = sha256_hex(b.json);
  return b;
}

block make_genesis(double timestamp) {
  return seal_block(1, genesis_previous_hash, timestamp,
                    {transaction_json(genesis_data)});
}

result<block> block_from_json(const nlohmann::json& value) {
  if (!value.is_object())
    return failure{"block is not a JSON object"};
  static constexpr const char* keys[] = {"index", "previous_hash",
                                         "timestamp", "transactions"};
  for (auto key : keys)
    if (!value.contains(key))
      return failure{std::string{"block has no \""} + key + "\""};
  if (value.size() != 4)
    return failure{"block has keys other than index, previous_hash, "
                   "timestamp and transactions"};
  const auto& index = value["index"];
  bool index_ok = index.is_number_unsigned()
                    ? index.get<std::uint64_t>() >= 1
                    : index.is_number_integer() && index.get<std::int64_t>() >= 1;
  if (!index_ok)
    return failure{"block index is not an integer >= 1"};
  if (!value["previous_hash"].is_string())
    return failure{"block previous_hash is not a string"};
  if (!value["timestamp"].is_number())
    return failure{"block timestamp is not a number"};
  const auto& txs = value["transactions"];
  if (!txs.is_array())
    return failure{"block transactions is not a list"};
  for (const auto& tx : txs)
    if (!tx.is_object() || tx.size() != 1 || !tx.contains("data"))
      return failure{"a transaction is not {\"data\": value}"};
  block b;
  b.index = index.get<std::uint64_t>();
  b.previous_hash = value["previous_hash"].get<std::string>();
  append_canonical(b.json, value);
  b.hash = sha256_hex(b.json);
  return b;
}

} // namespace dlt
