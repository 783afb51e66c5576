#pragma once
// dlt-load's plumbing: a blocking keep-alive HTTP client, a bounded
// parallel loop, and the descriptor limit. Beast stays out of this header
// (it is heavy to compile).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace dlt_load {

enum class verb { get, post };

/// One keep-alive connection to one node. Not thread-safe: one request at
/// a time (callers hold a lock or own the client).
class http_client {
public:
  explicit http_client(std::string address);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends one request and waits for the answer within `timeout`. Returns
  /// the status, or 0 on a transport error (the connection is dropped and
  /// `*error`, when given, says why). With `retry`, a request that failed on
  /// a connection kept from an earlier request (the node may have closed it
  /// as idle) is sent once more on a fresh one: only for requests that may
  /// be repeated safely.
  unsigned request(verb method, const std::string& target,
                   const std::string& body, std::string* answer = nullptr,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60),
                   bool retry = false, std::string* error = nullptr);

  const std::string& address() const {
    return address_;
  }

private:
  struct impl;
  std::string address_;
  std::unique_ptr<impl> impl_;
};

/// Runs fn(0) ... fn(count - 1) on at most `width` threads at once (the
/// calling thread waits). Indexes are handed out in order as threads free up.
void parallel_for(std::size_t count, std::size_t width,
                  const std::function<void(std::size_t)>& fn);

/// Raises the soft RLIMIT_NOFILE to the hard limit (as the node does);
/// returns the limit now in force.
std::size_t raise_descriptor_limit();

} // namespace dlt_load
