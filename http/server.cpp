// The REST transport's listener, after Beast's http_server_async: it accepts
// connections and starts a session for each (session.cpp). When
// max_connections are open, the oldest connection still waiting for its
// request is closed to admit the new one, else the oldest one waiting for an
// answer (answered 503): neither half-open floods nor requests parked on a
// long consensus round can lock new clients out. Connections younger than a
// quarter second are not evicted; a new client arriving while all are that
// young waits (at most a second) for one to age or close.

#include "http/server.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>

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
      held_timer_(strand_),
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
      self->held_timer_.cancel();
      self->held_.clear();
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
    if (!held_.empty() || (ctx_->registry.full() && !ctx_->registry.make_room()))
      hold(std::move(socket));
    else
      start_session(std::move(socket), ctx_);
    accept();
  }

  /// Every connection is busy and none has been so long enough to be
  /// evicted (a burst of new clients, or a flood of fresh half-open
  /// connections): the new one waits, in arrival order, until one ages
  /// into eviction or closes, at most held_for; then, or when too many
  /// wait, it gets the canned 503 rather than silence.
  void hold(tcp::socket socket) {
    if (held_.size() >= max_held) {
      refuse(std::move(socket));
      return;
    }
    held_.push_back({std::move(socket), std::chrono::steady_clock::now()});
    if (held_.size() == 1)
      poll_held();
  }

  void poll_held() {
    held_timer_.expires_after(std::chrono::milliseconds(50));
    held_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stopped_)
        return;
      auto now = std::chrono::steady_clock::now();
      while (!self->held_.empty()) {
        auto& first = self->held_.front();
        if (!self->ctx_->registry.full() || self->ctx_->registry.make_room())
          start_session(std::move(first.socket), self->ctx_);
        else if (now - first.since >= held_for)
          refuse(std::move(first.socket));
        else
          break;
        self->held_.pop_front();
      }
      if (!self->held_.empty())
        self->poll_held();
    });
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
  struct held_socket {
    tcp::socket socket;
    std::chrono::steady_clock::time_point since;
  };
  static constexpr std::size_t max_held = 256;
  static constexpr std::chrono::milliseconds held_for{1000};
  std::deque<held_socket> held_;
  net::steady_timer held_timer_;
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
