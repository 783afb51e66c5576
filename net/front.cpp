// The front's shared parts: its thread, the acceptor (with the connection
// limits), outbound connections (the connector) and the memory bound over
// all connections. One connection's relay is in net/session.cpp; budgets
// and the stand-in node ids in net/core.cpp.

#include "net/front.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/actor_system.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>

#include "actors/log.hpp"
#include "net/core.hpp"

namespace dlt::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

/// A stand-in id is reused only this long after its last connection
/// closed (CAF forgets a lost node within milliseconds).
constexpr std::chrono::seconds stand_in_cooling{10};
/// Spare frame buffers (see spare_frames): two answers relayed each way at
/// once, freed after two quiet seconds.
constexpr std::size_t spare_frame_count = 4;
constexpr std::chrono::seconds spare_frame_idle{2};
/// After the process ran out of descriptors, accepting waits this long.
constexpr std::chrono::milliseconds accept_pause{100};

node_bytes serialize_node(caf::actor_system& sys) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto node = sys.node();
  node_bytes out{};
  if (!sink(node) && buf.size() == node_size)
    std::copy(buf.begin(), buf.end(), out.begin());
  return out;
}

std::string endpoint_text(const tcp::endpoint& ep) {
  auto a = ep.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":"
         + std::to_string(ep.port());
}

} // namespace

// -- the core ----------------------------------------------------------------------

front_core::front_core(caf::actor_system& system, front_settings s)
  : sys(system),
    settings(std::move(s)),
    pool(std::max<std::size_t>(64, 4 * settings.max_connections),
         stand_in_cooling),
    spares(ioc, spare_frame_count,
           header_size + static_cast<std::size_t>(settings.limits.max_message),
           spare_frame_idle),
    work(ioc.get_executor()) {
  broker = sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  our_node = serialize_node(sys);
  frames_all = bucket{settings.frames_per_second_all,
                      2 * settings.frames_per_second_all,
                      2 * settings.frames_per_second_all};
  accepts = bucket{settings.accepts_per_second, 2 * settings.accepts_per_second,
                   2 * settings.accepts_per_second};
}

std::size_t front_core::max_queued() const {
  return settings.max_queued_bytes > 0 ? settings.max_queued_bytes
                                       : settings.limits.max_message;
}

bool front_core::hold_inbound(const node_bytes& peer) const {
  return outbound_pending > 0
         && std::memcmp(our_node.data(), peer.data(), node_size) < 0;
}

void front_core::release_held() {
  auto waiting = std::move(held_back);
  held_back.clear();
  for (auto& resume : waiting)
    resume();
}

std::size_t front_core::max_pending() const {
  return std::max<std::size_t>(4, settings.max_connections / 4);
}

void front_core::check_memory() {
  auto bound = settings.max_memory > 0
                 ? settings.max_memory
                 : 4 * static_cast<std::size_t>(settings.limits.max_message);
  // The spare buffers are the first to go: nobody waits on them.
  if (held + spares.bytes() > bound)
    spares.clear();
  while (held > bound) {
    session_base* largest = nullptr;
    for (auto* s : sessions)
      if (!largest || s->held() > largest->held())
        largest = s;
    if (!largest || largest->held() == 0)
      return;
    largest->close("the front's buffers are full (" + std::to_string(held)
                     + " bytes); this connection holds the most",
                   true);
  }
}

// -- accepting ---------------------------------------------------------------------

