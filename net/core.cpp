// The front's small shared parts: a link's one-time answer, budgets, the
// log limiter and the stand-in node ids (see net/core.hpp).

#include <algorithm>
#include <random>

#include "actors/log.hpp"
#include "net/core.hpp"

namespace dlt::net {

void connect_reply::deliver(caf::strong_actor_ptr face, std::string error) {
  callback fn;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    fn = std::move(fn_);
    fn_ = nullptr;
  }
  if (fn)
    fn(std::move(face), std::move(error));
}

void bucket::refill(steady::time_point now) {
  std::chrono::duration<double> dt = now - last;
  last = now;
  tokens = std::min(burst, tokens + rate * dt.count());
}

steady::duration bucket::wait_for(double need) const {
  if (tokens >= need || rate <= 0)
    return steady::duration::zero();
  return std::chrono::duration_cast<steady::duration>(
    std::chrono::duration<double>((need - tokens) / rate));
}

void log_limiter::line(const std::string& text) {
  budget_.refill(steady::now());
  if (budget_.tokens < 1) {
    ++suppressed_;
    return;
  }
  budget_.tokens -= 1;
  if (suppressed_ > 0) {
    log("front", text, " (and ", suppressed_, " more like it not shown)");
    suppressed_ = 0;
  } else {
    log("front", text);
  }
}

node_pool::node_pool(std::size_t size, std::chrono::milliseconds cooling)
  : cooling_time_(cooling) {
  std::random_device rd;
  for (auto& b : host_)
    b = static_cast<unsigned char>(rd());
  free_.reserve(size);
  for (auto i = size; i > 0; --i)
    free_.push_back(static_cast<std::uint32_t>(i - 1));
}

node_bytes node_pool::stand_in(std::uint32_t index) const {
  node_bytes n{};
  auto atom = default_node_atom;
  for (int i = 7; i >= 0; --i, atom >>= 8)
    n[i] = static_cast<unsigned char>(atom & 0xff);
  auto pid = index + 1;
  for (int i = 11; i >= 8; --i, pid >>= 8)
    n[i] = static_cast<unsigned char>(pid & 0xff);
  std::copy(host_.begin(), host_.end(), n.begin() + 12);
  return n;
}

std::optional<node_bytes> node_pool::acquire(const node_bytes& real) {
  auto now = steady::now();
  while (!cooling_.empty() && cooling_.front().first <= now) {
    free_.push_back(cooling_.front().second);
    cooling_.pop_front();
  }
  if (auto it = by_real_.find(real); it != by_real_.end()) {
    ++it->second.refs;
    return stand_in(it->second.index);
  }
  if (free_.empty())
    return std::nullopt;
  auto index = free_.back();
  free_.pop_back();
  by_real_.emplace(real, entry{index, 1});
  return stand_in(index);
}

void node_pool::release(const node_bytes& real) {
  auto it = by_real_.find(real);
  if (it == by_real_.end() || --it->second.refs > 0)
    return;
  cooling_.emplace_back(steady::now() + cooling_time_, it->second.index);
  by_real_.erase(it);
}

spare_frames::spare_frames(boost::asio::io_context& ioc, std::size_t count,
                           std::size_t largest, std::chrono::milliseconds idle)
  : count_(count), largest_(largest), idle_(idle), timer_(ioc) {}

std::vector<unsigned char> spare_frames::take(std::size_t least,
                                              std::size_t most) {
  auto best = kept_.end();
  for (auto it = kept_.begin(); it != kept_.end(); ++it)
    if (it->capacity() >= least && it->capacity() <= most
        && (best == kept_.end() || it->capacity() < best->capacity()))
      best = it;
  if (best == kept_.end())
    return {};
  auto buffer = std::move(*best);
  kept_.erase(best);
  return buffer;
}

void spare_frames::give(std::vector<unsigned char>&& buffer) {
  auto capacity = buffer.capacity();
  if (capacity <= keep_capacity || capacity > largest_)
    return;
  if (kept_.size() >= count_) {
    // Keep the larger ones: they serve every smaller frame too.
    auto smallest = std::min_element(
      kept_.begin(), kept_.end(),
      [](const auto& a, const auto& b) { return a.capacity() < b.capacity(); });
    if (smallest->capacity() >= capacity)
      return;
    kept_.erase(smallest);
  }
  buffer.clear();
  kept_.push_back(std::move(buffer));
  // Re-arming cancels the wait before: only a quiet `idle` frees them.
  timer_.expires_after(idle_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    // A wait that ended just before a give() re-armed the timer is not
    // cancelled by it: only a deadline really passed frees the buffers.
    if (!ec && timer_.expiry() <= std::chrono::steady_clock::now())
      kept_.clear();
  });
}

std::size_t spare_frames::bytes() const {
  std::size_t n = 0;
  for (const auto& b : kept_)
    n += b.capacity();
  return n;
}

void spare_frames::clear() {
  kept_.clear();
  timer_.cancel();
}

} // namespace dlt::net
