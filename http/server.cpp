// The REST transport's listener, after Beast's http_server_async: it accepts
// connections and starts a session for each (session.cpp). When
// max_connections are open, the oldest connection still waiting for its
// request is closed to admit the new one, else the oldest one waiting for an
// answer (answered 503): neither half-open floods nor requests parked on a
// long consensus round can lock new clients out.

#include "http/server.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "actors/log.hpp"
#include "http/transport.hpp"

namespace dlt {

void connection_registry::add(const std::shared_ptr<connection>& c) {
  std::lock_guard<std::mutex> guard{mutex_};
  c->handle_ = list_.insert(list_.end(), c);
  c->listed_ = true;
}

void connection_registry::remove(connection& c) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!c.listed_)
    return;
  list_.erase(c.handle_);
  c.listed_ = false;
}

bool connection_registry::full() {
  std::lock_guard<std::mutex> guard{mutex_};
  return list_.size() >= max_;
}

bool connection_registry::make_room() {
  std::shared_ptr<connection> victim;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    auto now = std::chrono::steady_clock::now();
    static constexpr std::pair<conn_state, std::chrono::milliseconds> order[] = {
      {conn_state::idle, min_age},
      {conn_state::reading, min_age},
      {conn_state::waiting, std::chrono::milliseconds{0}},
      {conn_state::parked, min_parked_age},
    };
    for (auto [kind, age] : order) {
      for (auto& weak : list_) {
        auto c = weak.lock();
        if (!c || c->state() != kind || now - c->since() < age)
          continue;
        if (!victim || c->since() < victim->since())
          victim = std::move(c);
      }
      if (victim)
        break;
    }
    if (!victim)
      return false;
    list_.erase(victim->handle_);
    victim->listed_ = false;
  }
  victim->evict();
  return true;
}

void connection_registry::close_all() {
  std::vector<std::shared_ptr<connection>> all;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& weak : list_)
      if (auto c = weak.lock())
        all.push_back(std::move(c));
  }
  for (auto& c : all)
    c->close();
}

server_context::server_context(const http_limits& l)
  : limits(l), registry(l.max_connections) {
  // The heavy pool's thread runs at a lower priority than the I/O threads.
  net::post(heavy, [] {
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  });
}

server_context::~server_context() {
  heavy.stop();
  heavy.join();
}

namespace {

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

  void start(server_wiring wiring) override {
    ctx_->wiring = std::move(wiring); // before the first accept: no race
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
      // Every connection is busy and none has waited long: say so rather
      // than drop the client without a word.
      refuse(std::move(socket));
    } else {
      start_session(std::move(socket), ctx_);
    }
    accept();
  }

  /// A canned 503 (Connection: close), written without reading the
  /// request; the socket closes once it is out (or after a second).
  static void refuse(tcp::socket socket) {
    static const std::string answer = [] {
      std::string body = "{\"error\": \"The node is at its connection limit; "
                         "try again shortly\"}";
      return "HTTP/1.1 503 Service Unavailable\r\nServer: dlt-node\r\n"
             "Content-Type: application/json\r\nRetry-After: 1\r\n"
             "Connection: close\r\nContent-Length: "
             + std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    auto s = std::make_shared<beast::tcp_stream>(std::move(socket));
    s->expires_after(std::chrono::seconds(1));
    net::async_write(*s, net::buffer(answer),
                     [s](beast::error_code, std::size_t) {
                       beast::error_code ignored;
                       s->socket().shutdown(tcp::socket::shutdown_both, ignored);
                       s->close();
                     });
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