namespace {

void accept_next(std::shared_ptr<front_core> core,
                 std::shared_ptr<tcp::acceptor> acceptor) {
  acceptor->async_accept([core, acceptor](const boost::system::error_code& ec,
                                          tcp::socket socket) {
    if (core->stopped || !acceptor->is_open())
      return;
    if (ec) {
      if (ec == asio::error::operation_aborted)
        return;
      // Out of descriptors (or memory): the connection waits in the
      // kernel's backlog, costing none, until some are free again.
      core->log.line("cannot accept native connections: " + ec.message());
      auto timer = std::make_shared<asio::steady_timer>(core->ioc, accept_pause);
      timer->async_wait([core, acceptor, timer](const boost::system::error_code&) {
        accept_next(core, acceptor);
      });
      return;
    }
    boost::system::error_code ignored;
    auto peer = endpoint_text(socket.remote_endpoint(ignored));
    std::string refusal;
    core->accepts.refill(steady::now());
    if (core->accepts.tokens < 1)
      refusal = "more than " + std::to_string(static_cast<int>(
                                 core->settings.accepts_per_second))
                + " new connections a second";
    else if (core->connections >= core->settings.max_connections)
      refusal = "at the limit of " + std::to_string(core->settings.max_connections)
                + " native connections (--max-native-connections)";
    else if (core->pending >= core->max_pending())
      refusal = std::to_string(core->pending) + " handshakes under way already";
    else if (!core->face)
      refusal = "the node is starting";
    if (!refusal.empty()) {
      ++core->refused;
      core->log.line("refused a native connection from " + peer + ": " + refusal);
      socket.close(ignored);
    } else {
      core->accepts.tokens -= 1;
      ++core->accepted;
      ++core->connections;
      ++core->pending;
      socket.set_option(tcp::no_delay(true), ignored);
      start_inbound(core, std::move(socket), peer);
    }
    accept_next(core, acceptor);
  });
}

// -- connecting --------------------------------------------------------------------

void connect(std::shared_ptr<front_core> core, peer_address peer,
             std::chrono::milliseconds timeout,
             std::shared_ptr<connect_reply> reply) {
  if (core->stopped)
    return reply->deliver(nullptr, "the node is stopping");
  if (!core->face) {
    core->waiting.push_back([core, peer, timeout, reply] {
      connect(core, peer, timeout, reply);
    });
    return;
  }
  if (core->connections >= core->settings.max_connections)
    return reply->deliver(nullptr,
                          "at the limit of "
                            + std::to_string(core->settings.max_connections)
                            + " native connections (--max-native-connections)");
  ++core->connections;
  // Until CAF has the peer's answer (or the attempt failed), inbound
  // handshakes from nodes with higher ids wait (see hold_inbound).
  ++core->outbound_pending;
  reply = std::make_shared<connect_reply>(
    [core, inner = reply](caf::strong_actor_ptr face, std::string error) {
      asio::post(core->ioc, [core] {
        if (--core->outbound_pending == 0)
          core->release_held();
      });
      inner->deliver(std::move(face), std::move(error));
    });
  auto deadline = steady::now() + timeout;
  auto resolver = std::make_shared<tcp::resolver>(core->ioc);
  auto socket = std::make_shared<tcp::socket>(core->ioc);
  auto timer = std::make_shared<asio::steady_timer>(core->ioc, deadline);
  auto timed_out = std::make_shared<bool>(false);
  core->connecting.insert(timer.get());
  timer->async_wait([resolver, socket, timed_out](const boost::system::error_code& ec) {
    if (ec)
      return;
    *timed_out = true;
    resolver->cancel();
    boost::system::error_code ignored;
    socket->close(ignored);
  });
  auto fail = [core, reply, timer, timed_out, timeout](const std::string& why) {
    core->connecting.erase(timer.get());
    timer->cancel();
    --core->connections;
    reply->deliver(nullptr, *timed_out ? "no connection within "
                                           + std::to_string(timeout.count())
                                           + " ms"
                                       : why);
  };
  resolver->async_resolve(
    peer.host, std::to_string(peer.port),
    [core, peer, socket, timer, deadline, reply, fail, resolver](
      const boost::system::error_code& ec, tcp::resolver::results_type found) {
      if (ec)
        return fail("cannot resolve " + peer.host + ": " + ec.message());
      asio::async_connect(
        *socket, found,
        [core, peer, socket, timer, deadline, reply, fail](
          const boost::system::error_code& ec, const tcp::endpoint&) {
          if (ec || core->stopped)
            return fail("cannot connect to " + peer.host + ":"
                        + std::to_string(peer.port) + ": " + ec.message());
          core->connecting.erase(timer.get());
          timer->cancel();
          boost::system::error_code ignored;
          socket->set_option(tcp::no_delay(true), ignored);
          start_outbound(core, std::move(*socket), peer.text, peer.port,
                         deadline, reply);
        });
    });
}

} // namespace

// -- the front ---------------------------------------------------------------------

front::front(std::shared_ptr<front_core> core) : core_(std::move(core)) {
}

