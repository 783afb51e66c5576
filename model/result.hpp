#pragma once
// A value or the reason there is none. The model layer reports refusals this
// way (no exceptions across layers), so the HTTP edge can turn the reason into
// a 400 and the gossiper can log why a peer's chain was skipped.

#include <optional>
#include <string>
#include <utility>

namespace dlt {

struct failure {
  std::string reason;
};

template <class T>
class result {
public:
  result(T value) : value_(std::move(value)) {}
  result(failure f) : error_(std::move(f.reason)) {}

  explicit operator bool() const noexcept { return value_.has_value(); }
  T& operator*() & { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T& operator*() const& { return *value_; }
  const T* operator->() const { return &*value_; }
  const std::string& error() const noexcept { return error_; }

private:
  std::optional<T> value_;
  std::string error_;
};

} // namespace dlt
