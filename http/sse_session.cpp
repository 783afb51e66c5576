// A GET /events connection: Server-Sent Events from the hub.
//
// The session subscribes a sink to the hub. The sink runs on the hub's
// thread and never blocks: it counts the bytes queued for this client and
// posts the event onto the session's strand; once more than
// max_stream_queue_bytes are queued (a client that does not read), it
// refuses the next event, the hub drops it, and the connection is closed --
// the client reconnects with Last-Event-ID and resumes from the hub's
// buffer. So a slow browser costs a bounded queue, never a write's time.
//
// Frames are written as gather writes of the shared event data (rendered
// once by the hub) between a small per-event header and "\n\n". A comment
// line every 15 s keeps proxies from closing an idle stream; the stream
// does not count against the request read timeout, and reading goes on only
// to notice the client leaving.

#include <deque>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "http/transport.hpp"

namespace dlt {
namespace {

constexpr std::chrono::seconds keep_alive_every{15};

class sse_session : public connection,
                    public std::enable_shared_from_this<sse_session> {
public:
  sse_session(beast::tcp_stream&& stream, std::shared_ptr<server_context> ctx)
    : stream_(std::move(stream)), timer_(stream_.get_executor()),
      ctx_(std::move(ctx)) {
  }

  ~sse_session() override {
    ctx_->streams.fetch_sub(1);
    if (ctx_->wiring.on_stream)
      ctx_->wiring.on_stream(-1);
    if (registered_) {
      ctx_->registry.remove(*this);
      if (ctx_->wiring.on_connection)
        ctx_->wiring.on_connection(-1);
    }
  }

  void start(unsigned version, std::uint64_t after);

  void close() override {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->do_close(); });
  }
  void evict() override { close(); }

  /// From the hub's thread (see sink).
  bool offer(const event_ptr& e) {
    if (closed_flag_.load(std::memory_order_relaxed))
      return false;
    auto bytes = e->data.size() + e->name.size() + 40;
    auto queued = queued_bytes_.fetch_add(bytes) + bytes;
    if (queued > ctx_->limits.max_stream_queue_bytes && queued != bytes) {
      close();
      return false;
    }
    net::post(stream_.get_executor(), [self = shared_from_this(), e, bytes] {
      self->queue_.push_back({e, bytes});
      self->write_more();
    });
    return true;
  }

private:
  struct queued {
    event_ptr event;
    std::size_t bytes;
  };

