#include "http/peer_client.hpp"

#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace dlt {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class fetch_op : public std::enable_shared_from_this<fetch_op> {
public:
  fetch_op(net::io_context& ioc, std::uint64_t max_bytes,
           std::function<void(fetch_result)> done)
    : strand_(net::make_strand(ioc)),
      resolver_(strand_),
      stream_(strand_),
      timer_(strand_),
      max_bytes_(max_bytes),
      done_(std::move(done)) {
  }

  void start(const peer_address& peer, std::chrono::milliseconds deadline) {
    net::dispatch(strand_, [self = shared_from_this(), peer, deadline] {
      self->begin(peer, deadline);
    });
  }

private:
  void begin(const peer_address& peer, std::chrono::milliseconds deadline) {
    timer_.expires_after(deadline);
    timer_.async_wait([self = shared_from_this(), deadline](beast::error_code ec) {
      if (!ec)
        self->finish("timeout", "no answer within "
                              + std::to_string(deadline.count()) + " ms");
    });
    stream_.expires_after(deadline);
    req_.method(http::verb::get);
    req_.target("/chain");
    req_.version(11);
    bool v6 = peer.host.find(':') != std::string::npos;
    req_.set(http::field::host, (v6 ? "[" + peer.host + "]" : peer.host) + ":"
                                  + std::to_string(peer.port));
    req_.set(http::field::user_agent, "dlt-node");
    req_.set(http::field::accept, "application/json");
    req_.keep_alive(false);
    resolver_.async_resolve(
      peer.host, std::to_string(peer.port),
      [self = shared_from_this()](beast::error_code ec,
                                  tcp::resolver::results_type results) {
        if (ec)
          return self->finish("unreachable", "cannot resolve: " + ec.message());
        self->stream_.async_connect(
          results, [self](beast::error_code ec, const tcp::endpoint&) {
            if (ec)
              return self->finish("unreachable", "cannot connect: " + ec.message());
            self->send();
          });
      });
  }

  void send() {
    http::async_write(stream_, req_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        if (ec)
                          return self->finish("unreachable", "cannot send request: "
                                                       + ec.message());
                        self->receive();
                      });
  }

  void receive() {
    parser_.emplace();
    parser_->body_limit(max_bytes_);
    parser_->header_limit(64 * 1024);
    // Header first: an announced oversized body is refused before any of it
    // is read. The size is checked again after reading, for chunked bodies
    // and because the parser's own limit is not reliably reported when
    // header and body arrive in one read.
    http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->fail_read(ec);
        auto length = self->parser_->content_length();
        if (length && *length > self->max_bytes_)
          return self->too_large();
        http::async_read(self->stream_, self->buffer_, *self->parser_,
                         [self](beast::error_code ec, std::size_t) {
                           if (ec)
                             return self->fail_read(ec);
                           self->on_response();
                         });
      });
  }

  void fail_read(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return too_large();
    if (ec == beast::error::timeout) // the stream's expiry is the deadline
      return finish("timeout", "no answer within the deadline");
    finish("invalid", "bad answer: " + ec.message());
  }

  void too_large() {
    finish("too_large", "answer larger than " + std::to_string(max_bytes_)
                    + " bytes");
  }

  void on_response() {
    auto& res = parser_->get();
    if (res.result() != http::status::ok)
      return finish("http_error", "answered HTTP " + std::to_string(res.result_int()));
    if (res.body().size() > max_bytes_)
      return too_large();
    finish("ok", std::move(res.body()));
  }

  void finish(const char* result, std::string body_or_error) {
    if (!done_)
      return;
    auto done = std::move(done_);
    done_ = nullptr;
    beast::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    done(fetch_result{std::string_view{result} == "ok", std::move(body_or_error),
                      result});
  }

  net::strand<net::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::uint64_t max_bytes_;
  std::function<void(fetch_result)> done_;
};

} // namespace

chain_fetcher make_peer_fetcher(net::io_context& ioc,
                                std::uint64_t max_response_bytes) {
  return [&ioc, max_response_bytes](const peer_address& peer,
                                    std::chrono::milliseconds deadline,
                                    std::function<void(fetch_result)> done) {
    std::make_shared<fetch_op>(ioc, max_response_bytes, std::move(done))
      ->start(peer, deadline);
  };
}

} // namespace dlt
