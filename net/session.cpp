// One native connection through the front: the peer's stream (TCP, or TLS
// over it) on one side, our end of a socketpair whose other end CAF's BASP
// broker holds on the other. Two pumps:
//
//   up   (peer -> CAF): one frame at a time. The header is judged before
//        its payload is read; the payload buffer grows only as bytes
//        arrive (or is a spare buffer kept by the front, counted whole at
//        once); the whole frame is judged, then written to CAF, and only
//        then is the next one read. Reading pauses while the peer has too
//        many requests unanswered or is over its frame/byte budget.
//   down (CAF -> peer): always reading, so CAF's buffers never grow; frames
//        are judged and queued for the peer, and the connection is closed
//        once the queue passes its bound (a peer that does not read).
//
// Closing either side closes both; CAF then cleans up as for any lost
// connection (its proxies of the peer die, monitors fire).
//
// (One file past the usual size: the two pumps share the connection's
// state and its invariants -- what is held, paused, written, closed -- and
// read best side by side.)

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/send.hpp>

#include "net/core.hpp"

namespace dlt::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using local_socket = asio::local::stream_protocol::socket;
using tls_stream = asio::ssl::stream<tcp::socket>;

/// Bytes read ahead of the frame being judged.
constexpr std::size_t scratch_size = 16 << 10;
/// Payloads at least this large are read straight into their frame.
constexpr std::size_t direct_read = 64 << 10;
/// Small frames queued for the peer go out together, up to this.
constexpr std::size_t coalesce = 64 << 10;
/// CAF's frames are ours; this only guards against a broken length.
constexpr std::uint32_t max_local_frame = 1u << 30;
/// How often a paused reader looks again when nothing wakes it.
constexpr auto recheck = std::chrono::milliseconds(100);

/// One direction's framing: bytes read and not yet used, and the frame
/// being put together.
struct framing {
  std::vector<unsigned char> scratch = std::vector<unsigned char>(scratch_size);
  std::size_t begin = 0;
  std::size_t end = 0;
  bool in_payload = false;
  header hdr;
  std::size_t need = 0; // payload bytes still to come
  bool keep = false;    // kept for judging, or skipped
  std::vector<unsigned char> frame; // header and payload so far
  /// Reading a large payload straight into `frame`: it is grown ahead of
  /// the reads, and only [0, filled) holds bytes read.
  bool direct = false;
  std::size_t filled = 0;
  /// Non-zero: `frame` is one of the front's spare buffers, counted whole
  /// (its capacity) from the moment it was taken, so what it holds as the
  /// payload arrives is not counted again.
  std::size_t whole = 0;