  void write_more() {
    if (writing_ || closed_ || (queue_.empty() && !keep_alive_due_))
      return;
    writing_ = true;
    // Gather everything queued into one write.
    headers_.clear();
    buffers_.clear();
    in_flight_.clear();
    in_flight_bytes_ = 0;
    if (queue_.empty()) {
      static const char comment[] = ": keep-alive\n\n";
      buffers_.push_back(net::buffer(comment, sizeof comment - 1));
    }
    headers_.reserve(queue_.size());
    while (!queue_.empty() && in_flight_.size() < 256) {
      auto q = std::move(queue_.front());
      queue_.pop_front();
      headers_.push_back("id: " + std::to_string(q.event->id) + "\nevent: "
                         + q.event->name + "\ndata: ");
      in_flight_bytes_ += q.bytes;
      in_flight_.push_back(std::move(q.event));
    }
    static const char end[] = "\n\n";
    for (std::size_t i = 0; i < in_flight_.size(); ++i) {
      buffers_.push_back(net::buffer(headers_[i]));
      buffers_.push_back(net::buffer(in_flight_[i]->data));
      buffers_.push_back(net::buffer(end, 2));
    }
    keep_alive_due_ = false;
    stream_.expires_after(ctx_->limits.write_timeout);
    net::async_write(stream_, buffers_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       self->writing_ = false;
                       self->queued_bytes_.fetch_sub(self->in_flight_bytes_);
                       self->in_flight_.clear();
                       if (ec)
                         return self->do_close();
                       self->written_ = std::chrono::steady_clock::now();
                       self->write_more();
                     });
  }

  /// Wakes keep_alive_every after the last write; a stream that got
  /// nothing since then gets a comment.
  void tick() {
    timer_.expires_at(written_ + keep_alive_every);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_)
        return;
      if (std::chrono::steady_clock::now() - self->written_ >= keep_alive_every) {
        self->keep_alive_due_ = true;
        self->written_ = std::chrono::steady_clock::now(); // counted as sent
        self->write_more();
      }
      self->tick();
    });
  }

  /// Reads (and discards) whatever the client sends, to notice it leave.
  void watch() {
    stream_.socket().async_read_some(
      net::buffer(discard_),
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->do_close();
        self->watch();
      });
  }

  void do_close() {
    if (closed_)
      return;
    closed_ = true;
    closed_flag_ = true;
    timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  std::shared_ptr<server_context> ctx_;
  bool registered_ = false;
  std::deque<queued> queue_;
  std::vector<event_ptr> in_flight_;
  std::size_t in_flight_bytes_ = 0;
  std::vector<std::string> headers_;
  std::vector<net::const_buffer> buffers_;
  std::atomic<std::size_t> queued_bytes_{0};
  std::atomic<bool> closed_flag_{false};
  std::chrono::steady_clock::time_point written_ = std::chrono::steady_clock::now();
  bool writing_ = false;
  bool closed_ = false;
  bool keep_alive_due_ = false;
  std::string head_; // the response header, kept alive while written
  char discard_[512];
};

/// The hub's handle on a stream; weak, so a stream that is gone is dropped.
class stream_sink : public event_sink {
public:
  explicit stream_sink(std::weak_ptr<sse_session> s) : session_(std::move(s)) {}
  bool offer(const event_ptr& e) override {
    if (e->name.empty())
      return true; // internal events are not streamed
    auto s = session_.lock();
    return s && s->offer(e);
  }
  std::string name() const override { return "an event stream"; }

private:
  std::weak_ptr<sse_session> session_;
};

void sse_session::start(unsigned version, std::uint64_t after) {
  ctx_->registry.add(shared_from_this()); // busy: streams are never evicted
  registered_ = true;
  if (ctx_->wiring.on_connection)
    ctx_->wiring.on_connection(+1);
  if (ctx_->wiring.on_stream)
    ctx_->wiring.on_stream(+1);
  head_ = (version == 10 ? "HTTP/1.0" : "HTTP/1.1");
  head_ += " 200 OK\r\nServer: dlt-node\r\nContent-Type: text/event-stream\r\n"
           "Cache-Control: no-cache\r\nConnection: keep-alive\r\n"
           "Access-Control-Allow-Origin: *\r\nX-Accel-Buffering: no\r\n\r\n"
           "retry: 1000\n\n";
  writing_ = true;
  stream_.expires_after(ctx_->limits.write_timeout);
  net::async_write(stream_, net::buffer(head_),
                   [self = shared_from_this(), after](beast::error_code ec,
                                                      std::size_t) {
                     self->writing_ = false;
                     if (ec)
                       return self->do_close();
                     self->written_ = std::chrono::steady_clock::now();
                     self->stream_.expires_never();
                     // Events come only now: the header is out first.
                     caf::anon_send(self->ctx_->wiring.hub, subscribe_atom::value,
                                    event_sink_ptr{std::make_shared<stream_sink>(
                                      self->weak_from_this())},
                                    after, true);
                     self->tick();
                     self->watch();
                     self->write_more();
                   });
}

} // namespace

void start_event_stream(beast::tcp_stream&& stream,
                        std::shared_ptr<server_context> ctx, unsigned version,
                        std::uint64_t after) {
  ctx->streams.fetch_add(1);
  auto s = std::make_shared<sse_session>(std::move(stream), std::move(ctx));
  s->start(version, after);
}

} // namespace dlt
