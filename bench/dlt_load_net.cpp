#include "bench/dlt_load_net.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dlt_load {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct http_client::impl {
  net::io_context ioc;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

http_client::http_client(std::string address)
  : address_(std::move(address)), impl_(std::make_unique<impl>()) {
}

http_client::~http_client() = default;

unsigned http_client::request(verb method, const std::string& target,
                              const std::string& body, std::string* answer,
                              std::chrono::milliseconds timeout, bool retry,
                              std::string* error) {
  auto& s = *impl_;
  for (int attempt = 0;; ++attempt) {
    bool reused = s.stream != nullptr;
    try {
      if (!s.stream) {
        auto colon = address_.rfind(':');
        tcp::resolver resolver{s.ioc};
        auto results = resolver.resolve(address_.substr(0, colon),
                                        address_.substr(colon + 1));
        s.stream = std::make_unique<beast::tcp_stream>(s.ioc);
        s.stream->expires_after(std::min<std::chrono::milliseconds>(
          timeout, std::chrono::seconds(10)));
        s.stream->connect(results);
        s.stream->socket().set_option(tcp::no_delay(true));
      }
      http::request<http::string_body> req{
        method == verb::get ? http::verb::get : http::verb::post, target, 11};
      req.set(http::field::host, address_);
      if (method == verb::post) {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
      }
      req.prepare_payload();
      s.stream->expires_after(timeout);
      http::write(*s.stream, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(1ull << 32);
      http::read(*s.stream, s.buffer, parser);
      auto& res = parser.get();
      if (answer)
        *answer = std::move(res.body());
      if (!res.keep_alive())
        s.stream.reset();
      return res.result_int();
    } catch (const std::exception& e) {
      s.stream.reset();
      s.buffer.clear();
      if (retry && reused && attempt == 0)
        continue;
      if (error)
        *error = e.what();
      return 0;
    }
  }
}

void parallel_for(std::size_t count, std::size_t width,
                  const std::function<void(std::size_t)>& fn) {
  width = std::max<std::size_t>(1, std::min(width, count));
  if (width == 1) {
    for (std::size_t i = 0; i < count; ++i)
      fn(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> threads;
  threads.reserve(width);
  for (std::size_t t = 0; t < width; ++t)
    threads.emplace_back([&] {
      for (auto i = next++; i < count; i = next++)
        fn(i);
    });
  for (auto& t : threads)
    t.join();
}

std::size_t raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  return lim.rlim_cur == RLIM_INFINITY ? SIZE_MAX
                                       : static_cast<std::size_t>(lim.rlim_cur);
}

} // namespace dlt_load
