// The REST transport, after Beast's http_server_async: a listener accepting
// connections and one session per connection on its own strand.
//
// A session waits up to idle_timeout for a request to begin, then up to
// read_timeout for the whole request; it serves one request at a time
// (pipelined requests wait in the buffer and are answered in order), so a
// client that never reads cannot make the node queue answers for it. When
// max_connections are open, the oldest connection still waiting for its
// request is closed to admit the new one: half-open floods cannot starve
// clients that actually send requests.

#include "http/server.hpp"

#include <atomic>
#include <list>
#include <mutex>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "http/shared_body.hpp"
#include "model/canonical_json.hpp"

namespace dlt {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class session;

/// The open connections, oldest first, so the listener can make room.
class connection_registry {
public:
  using handle = std::list<std::weak_ptr<session>>::iterator;

  explicit connection_registry(std::size_t max) : max_(max) {
  }

  handle add(std::weak_ptr<session> s) {
    std::lock_guard<std::mutex> guard{mutex_};
    return list_.insert(list_.end(), std::move(s));
  }

  void remove(handle h) {
    std::lock_guard<std::mutex> guard{mutex_};
    list_.erase(h);
  }

  bool full() {
    std::lock_guard<std::mutex> guard{mutex_};
    return list_.size() >= max_;
  }

  /// Closes the oldest connection still waiting for a request; false when
  /// every open connection is busy with one.
  bool make_room();

  void close_all();

private:
  std::mutex mutex_;
  std::list<std::weak_ptr<session>> list_;
  std::size_t max_;
};

struct server_context {
  http_limits limits;
  edge_actor edge;
  connection_registry registry;

  explicit server_context(const http_limits& l)
    : limits(l), registry(l.max_connections) {
  }
};

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<server_context> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)) {
  }

  ~session() {
    if (registered_)
      ctx_->registry.remove(handle_);
  }

  void start() {
    handle_ = ctx_->registry.add(weak_from_this());
    registered_ = true;
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read_next(); });
  }

  /// Safe from any thread.
  void close() {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->do_close(); });
  }

  /// True while waiting for (part of) a request: such a connection may be
  /// closed to make room for a new one.
  bool waiting() const {
    return waiting_.load(std::memory_order_relaxed);
  }

private:
  void read_next() {
    if (closed_)
      return;
    waiting_ = true;
    parser_.emplace();
    parser_->body_limit(ctx_->limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::uint64_t>(ctx_->limits.max_header_bytes, UINT32_MAX)));
    if (buffer_.size() > 0)
      return read_header(); // a pipelined request is already here
    stream_.expires_after(ctx_->limits.idle_timeout);
    stream_.async_read_some(
      buffer_.prepare(4096),
      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        if (ec)
          return self->do_close();
        self->read_header();
      });
  }

  void read_header() {
    stream_.expires_after(ctx_->limits.read_timeout);
    http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_header(ec);
      });
  }

  void on_header(beast::error_code ec) {
    if (ec)
      return on_read_error(ec);
    auto& req = parser_->get();
    // curl sends "Expect: 100-continue" for larger bodies and would wait a
    // second for the go-ahead otherwise.
    if (beast::iequals(req[http::field::expect], "100-continue")
        && !parser_->is_done()) {
      static const std::string go_ahead = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(
        stream_, net::buffer(go_ahead),
        [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec)
            return self->do_close();
          self->read_body();
        });
    }
    if (parser_->is_done())
      return dispatch(); // no body: reading on could swallow the next request
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec)
                         return self->on_read_error(ec);
                       self->dispatch();
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout
        || ec == net::error::operation_aborted
        || ec == net::error::connection_reset || ec == net::error::eof)
      return do_close();
    waiting_ = false;
    if (ec == http::error::body_limit)
      return write_error(413, "Request body larger than "
                                + std::to_string(ctx_->limits.max_body_bytes)
                                + " bytes");
    if (ec == http::error::header_limit)
      return write_error(431, "Request header larger than "
                                + std::to_string(ctx_->limits.max_header_bytes)
                                + " bytes");
    if (ec.category() == http::make_error_code(http::error::bad_target).category())
      return write_error(400, "Malformed HTTP request: " + ec.message());
    do_close();
  }

  void write_error(unsigned status, const std::string& message) {
    rest_response res;
    res.status = status;
    res.prefix = "{\"error\": ";
    append_python_string(res.prefix, message);
    res.prefix += '}';
    keep_alive_ = false; // the stream is out of step after a bad request
    linger_ = true;
    version_ = 11;
    head_ = false;
    write(std::move(res));
  }

  void dispatch() {
    waiting_ = false;
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    rest_request out;
    out.method = std::string(req.method_string());
    auto target = req.target();
    out.path = std::string(target.substr(0, target.find('?')));
    out.body = std::move(req.body());
    // The reply comes back on any thread; post it onto this strand.
    auto reply = std::make_shared<responder>(
      [self = shared_from_this()](rest_response res) {
        net::post(self->stream_.get_executor(),
                  [self, res = std::move(res)]() mutable {
                    self->write(std::move(res));
                  });
      });
    caf::anon_send(ctx_->edge, std::move(out), std::move(reply));
  }

  void write(rest_response r) {
    if (closed_)
      return;
    res_ = std::make_shared<http::response<shared_body>>(
      static_cast<http::status>(r.status), version_);
    auto& res = *res_;
    res.set(http::field::server, "dlt-node");
    res.set(http::field::content_type, "application/json");
    if (!r.allow.empty())
      res.set(http::field::allow, r.allow);
    res.keep_alive(keep_alive_);
    auto& body = res.body();
    body.prefix = std::move(r.prefix);
    body.chain = std::move(r.chain);
    body.suffix = std::move(r.suffix);
    auto length = shared_body::size(body);
    if (head_)
      body = {}; // HEAD: the headers of GET, no body
    res.content_length(length);
    stream_.expires_after(ctx_->limits.write_timeout);
    http::async_write(stream_, res,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        self->res_.reset();
                        if (ec)
                          return self->do_close();
                        if (self->linger_)
                          return self->linger();
                        if (!self->keep_alive_)
                          return self->do_close();
                        self->read_next();
                      });
  }

  // After an error answer the client may still be sending (a body we refused
  // to read): closing at once would reset the connection and could destroy
  // the answer in flight. Stop sending, discard input for a bounded time.
  void linger() {
    if (!lingering_) {
      lingering_ = true;
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec)
        return do_close();
      stream_.expires_after(std::chrono::seconds(2));
    }
    buffer_.clear();
    stream_.async_read_some(
      buffer_.prepare(65536),
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->do_close();
        self->linger();
      });
  }

  void do_close() {
    if (closed_)
      return;
    closed_ = true;
    waiting_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<shared_body>> res_;
  std::shared_ptr<server_context> ctx_;
  connection_registry::handle handle_;
  bool registered_ = false;
  std::atomic<bool> waiting_{false};
  bool keep_alive_ = false;
  bool head_ = false;
  bool closed_ = false;
  bool linger_ = false;
  bool lingering_ = false;
  unsigned version_ = 11;
};

