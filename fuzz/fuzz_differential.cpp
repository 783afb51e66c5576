// libFuzzer target (b): the new reader against the old nlohmann path.
//
// Documents: wherever parse_json + canonical accepts, canonicalize (same
// depth, without Python's values) must accept with identical bytes; where
// canonicalize refuses, parse_json must refuse too. With Python's values the
// new reader accepts a superset, with the same bytes where both accept.
// Chains: wherever parse_json + chain_from_json accepts an answer,
// chain_from_text must accept the same blocks.
//
// Known differences of the old path, skipped here (and the reason it goes):
// nlohmann reads a NUL byte as the end of the text, so "[1]\0garbage"
// passes it; and it counts depth over the whole answer (512), where the new
// rule bounds each transaction's data.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "model/canonical_json.hpp"
#include "model/chain.hpp"
#include "model/json_blocks.hpp"
#include "model/json_numbers.hpp"
#include "model/json_parse.hpp"
#include "model/json_rules.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
  (void)what;
  __builtin_trap();
}

// Counts the top-level "chain" keys (the DOM keeps only the last).
struct chain_keys : nlohmann::json_sax<nlohmann::json> {
  int depth = 0, count = 0;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth, true; }
  bool key(string_t& k) override {
    count += depth == 1 && k == "chain";
    return true;
  }
  bool end_object() override { return --depth, true; }
  bool start_array(std::size_t) override { return ++depth, true; }
  bool end_array() override { return --depth, true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception&) override {
    return false;
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (text.find('\0') != std::string_view::npos)
    return 0; // nlohmann stops at NUL

  auto old = dlt::parse_json(text);
  dlt::json_rules same_rules{dlt::max_json_depth, false};
  auto strict = dlt::canonicalize(text, same_rules);
  auto python = dlt::canonicalize(text, {dlt::max_json_depth, true});

  if (old) {
    auto old_bytes = dlt::canonical(*old);
    if (!strict || *strict != old_bytes)
      broken("the old path accepts what the new one refuses or writes otherwise");
  }
  if (!strict && old)
    broken("the new path refuses what the old one accepts");
  if (strict && !old)
    broken("the new path accepts what the old one refuses");
  if (strict && (!python || *python != *strict))
    broken("Python's values changed a standard document");
  if (!python && strict)
    broken("python_values refused a standard document");

  // The quick check of canonical floats against writing them.
  if (python && !text.empty() && (text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))
      && text.find_first_of(".eE") != std::string_view::npos
      && text.find_first_of(" \t\r\n") == std::string_view::npos
      && (text[0] != '-' || text.size() < 2 || text[1] != 'I')
      && dlt::json_detail::is_canonical_float(text) != (*python == text))
    broken("is_canonical_float disagrees with format_python_float");

  // Chain answers.
  chain_keys keys;
  if (old && old->is_object() && old->contains("chain")
      && nlohmann::json::sax_parse(text, &keys) && keys.count == 1) {
    // (A repeated "chain" is read as it comes by the new path: an invalid
    // earlier list is refused, where the old path drops it unread.)
    auto old_chain = dlt::chain_from_json((*old)["chain"]);
    if (old_chain) {
      auto new_chain = dlt::chain_from_text(text);
      if (!new_chain || new_chain->size() != old_chain->size())
        broken("an answer the old path accepts is refused");
      for (std::size_t i = 0; i < old_chain->size(); ++i)
        if ((*new_chain)[i].json != (*old_chain)[i].json
            || (*new_chain)[i].hash != (*old_chain)[i].hash)
          broken("an answer reads as other blocks");
    }
  }
  return 0;
}
