#include "model/json_parse.hpp"

#include <cmath>
#include <string>

namespace dlt {
namespace {

using dom_parser = nlohmann::detail::json_sax_dom_parser<json>;

// nlohmann's DOM builder, with the checks Python compatibility needs. The SAX
// parser is a template on the handler type, so hiding a member is enough.
class strict_parser : public dom_parser {
public:
  explicit strict_parser(json& root) : dom_parser(root, false) {}

  bool number_float(json::number_float_t value, const std::string& literal) {
    if (literal.find_first_of(".eE") == std::string::npos)
      return fail("integer out of 64-bit range: " + clip(literal));
    if (!std::isfinite(value))
      return fail("number out of double range: " + clip(literal));
    return dom_parser::number_float(value, literal);
  }

  bool start_object(std::size_t n) {
    return enter() && dom_parser::start_object(n);
  }
  bool end_object() {
    --depth_;
    return dom_parser::end_object();
  }
  bool start_array(std::size_t n) {
    return enter() && dom_parser::start_array(n);
  }
  bool end_array() {
    --depth_;
    return dom_parser::end_array();
  }

  template <class Exception>
  bool parse_error(std::size_t position, const std::string& last_token,
                   const Exception& ex) {
    if (!error_.empty())
      return false;
    // last_token is everything read of the bad token; its trailing word is
    // what the lexer choked on ("N" of NaN, "-I" of -Infinity).
    auto word_start = last_token.find_last_not_of(
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");
    auto word = word_start == std::string::npos
                  ? last_token
                  : last_token.substr(word_start + 1);
    if (starts_with(word, "N") || starts_with(word, "I")
        || starts_with(word, "-I"))
      error_ = "NaN and Infinity are not valid JSON and cannot be hashed "
               "identically by every node";
    else if (std::string_view{ex.what()}.find("number overflow")
             != std::string_view::npos)
      error_ = "number out of double range: " + clip(word_or(last_token));
    else
      error_ = "malformed JSON at byte " + std::to_string(position) + ": "
               + strip_prefix(ex.what());
    return false;
  }

  const std::string& error() const { return error_; }

private:
  bool enter() {
    if (++depth_ > max_json_depth)
      return fail("JSON nested deeper than "
                  + std::to_string(max_json_depth) + " levels");
    return true;
  }
  bool fail(std::string why) {
    error_ = std::move(why);
    return false;
  }
  static bool starts_with(const std::string& s, std::string_view p) {
    return s.compare(0, p.size(), p) == 0;
  }
  static std::string word_or(const std::string& token) {
    auto pos = token.find_last_of(",:[ ");
    return pos == std::string::npos ? token : token.substr(pos + 1);
  }
  static std::string clip(const std::string& s) {
    return s.size() <= 40 ? s : s.substr(0, 37) + "...";
  }
  // "[json.exception.parse_error.101] parse error at line 1, ...: reason"
  static std::string strip_prefix(const char* what) {
    std::string s = what;
    if (auto pos = s.find("] "); pos != std::string::npos)
      s.erase(0, pos + 2);
    return s;
  }

  std::size_t depth_ = 0;
  std::string error_;
};

} // namespace

result<json> parse_json(std::string_view text) {
  json root;
  strict_parser handler{root};
  bool ok = json::sax_parse(text.begin(), text.end(), &handler,
                            json::input_format_t::json, true);
  if (!ok || !handler.error().empty())
    return failure{handler.error().empty() ? "malformed JSON"
                                           : handler.error()};
  return root;
}

} // namespace dlt
