#pragma once
// A block's hash or previous_hash: nearly always 64 lowercase hex digits,
// held inline in the block. A string kept per block on the heap cost two
// allocations per block read (a third of the time of reading a peer's chain
// next to hashing it) and 80 bytes of heap each. Any other string a peer
// sends as previous_hash is held too (on the heap when longer than 64
// bytes) until chain validation refuses it.
//
// It reads like a std::string: it converts to std::string_view and
// std::string, compares with both and with C strings, and prints.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <string_view>

namespace dlt {

class hash_text {
public:
  static constexpr std::size_t inline_capacity = 64;

  hash_text() noexcept { small_[0] = '\0'; }
  explicit hash_text(std::string_view s) { assign(s); }
  explicit hash_text(const char* s) { assign(std::string_view{s}); }
  hash_text(const hash_text& o) { assign(o.view()); }
  hash_text(hash_text&& o) noexcept { take(o); }
  ~hash_text() { delete[] big_; }

  hash_text& operator=(const hash_text& o) {
    if (this != &o)
      assign(o.view());
    return *this;
  }
  hash_text& operator=(hash_text&& o) noexcept {
    if (this != &o) {
      delete[] big_;
      big_ = nullptr;
      take(o);
    }
    return *this;
  }
  hash_text& operator=(std::string_view s) {
    assign(s);
    return *this;
  }
  hash_text& operator=(const char* s) {
    assign(std::string_view{s});
    return *this;
  }

  void assign(std::string_view s) {
    if (s.size() <= inline_capacity) {
      // s may point into big_: copy before freeing it.
      std::memmove(small_, s.data(), s.size());
      small_[s.size()] = '\0';
      delete[] big_;
      big_ = nullptr;
    } else {
      auto* p = new char[s.size() + 1];
      std::memcpy(p, s.data(), s.size());
      p[s.size()] = '\0';
      delete[] big_;
      big_ = p;
    }
    size_ = static_cast<std::uint32_t>(s.size());
  }

  /// n characters: kept up to n, new ones '\0' (then written through data()).
  void resize(std::size_t n) {
    if (n > inline_capacity || big_) {
      std::string copy(view());
      copy.resize(n);
      assign(copy);
      return;
    }
    if (n > size_)
      std::memset(small_ + size_, 0, n - size_);
    small_[n] = '\0';
    size_ = static_cast<std::uint32_t>(n);
  }
  void clear() noexcept {
    delete[] big_;
    big_ = nullptr;
    size_ = 0;
    small_[0] = '\0';
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t length() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const char* data() const noexcept { return big_ ? big_ : small_; }
  char* data() noexcept { return big_ ? big_ : small_; }
  const char* c_str() const noexcept { return data(); }
  const char* begin() const noexcept { return data(); }
  const char* end() const noexcept { return data() + size_; }
  char operator[](std::size_t i) const noexcept { return data()[i]; }
  char& operator[](std::size_t i) noexcept { return data()[i]; }

  std::string_view view() const noexcept { return {data(), size_}; }
  std::string str() const { return std::string(view()); }
  std::string substr(std::size_t pos, std::size_t n = std::string::npos) const {
    return std::string(view().substr(pos, n));
  }
  int compare(std::string_view s) const noexcept { return view().compare(s); }

  operator std::string_view() const noexcept { return view(); } // NOLINT
  operator std::string() const { return str(); }                // NOLINT

private:
  void take(hash_text& o) noexcept {
    size_ = o.size_;
    big_ = o.big_;
    std::memcpy(small_, o.small_, sizeof small_);
    o.big_ = nullptr;
    o.size_ = 0;
    o.small_[0] = '\0';
  }

  char small_[inline_capacity + 1];
  std::uint32_t size_ = 0;
  char* big_ = nullptr; // the text when longer than inline_capacity
};

// Exact overloads for every string type, so that no comparison is ambiguous.
inline bool operator==(const hash_text& a, const hash_text& b) noexcept {
  return a.view() == b.view();
}
inline bool operator==(const hash_text& a, std::string_view b) noexcept {
  return a.view() == b;
}
inline bool operator==(std::string_view a, const hash_text& b) noexcept {
  return a == b.view();
}
inline bool operator==(const hash_text& a, const std::string& b) noexcept {
  return a.view() == std::string_view{b};
}
inline bool operator==(const std::string& a, const hash_text& b) noexcept {
  return std::string_view{a} == b.view();
}
inline bool operator==(const hash_text& a, const char* b) noexcept {
  return a.view() == std::string_view{b};
}
inline bool operator==(const char* a, const hash_text& b) noexcept {
  return std::string_view{a} == b.view();
}
template <class T>
bool operator!=(const hash_text& a, const T& b) noexcept {
  return !(a == b);
}
template <class T, class = std::enable_if_t<!std::is_same_v<T, hash_text>>>
bool operator!=(const T& a, const hash_text& b) noexcept {
  return !(a == b);
}
inline bool operator<(const hash_text& a, const hash_text& b) noexcept {
  return a.view() < b.view();
}

inline std::string operator+(const hash_text& a, std::string_view b) {
  std::string out(a.view());
  out += b;
  return out;
}
inline std::string operator+(const hash_text& a, const std::string& b) {
  return a + std::string_view{b};
}
inline std::string operator+(const hash_text& a, const char* b) {
  return a + std::string_view{b};
}
inline std::string operator+(std::string_view a, const hash_text& b) {
  std::string out(a);
  out += b.view();
  return out;
}
inline std::string operator+(const std::string& a, const hash_text& b) {
  return std::string_view{a} + b;
}
inline std::string operator+(const char* a, const hash_text& b) {
  return std::string_view{a} + b;
}

inline std::ostream& operator<<(std::ostream& os, const hash_text& h) {
  return os << h.view();
}

/// nlohmann::json's conversion (found by argument-dependent lookup).
template <class Json>
void to_json(Json& j, const hash_text& h) {
  j = std::string(h.view());
}

} // namespace dlt
