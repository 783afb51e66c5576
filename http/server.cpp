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

#include "actors/log.hpp"
#include "http/transport.hpp"

namespace dlt {

connection_registry::handle connection_registry::add(std::weak_ptr<connection> c) {
  std::lock_guard<std::mutex> guard{mutex_};
  return list_.insert(list_.end(), std::move(c));
}

void connection_registry::remove(handle h) {
  std::lock_guard<std::mutex> guard{mutex_};
  list_.erase(h);
}

bool connection_registry::full() {
  std::lock_guard<std::mutex> guard{mutex_};
  return list_.size() >= max_;
}

bool connection_registry::make_room() {
  std::shared_ptr<connection> victim;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto pass : {&connection::idle, &connection::parked}) {
      for (auto& weak : list_)
        if (auto c = weak.lock(); c && ((*c).*pass)()) {
          victim = std::move(c);
          break;
        }
      if (victim)
        break;
    }
  }
  if (!victim)
    return false;
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
      beast::error_code ignored;
      socket.close(ignored); // every connection is streaming or writing
    } else {
      start_session(std::move(socket), ctx_);
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