front::~front() {
  stop();
}

std::shared_ptr<front> front::start(caf::actor_system& sys,
                                    front_settings settings,
                                    std::string& error) {
  auto core = std::make_shared<front_core>(sys, std::move(settings));
  if (!is_default_node(core->our_node.data())) {
    error = "cannot read this node's id";
    return nullptr;
  }
  if (core->settings.tls) {
    core->tls = load_tls(*core->settings.tls, error);
    if (!core->tls)
      return nullptr;
  }
  core->thread = std::thread([c = core.get()] {
    // Named, so its CPU time can be read apart (bench/native_rows.py).
    pthread_setname_np(pthread_self(), "native-front");
    c->ioc.run();
    c->finished.set_value();
  });
  return std::shared_ptr<front>(new front(std::move(core)));
}

void front::set_face(const caf::strong_actor_ptr& face) {
  asio::post(core_->ioc, [core = core_, face] {
    core->face = face;
    core->face_id = face ? face->id() : 0;
    auto waiting = std::move(core->waiting);
    core->waiting.clear();
    for (auto& f : waiting)
      f();
  });
}

std::optional<std::uint16_t> front::listen(const std::string& host,
                                           std::uint16_t port,
                                           std::string& error) {
  std::promise<std::optional<std::uint16_t>> result;
  asio::post(core_->ioc, [&] {
    boost::system::error_code ec;
    tcp::resolver resolver{core_->ioc};
    auto found = resolver.resolve(host, std::to_string(port),
                                  tcp::resolver::passive, ec);
    if (ec || found.empty()) {
      error = "cannot resolve " + host + ": " + ec.message();
      return result.set_value(std::nullopt);
    }
    auto acceptor = std::make_shared<tcp::acceptor>(core_->ioc);
    auto ep = found.begin()->endpoint();
    acceptor->open(ep.protocol(), ec);
    if (!ec)
      acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
      acceptor->bind(ep, ec);
    if (!ec)
      acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      error = ec.message();
      return result.set_value(std::nullopt);
    }
    core_->port = acceptor->local_endpoint(ec).port();
    core_->acceptors.push_back(acceptor);
    accept_next(core_, acceptor);
    result.set_value(core_->port);
  });
  return result.get_future().get();
}

native_connector front::connector() {
  std::weak_ptr<front_core> weak = core_;
  return [weak](const peer_address& peer, std::chrono::milliseconds timeout,
                std::function<void(caf::strong_actor_ptr, std::string)> done) {
    auto reply = std::make_shared<connect_reply>(std::move(done));
    auto core = weak.lock();
    if (!core || !core->thread.joinable())
      return reply->deliver(nullptr, "the node is stopping");
    asio::post(core->ioc, [core, peer, timeout, reply] {
      connect(core, peer, timeout, reply);
    });
  };
}

void front::stop() {
  if (!core_ || !core_->thread.joinable())
    return;
  std::promise<void> closed;
  asio::post(core_->ioc, [core = core_, &closed] {
    core->stopped = true;
    boost::system::error_code ignored;
    for (auto& a : core->acceptors)
      a->close(ignored);
    for (auto* t : core->connecting)
      t->cancel();
    auto sessions = core->sessions;
    for (auto* s : sessions)
      s->close("the node is stopping", false);
    core->waiting.clear();
    core->held_back.clear();
    core->spares.clear();
    core->work.reset();
    closed.set_value();
  });
  closed.get_future().wait();
  // What is left ends with its socket or timer; should anything hang on,
  // the loop is stopped (its handlers are then dropped unrun).
  if (core_->finished.get_future().wait_for(std::chrono::seconds(2))
      != std::future_status::ready)
    core_->ioc.stop();
  core_->thread.join();
}

front_stats front::stats() {
  std::promise<front_stats> result;
  if (!core_->thread.joinable() || core_->ioc.stopped())
    return {};
  asio::post(core_->ioc, [&] {
    front_stats s;
    s.connections = core_->connections;
    s.pending = core_->pending;
    s.accepted = core_->accepted;
    s.refused = core_->refused;
    s.violations = core_->violations;
    s.held_bytes = core_->held;
    result.set_value(s);
  });
  return result.get_future().get();
}

} // namespace dlt::net