  std::size_t available() const { return end - begin; }
  void make_room() {
    if (begin == end) {
      begin = end = 0;
    } else if (end == scratch.size()) {
      std::memmove(scratch.data(), scratch.data() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
  }
};

std::string ms_text(steady::duration d) {
  return std::to_string(
           std::chrono::duration_cast<std::chrono::milliseconds>(d).count())
         + " ms";
}

/// Asks CAF's broker to run BASP's client side over `scribe`, and hands
/// the answer (the peer's face) to `reply`.
void request_face(caf::event_based_actor* self, caf::actor broker,
                  caf::io::scribe_ptr scribe, std::uint16_t port,
                  std::chrono::milliseconds timeout,
                  std::shared_ptr<connect_reply> reply) {
  self->request(broker, timeout, caf::connect_atom::value, std::move(scribe),
                port)
    .then(
      [reply](const caf::node_id&, caf::strong_actor_ptr& face,
              const std::set<std::string>&) {
        if (face)
          reply->deliver(std::move(face), {});
        else
          reply->deliver(nullptr, "no actor published there");
      },
      [reply](caf::error& err) { reply->deliver(nullptr, to_string(err)); });
}

template <class Stream>
class session final : public session_base,
                      public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  session(std::shared_ptr<front_core> core, Stream stream,
          connection_rules::side side, std::string peer,
          steady::time_point deadline, std::uint16_t port,
          std::shared_ptr<connect_reply> reply)
    : core_(std::move(core)),
      peer_(std::move(stream)),
      local_(core_->ioc),
      deadline_(core_->ioc),
      pause_(core_->ioc),
      rules_(side, core_->our_node, core_->face_id, core_->settings.limits,
             [c = core_.get()](const node_bytes& real) {
               return c->pool.acquire(real);
             }),
      side_(side),
      peer_text_(std::move(peer)),
      handshake_deadline_(deadline),
      port_(port),
      reply_(std::move(reply)) {
    const auto& s = core_->settings;
    frames_ = bucket{s.frames_per_second, 2 * s.frames_per_second,
                     2 * s.frames_per_second};
    double bytes = s.limits.max_message;
    bytes_ = bucket{bytes, bytes, bytes};
    core_->sessions.insert(this);
  }

  ~session() override { core_->sessions.erase(this); }

  void start() {
    arm_deadline();
    if constexpr (is_tls) {
      auto role = side_ == connection_rules::side::inbound
                    ? asio::ssl::stream_base::server
                    : asio::ssl::stream_base::client;
      peer_.async_handshake(role, [self = this->shared_from_this()](
                                    const boost::system::error_code& ec) {
        if (self->closed_)
          return;
        if (ec)
          return self->close("TLS: " + ec.message(), true);
        self->secured();
      });
    } else {
      secured();
    }
  }

  void close(const std::string& why, bool notable) override {
    if (closed_)
      return;
    closed_ = true;
    if (notable) { // first: whoever sees the close can read why
      ++core_->violations;
      core_->log.line(
        (side_ == connection_rules::side::inbound ? "closed the connection from "
                                                  : "closed the connection to ")
        + peer_text_ + ": " + why);
    }
    boost::system::error_code ec;
    deadline_.cancel();
    pause_.cancel();
    peer_.lowest_layer().close(ec);
    if (local_.is_open())
      local_.close(ec);
    core_->held -= held_;
    held_ = 0;
    --core_->connections;
    if (!rules_.established()) {
      if (side_ == connection_rules::side::inbound)
        --core_->pending;
      // Before the peer's handshake CAF knows nothing to tell: the reason
      // is ours. After it, CAF answers (the face, or its own error).
      if (reply_)
        reply_->deliver(nullptr, why);
    } else {
      core_->pool.release(rules_.peer_node());
    }
  }

  std::size_t held() const override { return held_; }

private:
  void hold(std::ptrdiff_t delta) {
    if (closed_)
      return;
    held_ += delta;
    core_->held += delta;
  }

  void arm_deadline() {
    auto self = this->shared_from_this();
    if (!rules_.established()) {
      deadline_.expires_at(handshake_deadline_);
    } else {
      deadline_.expires_after(core_->settings.idle_timeout / 2);
    }
    deadline_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->closed_)
        return;
      if (!self->rules_.established())
        return self->close("no handshake in time", true);
      if (steady::now() - self->last_peer_ >= self->core_->settings.idle_timeout)
        return self->close("silent for " + ms_text(steady::now() - self->last_peer_),
                           true);
      self->arm_deadline();
    });
  }

  /// After TLS (or at once): an inbound connection waits for the peer's
  /// handshake before CAF hears of it; an outbound one hands CAF its end
  /// now (CAF writes the client handshake first).
  void secured() {
    last_peer_ = steady::now();
    if (side_ == connection_rules::side::outbound && !hand_off())
      return;
    up();
  }

  bool hand_off() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      close(std::string{"no socketpair for CAF: "} + std::strerror(errno), true);
      return false;
    }
    boost::system::error_code ec;
    local_.assign(asio::local::stream_protocol(), sv[1], ec);
    if (ec) {
      ::close(sv[0]);
      ::close(sv[1]);
      close("cannot use CAF's socketpair: " + ec.message(), true);
      return false;
    }
    auto scribe = core_->sys.middleman().backend().new_scribe(sv[0]);
    if (side_ == connection_rules::side::inbound) {
      // What a doorman does for an accepted connection: CAF writes its
      // server handshake offering our face, then reads.
      caf::anon_send(core_->broker, caf::publish_atom::value, std::move(scribe),
                     core_->port, core_->face, std::set<std::string>{});
    } else {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        handshake_deadline_ - steady::now());
      core_->sys.spawn(request_face, core_->broker, std::move(scribe), port_,
                       std::max(left, std::chrono::milliseconds(1))
                         + std::chrono::seconds(1),
                       reply_);
    }
    handed_off_ = true;
    down();
    return true;
  }

  // -- up: peer -> CAF -------------------------------------------------------------

  /// How long the peer must wait before its next frame is read.
  steady::duration budget_wait() {
    auto now = steady::now();
    frames_.refill(now);
    bytes_.refill(now);
    core_->frames_all.refill(now);
    return std::max({frames_.wait_for(1), bytes_.wait_for(0),
                     core_->frames_all.wait_for(1)});
  }

  void up() {
    auto& f = up_;
    while (!closed_) {
      if (!f.in_payload) {
        if (rules_.established()) {
          if (!rules_.may_read())
            return pause_up(recheck); // answers going out wake it sooner
          auto wait = budget_wait();
          if (wait > steady::duration::zero())
            return pause_up(wait);
        }
        if (f.available() < header_size)
          return up_read();
        f.hdr = read_header(&f.scratch[f.begin]);
        auto j = rules_.peer_header(f.hdr);
        if (j.what == verdict::close)
          return close(j.why, true);
        f.keep = j.what == verdict::forward;
        f.frame.clear();
        if (f.keep) {
          if (!take_spare_up())
            return;
          f.frame.reserve(header_size
                          + std::min<std::size_t>(f.hdr.payload_len, direct_read));
          f.frame.insert(f.frame.end(), f.scratch.begin() + f.begin,
                         f.scratch.begin() + f.begin + header_size);
          hold_up(header_size);
        }
        f.begin += header_size;
        f.need = f.hdr.payload_len;
        f.in_payload = true;
        frames_.tokens -= 1;
        core_->frames_all.tokens -= 1;
        bytes_.tokens -= header_size + f.hdr.payload_len;
      }
      auto take = std::min(f.need, f.available());
      if (take > 0) {
        if (f.keep) {
          f.frame.insert(f.frame.end(), f.scratch.begin() + f.begin,
                         f.scratch.begin() + f.begin + take);
          hold_up(take);
        }
        f.begin += take;
        f.need -= take;
      }
      if (f.need > 0)
        return up_read();
      f.in_payload = false;
      if (!f.keep)
        continue; // dropped unread
      bool was_established = rules_.established();
      auto j = rules_.peer_frame(f.hdr, f.frame.data() + header_size,
                                 f.frame.size() - header_size);
      if (j.what == verdict::close)
        return close(j.why, true);
      if (j.what == verdict::drop) {
        release_frame();
        continue;
      }
      if (!was_established && rules_.established()) {
        arm_deadline(); // from the handshake deadline to the idle one
        if (side_ == connection_rules::side::inbound) {
          --core_->pending;
          if (core_->hold_inbound(rules_.peer_node()))
            return hold_back();
          if (!hand_off())
            return;
        }
      }
      forward_up();
      return;
    }
  }

  /// Waits for our own links to be answered (see front_core::held).
  void hold_back() {
    holding_ = true;
    auto self = this->shared_from_this();
    core_->held_back.push_back([self] { self->resume(); });
    pause_.expires_after(std::chrono::seconds(1));
    pause_.async_wait([self](const boost::system::error_code&) { self->resume(); });
  }

  void resume() {
    if (!holding_ || closed_)
      return;
    holding_ = false;
    pause_.cancel();
    if (hand_off())
      forward_up();
  }

  /// Writes the frame judged last to CAF, then reads on.
  void forward_up() {
    asio::async_write(local_, asio::buffer(up_.frame),
                      [self = this->shared_from_this()](
                        const boost::system::error_code& ec, std::size_t) {
                        if (self->closed_)
                          return;
                        if (ec)
                          return self->close("CAF closed", false);
                        self->release_frame();
                        self->up();
                      });
  }

  /// The frame read directly is as long as what was read.
  void end_direct() {
    auto& f = up_;
    if (!f.direct)
      return;
    f.direct = false;
    hold_up(-static_cast<std::ptrdiff_t>(f.frame.size() - f.filled));
    f.frame.resize(f.filled);
  }

  void release_frame() {
    end_direct();
    hold(-static_cast<std::ptrdiff_t>(up_.whole > 0 ? up_.whole
                                                    : up_.frame.size()));
    up_.whole = 0;
    up_.frame.clear();
    give_spare(up_.frame);
  }

  /// Counts bytes of the frame being read from the peer (not again when
  /// it is a spare counted whole).
  void hold_up(std::ptrdiff_t delta) {
    if (up_.whole == 0)
      hold(delta);
  }

  /// A large payload announced by the peer (only an answer to our own
  /// request may be large) is read into one of the front's spare buffers
  /// if one fits it well (at most three times its size): its pages are
  /// already there. The buffer is counted whole at once, so a peer that
  /// stops sending holds no memory the front's bound does not see (and
  /// with too much held, a connection is closed). False: this one was.
  bool take_spare_up() {
    auto& f = up_;
    auto need = header_size + static_cast<std::size_t>(f.hdr.payload_len);
    if (f.hdr.payload_len < direct_read || f.frame.capacity() >= need)
      return true;
    auto spare = core_->spares.take(need, 3 * need);
    if (spare.capacity() == 0)
      return true; // grown as the bytes arrive instead
    give_spare(f.frame);
    f.frame = std::move(spare);
    f.whole = f.frame.capacity();
    hold(static_cast<std::ptrdiff_t>(f.whole));
    core_->check_memory();
    return !closed_;
  }

  /// A buffer too large to stay with this connection goes to the spares.
  void give_spare(std::vector<unsigned char>& buffer) {
    if (buffer.capacity() > keep_capacity) {
      core_->spares.give(std::move(buffer));
      buffer = {};
    }
  }

  void up_read() {
    auto& f = up_;
    auto self = this->shared_from_this();
    if (f.in_payload && f.keep && f.available() == 0 && f.need >= direct_read) {
      // Large payloads go straight into the frame, which grows with what
      // has arrived (at most doubling), never to what the header claims.
      // The room stays between reads: sized down after each read, it was
      // zero-filled again by the next, and a 3.7 MB answer read as 16 KiB
      // TLS records cost 140 ms of memset (O(n^2)).
      if (!f.direct) {
        f.direct = true;
        f.filled = f.frame.size();
      }
      if (f.filled == f.frame.size()) {
        auto chunk = std::min(f.need, std::max(direct_read, f.filled));
        f.frame.resize(f.filled + chunk);
        hold_up(chunk);
        core_->check_memory();
        if (closed_)
          return;
      }
      peer_.async_read_some(
        asio::buffer(f.frame.data() + f.filled, f.frame.size() - f.filled),
        [self](const boost::system::error_code& ec, std::size_t n) {
          if (self->closed_)
            return;
          auto& f = self->up_;
          f.filled += n;
          f.need -= n;
          if (ec || f.need < direct_read)
            self->end_direct();
          if (ec)
            return self->peer_failed(ec);
          self->last_peer_ = steady::now();
          self->up();
        });
      return;
    }
    f.make_room();
    peer_.async_read_some(
      asio::buffer(f.scratch.data() + f.end, f.scratch.size() - f.end),
      [self](const boost::system::error_code& ec, std::size_t n) {
        if (self->closed_)
          return;
        if (ec)
          return self->peer_failed(ec);
        self->up_.end += n;
        self->last_peer_ = steady::now();
        self->up();
      });
  }

  void peer_failed(const boost::system::error_code& ec) {
    bool eof = ec == asio::error::eof || ec == asio::error::connection_reset
               || ec == asio::error::operation_aborted;
    if constexpr (is_tls)
      eof = eof || ec == asio::ssl::error::stream_truncated;
    if (eof && rules_.established())
      return close("the peer closed", false);
    close((is_tls ? "TLS: " : "") + ec.message(), !eof);
  }

  void pause_up(steady::duration d) {
    paused_ = true;
    pause_.expires_after(d);
    pause_.async_wait(
      [self = this->shared_from_this()](const boost::system::error_code&) {
        self->paused_ = false;
        if (!self->closed_)
          self->up();
      });
  }

  // -- down: CAF -> peer -------------------------------------------------------------

  void down() {
    auto& f = down_;
    while (!closed_) {
      if (!f.in_payload) {
        if (f.available() < header_size)
          return down_read();
        f.hdr = read_header(&f.scratch[f.begin]);
        if (f.hdr.payload_len > max_local_frame)
          return close("CAF wrote a frame of " + std::to_string(f.hdr.payload_len)
                         + " bytes",
                       true);
        f.frame.clear();
        if (header_size + f.hdr.payload_len > keep_capacity
            && f.frame.capacity() < header_size + f.hdr.payload_len) {
          // CAF's frames are ours and arrive whole at once: room for all
          // of it, from the spares when one fits it well.
          give_spare(f.frame);
          f.frame = core_->spares.take(header_size + f.hdr.payload_len,
                                       2 * (header_size + f.hdr.payload_len));
        }
        f.frame.reserve(header_size + f.hdr.payload_len);
        f.frame.insert(f.frame.end(), f.scratch.begin() + f.begin,
                       f.scratch.begin() + f.begin + header_size);
        hold(header_size);
        f.begin += header_size;
        f.need = f.hdr.payload_len;
        f.in_payload = true;
      }
      auto take = std::min(f.need, f.available());
      if (take > 0) {
        f.frame.insert(f.frame.end(), f.scratch.begin() + f.begin,
                       f.scratch.begin() + f.begin + take);
        hold(take);
        f.begin += take;
        f.need -= take;
      }
      if (f.need > 0)
        return down_read();
      f.in_payload = false;
      auto j = rules_.local_frame(f.hdr, f.frame.data() + header_size,
                                  f.frame.size() - header_size);
      if (j.what == verdict::close)
        return close(j.why, true);
      if (j.what == verdict::drop) {
        hold(-static_cast<std::ptrdiff_t>(f.frame.size()));
        f.frame.clear();
        continue;
      }
      out_bytes_ += f.frame.size();
      out_.push_back(std::move(f.frame));
      f.frame = {};
      if (out_bytes_ > core_->max_queued())
        return close("the peer does not read: " + std::to_string(out_bytes_)
                       + " bytes queued for it",
                     true);
      if (paused_ && rules_.may_read())
        pause_.cancel(); // an answer went out: read on
      write_peer();
      core_->check_memory();
    }
  }

  void down_read() {
    auto& f = down_;
    auto self = this->shared_from_this();
    if (f.in_payload && f.available() == 0 && f.need >= direct_read) {
      auto old = f.frame.size();
      f.frame.resize(old + f.need); // reserved when the header came
      hold(f.need);
      asio::async_read(
        local_, asio::buffer(f.frame.data() + old, f.need),
        [self](const boost::system::error_code& ec, std::size_t) {
          if (self->closed_)
            return;
          if (ec)
            return self->close("CAF closed", false);
          self->down_.need = 0;
          self->down();
        });
      return;
    }
    f.make_room();
    local_.async_read_some(
      asio::buffer(f.scratch.data() + f.end, f.scratch.size() - f.end),
      [self](const boost::system::error_code& ec, std::size_t n) {
        if (self->closed_)
          return;
        if (ec)
          return self->close("CAF closed", false);
        self->down_.end += n;
        self->down();
      });
  }

  void write_peer() {
    if (writing_ || out_.empty() || closed_)
      return;
    writing_ = true;
    asio::const_buffer what;
    if (out_.size() == 1 || out_.front().size() >= coalesce) {
      in_write_ = 1;
      what = asio::buffer(out_.front());
    } else {
      wbuf_.clear();
      in_write_ = 0;
      while (in_write_ < out_.size()
             && wbuf_.size() + out_[in_write_].size() <= coalesce) {
        wbuf_.insert(wbuf_.end(), out_[in_write_].begin(), out_[in_write_].end());
        ++in_write_;
      }
      what = asio::buffer(wbuf_);
    }
    asio::async_write(peer_, what,
                      [self = this->shared_from_this()](
                        const boost::system::error_code& ec, std::size_t) {
                        self->writing_ = false;
                        if (self->closed_)
                          return;
                        if (ec)
                          return self->peer_failed(ec);
                        for (std::size_t i = 0; i < self->in_write_; ++i) {
                          auto n = self->out_.front().size();
                          self->out_bytes_ -= n;
                          self->hold(-static_cast<std::ptrdiff_t>(n));
                          self->give_spare(self->out_.front());
                          self->out_.pop_front();
                        }
                        if (self->wbuf_.capacity() > keep_capacity)
                          std::vector<unsigned char>().swap(self->wbuf_);
                        self->write_peer();
                      });
  }

  std::shared_ptr<front_core> core_;
  Stream peer_;
  local_socket local_;
  asio::steady_timer deadline_;
  asio::steady_timer pause_;
  connection_rules rules_;
  connection_rules::side side_;
  std::string peer_text_;
  steady::time_point handshake_deadline_;
  std::uint16_t port_;
  std::shared_ptr<connect_reply> reply_;

  framing up_;
  framing down_;
  bool closed_ = false;
  bool handed_off_ = false;
  bool paused_ = false;
  bool holding_ = false;
  bool writing_ = false;
  std::deque<std::vector<unsigned char>> out_;
  std::size_t out_bytes_ = 0;
  std::size_t in_write_ = 0;
  std::vector<unsigned char> wbuf_;
  std::size_t held_ = 0;
  bucket frames_;
  bucket bytes_;
  steady::time_point last_peer_ = steady::now();
};