bool connection_registry::make_room() {
  std::shared_ptr<session> victim;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& weak : list_)
      if (auto s = weak.lock(); s && s->waiting()) {
        victim = std::move(s);
        break;
      }
  }
  if (!victim)
    return false;
  victim->close();
  return true;
}

void connection_registry::close_all() {
  std::vector<std::shared_ptr<session>> all;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& weak : list_)
      if (auto s = weak.lock())
        all.push_back(std::move(s));
  }
  for (auto& s : all)
    s->close();
}

class listener : public http_server,
                 public std::enable_shared_from_this<listener> {
public:
  listener(net::io_context& ioc, std::shared_ptr<server_context> ctx)
    : ioc_(ioc),
      strand_(net::make_strand(ioc)),
      acceptor_(strand_),
      retry_(strand_),
      ctx_(std::move(ctx)) {
  }

  bool open(const tcp::endpoint& ep, std::string& error) {
    beast::error_code ec;
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
      acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec)
      acceptor_.bind(ep, ec);
    if (!ec)
      acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      error = ec.message();
      return false;
    }
    port_ = acceptor_.local_endpoint().port();
    return true;
  }

  void start(edge_actor edge) override {
    ctx_->edge = std::move(edge); // before the first accept: no race
    net::dispatch(strand_, [self = shared_from_this()] { self->accept(); });
  }

  std::uint16_t port() const override {
    return port_;
  }

  void stop() override {
    net::dispatch(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      beast::error_code ec;
      self->acceptor_.close(ec);
      self->retry_.cancel();
      self->ctx_->registry.close_all();
    });
  }

private:
  void accept() {
    if (stopped_)
      return;
    acceptor_.async_accept(
      net::make_strand(ioc_),
      [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        self->on_accept(ec, std::move(socket));
      });
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (stopped_)
      return;
    if (ec) {
      // Out of file descriptors, say: free one and retry shortly instead of
      // spinning on the error.
      log("http", "accept failed: ", ec.message());
      ctx_->registry.make_room();
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([self = shared_from_this()](beast::error_code e) {
        if (!e)
          self->accept();
      });
      return;
    }
    if (ctx_->registry.full() && !ctx_->registry.make_room()) {
      beast::error_code ignored;
      socket.close(ignored); // every connection is busy with a request
    } else {
      std::make_shared<session>(std::move(socket), ctx_)->start();
    }
    accept();
  }

  net::io_context& ioc_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  net::steady_timer retry_;
  std::shared_ptr<server_context> ctx_;
  std::uint16_t port_ = 0;
  bool stopped_ = false;
};

} // namespace

std::shared_ptr<http_server>
bind_http_server(net::io_context& ioc, const std::string& host,
                 std::uint16_t port, const http_limits& limits,
                 std::string& error) {
  beast::error_code ec;
  auto address = net::ip::make_address(host == "localhost" ? "127.0.0.1"
                                                           : host,
                                       ec);
  if (ec) {
    error = "'" + host + "' is not an IP address";
    return nullptr;
  }
  auto ctx = std::make_shared<server_context>(limits);
  auto l = std::make_shared<listener>(ioc, std::move(ctx));
  if (!l->open(tcp::endpoint{address, port}, error))
    return nullptr;
  return l;
}

} // namespace dlt
