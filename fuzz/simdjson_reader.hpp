#pragma once
// The alternative that was measured against the hand-written reader: a
// chain answer read with simdjson's on-demand API (Debian's libsimdjson-dev
// 3.0), writing the same canonical bytes. Numbers keep their raw text;
// strings are unescaped by simdjson and escaped again as Python does. It
// refuses NaN / Infinity (simdjson does) and is only a measuring device:
// dlt-json-speed checks its blocks' hashes against the real reader's.

#include <algorithm>
#include <string>
#include <vector>

#include <cryptopp/sha.h>
#include <simdjson.h>

#include "model/json_numbers.hpp"
#include "model/json_strings.hpp"
#include "model/json_walk.hpp"

namespace sj_detail {

namespace od = simdjson::ondemand;
using dlt::json_detail::out_buffer;

inline bool append_string(out_buffer& out, std::string_view s) {
  out.push('"');
  const char* p = s.data();
  const char* end = p + s.size();
  while (p < end) {
    dlt::json_detail::copy_plain_run(p, end, out);
    if (p == end)
      break;
    auto c = static_cast<unsigned char>(*p);
    std::uint32_t cp;
    int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (len == 1)
      cp = c;
    else if (len == 2)
      cp = ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    else if (len == 3)
      cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    else
      cp = ((c & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6)
           | (p[3] & 0x3Fu);
    p += len; // simdjson has validated the UTF-8
    dlt::json_detail::append_canonical_char(out, cp);
  }
  out.push('"');
  return true;
}

struct member {
  std::string_view key;
  std::size_t begin, end;
};

struct writer {
  out_buffer out;
  std::vector<member> members;

  bool value(od::value v) {
    od::json_type t;
    if (v.type().get(t))
      return false;
    switch (t) {
      case od::json_type::object: {
        od::object o;
        if (v.get_object().get(o))
          return false;
        out.push('{');
        std::size_t begin = out.size();
        // This object's members: appended to one shared list (no
        // allocation per object), keys as views into simdjson's buffer.
        std::size_t first_member = members.size();
        bool sorted = true, first = true;
        for (auto field : o) {
          std::string_view key;
          if (field.unescaped_key().get(key))
            return false;
          if (!first)
            out.append(", ", 2);
          first = false;
          std::size_t at = out.size();
          append_string(out, key);
          out.append(": ", 2);
          if (members.size() > first_member && members.back().key >= key)
            sorted = false;
          members.push_back({key, at, 0});
          std::size_t mine = members.size() - 1;
          if (!value(field.value()))
            return false;
          members.resize(mine + 1); // drop the nested objects' members
          members[mine].end = out.size();
        }
        if (!sorted) {
          std::string copy(out.data() + begin, out.size() - begin);
          std::stable_sort(members.begin() + first_member, members.end(),
                           [](auto& a, auto& b) { return a.key < b.key; });
          out.truncate(begin);
          bool f = true;
          for (std::size_t k = first_member; k < members.size(); ++k) {
            if (k + 1 < members.size() && members[k].key == members[k + 1].key)
              continue;
            if (!f)
              out.append(", ", 2);
            f = false;
            out.append(copy.data() + (members[k].begin - begin),
                       members[k].end - members[k].begin);
          }
        }
        members.resize(first_member);
        out.push('}');
        return true;
      }
      case od::json_type::array: {
        od::array a;
        if (v.get_array().get(a))
          return false;
        out.push('[');
        bool first = true;
        for (auto element : a) {
          od::value item;
          if (element.get(item))
            return false;
          if (!first)
            out.append(", ", 2);
          first = false;
          if (!value(item))
            return false;
        }
        out.push(']');
        return true;
      }
      case od::json_type::string: {
        std::string_view s;
        if (v.get_string().get(s))
          return false;
        return append_string(out, s);
      }
      case od::json_type::number: {
        std::string_view raw = v.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n'
                                || raw.back() == '\r' || raw.back() == '\t'))
          raw.remove_suffix(1);
        std::string why;
        bool integer = raw.find_first_of(".eE") == std::string_view::npos;
        return dlt::json_detail::append_canonical_number(out, raw, integer, false,
                                                         why)
               == dlt::json_detail::number_outcome::ok;
      }
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b))
          return false;
        out.append(b ? "true" : "false");
        return true;
      }
      case od::json_type::null:
        if (!v.is_null())
          return false;
        out.append("null");
        return true;
    }
    return false;
  }
};

} // namespace sj_detail

inline dlt::result<dlt::chain> simdjson_chain_from_text(std::string& body) {
  using namespace sj_detail;
  static thread_local od::parser parser;
  simdjson::padded_string_view view(body.data(), body.size(), body.capacity());
  od::document doc;
  if (parser.iterate(view).get(doc))
    return dlt::failure{"simdjson: not JSON"};
  od::object top;
  if (doc.get_object().get(top))
    return dlt::failure{"not an object"};
  dlt::chain out;
  writer w;
  CryptoPP::SHA256 sha;
  for (auto field : top) {
    std::string_view key;
    if (field.unescaped_key().get(key))
      return dlt::failure{"bad key"};
    if (key != "chain")
      continue; // on-demand skips what is not read
    od::array blocks;
    if (field.value().get_array().get(blocks))
      return dlt::failure{"chain is not a list"};
    for (auto element : blocks) {
      od::value v;
      if (element.get(v))
        return dlt::failure{"bad block"};
      w.out.clear();
      if (!w.value(v))
        return dlt::failure{"bad block"};
      dlt::block b;
      if (auto why = dlt::json_detail::check_block(w.out.view(), b))
        return dlt::failure{*why};
      if (b.index != out.size() + 1
          || b.previous_hash != (out.empty() ? std::string("0") : out.back().hash))
        return dlt::failure{"broken link"};
      b.json.assign(w.out.data(), w.out.size());
      CryptoPP::byte digest[CryptoPP::SHA256::DIGESTSIZE];
      sha.CalculateDigest(digest, reinterpret_cast<const CryptoPP::byte*>(b.json.data()),
                          b.json.size());
      static constexpr char hex[] = "0123456789abcdef";
      b.hash.resize(64);
      for (int i = 0; i < 32; ++i) {
        b.hash[2 * i] = hex[digest[i] >> 4];
        b.hash[2 * i + 1] = hex[digest[i] & 0xF];
      }
      out.push_back(std::move(b));
    }
  }
  return out;
}