template <class Stream>
void launch(std::shared_ptr<front_core> core, Stream stream,
            connection_rules::side side, std::string peer,
            steady::time_point deadline, std::uint16_t port,
            std::shared_ptr<connect_reply> reply) {
  auto s = std::make_shared<session<Stream>>(core, std::move(stream), side,
                                             std::move(peer), deadline, port,
                                             std::move(reply));
  s->start();
}

} // namespace

void start_inbound(std::shared_ptr<front_core> core, tcp::socket socket,
                   std::string peer) {
  auto deadline = steady::now() + core->settings.handshake_timeout;
  if (core->tls)
    launch(core, tls_stream(std::move(socket), core->tls->server),
           connection_rules::side::inbound, std::move(peer), deadline, 0,
           nullptr);
  else
    launch(core, std::move(socket), connection_rules::side::inbound,
           std::move(peer), deadline, 0, nullptr);
}

void start_outbound(std::shared_ptr<front_core> core, tcp::socket socket,
                    std::string peer, std::uint16_t port,
                    steady::time_point deadline,
                    std::shared_ptr<connect_reply> reply) {
  if (core->tls)
    launch(core, tls_stream(std::move(socket), core->tls->client),
           connection_rules::side::outbound, std::move(peer), deadline, port,
           std::move(reply));
  else
    launch(core, std::move(socket), connection_rules::side::outbound,
           std::move(peer), deadline, port, std::move(reply));
}

} // namespace dlt::net
