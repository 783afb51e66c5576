#pragma once
// A growable byte buffer for the canonical writer: unchecked writes after one
// capacity check, no zero-filling on growth (std::string would fill).

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

namespace dlt::json_detail {

class out_buffer {
public:
  out_buffer() = default;
  out_buffer(const out_buffer&) = delete;
  out_buffer& operator=(const out_buffer&) = delete;
  ~out_buffer() { std::free(data_); }

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }
  std::string_view view() const noexcept { return {data_, size_}; }
  std::string str() const { return std::string(data_, size_); }

  void clear() noexcept { size_ = 0; }
  void truncate(std::size_t n) noexcept { size_ = n; }

  /// Room for `n` more bytes at the end; write them, then commit().
  char* room(std::size_t n) {
    if (cap_ - size_ < n)
      grow(n);
    return data_ + size_;
  }
  void commit(std::size_t n) noexcept { size_ += n; }

  void push(char c) {
    *room(1) = c;
    ++size_;
  }
  void append(const char* p, std::size_t n) {
    if (n == 0)
      return; // p may be null then, which memcpy must not see
    std::memcpy(room(n), p, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }

  /// Gives back memory above `keep` bytes once the contents are not needed.
  void release(std::size_t keep) {
    if (cap_ > keep) {
      std::free(data_);
      data_ = nullptr;
      cap_ = size_ = 0;
    }
  }

private:
  void grow(std::size_t n) {
    std::size_t want = cap_ < 256 ? 256 : cap_ * 2;
    while (want - size_ < n)
      want *= 2;
    auto* p = static_cast<char*>(std::realloc(data_, want));
    if (!p)
      throw std::bad_alloc{};
    data_ = p;
    cap_ = want;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

} // namespace dlt::json_detail
