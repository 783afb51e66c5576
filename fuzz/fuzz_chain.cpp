// libFuzzer target (a): bytes -> validated chain, by both paths.
//
// The whole body at once (chain_from_text) and the incremental reader fed
// in pieces (sizes taken from the input itself) must agree exactly: same
// blocks or same refusal. Every accepted chain must be valid: canonical
// bytes that read back as themselves, hashes of those bytes, indexes 1..n,
// each block linked to the one before. A bounded min_length must refuse
// exactly the chains that are not longer. The same bytes as a native
// answer's block list (blocks_from_list_body) are checked as well.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/chain.hpp"
#include "model/json_blocks.hpp"
#include "model/json_rules.hpp"
#include "model/sha256.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
  __builtin_trap(); // libFuzzer reports the input; `what` shows in the stack
  (void)what;
}

std::string outcome(const dlt::result<dlt::chain>& r) {
  if (!r)
    return "refused: " + r.error();
  std::string s = "chain:";
  for (const auto& b : *r)
    s += " " + b.hash;
  return s;
}

void check_blocks(const dlt::chain& c) {
  for (const auto& b : c) {
    if (b.hash != dlt::sha256_hex(b.json))
      broken("a block's hash is not the hash of its bytes");
    auto again = dlt::block_from_text(b.json, true);
    if (!again || again->hash != b.hash || again->index != b.index
        || again->previous_hash != b.previous_hash)
      broken("a block's canonical bytes do not read back as the block");
    auto canonical = dlt::canonicalize(b.json, dlt::block_rules());
    if (!canonical || *canonical != b.json)
      broken("a block's bytes are not canonical");
    auto txs = dlt::block_transactions(b);
    for (const auto& tx : txs)
      if (!dlt::transaction_from_text(tx, true))
        broken("a block's transaction is not a canonical {\"data\": v}");
  }
}

void check_valid(const dlt::chain& c) {
  if (dlt::validation_error(c))
    broken("an accepted chain does not link");
  check_blocks(c);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The first byte chooses how the body is cut, the rest is the body.
  if (size == 0)
    return 0;
  unsigned pattern = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto whole = dlt::chain_from_text(body);
  if (whole)
    check_valid(*whole);

  dlt::chain_reader reader;
  std::size_t at = 0, step = 0;
  while (at < body.size()) {
    // Piece sizes 1..16 in a pattern, sometimes the whole rest.
    std::size_t n = pattern & 0x80 ? 1 + ((pattern + step * 7) % 16)
                                   : 1 + ((pattern * 31 + step) % 64);
    if ((pattern & 0x40) && step == 3)
      n = body.size();
    n = std::min(n, body.size() - at);
    bool ok = reader.feed(body.substr(at, n));
    at += n;
    ++step;
    if (!ok && !reader.failed())
      broken("feed refused without a reason");
  }
  auto pieces = reader.finish();
  if (outcome(whole) != outcome(pieces))
    broken("the one-call and the incremental readers disagree");

  // A minimum length: refused as not longer exactly when it is not.
  if (whole) {
    std::size_t min = (pattern % 4 == 0) ? whole->size() : whole->size() - 1;
    auto bounded = dlt::chain_from_text(body, min);
    if (static_cast<bool>(bounded) != (whole->size() > min))
      broken("min_length decided wrongly");
    dlt::chain_reader counted(min);
    counted.feed(body);
    auto r = counted.finish();
    if (static_cast<bool>(r) != (whole->size() > min)
        || counted.not_longer() != (whole->size() <= min))
      broken("the reader's min_length decided wrongly");
  }

  // The same bytes as a native answer's string (blocks joined by commas,
  // no brackets): every block it accepts is valid on its own, and a list
  // that also links reads as the chain answer around it does.
  auto list = dlt::blocks_from_list_body(body);
  if (list) {
    check_blocks(*list);
    if (!dlt::validation_error(*list)) {
      auto wrapped = dlt::chain_from_text("{\"chain\": [" + std::string{body} + "]}");
      if (outcome(wrapped) != outcome(list))
        broken("a block list and the chain answer around it disagree");
    }
  }
  return 0;
}
