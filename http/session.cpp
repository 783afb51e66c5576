// One client connection, after Beast's http_server_async: on its own strand,
// it waits up to idle_timeout for a request to begin, then up to
// read_timeout for the whole request, and serves one request at a time
// (pipelined requests wait in the buffer and are answered in order), so a
// client that never reads cannot make the node queue answers for it.
//
// The session routes each request (routes.hpp): read routes are answered
// here from published state (no actor hop), GET /events hands the socket to
// an event stream (as Beast's advanced_server hands it to a websocket), and
// everything else is read (large bodies on the heavy pool) and handed to the
// edge actor with a one-shot responder.

#include <sys/resource.h>

#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "http/local_routes.hpp"
#include "http/request_body.hpp"
#include "http/shared_body.hpp"
#include "http/transport.hpp"

namespace dlt {
namespace {

namespace http = beast::http;

/// The socket had no more room to write, or (buffered_bytes) no more
/// bytes were buffered, yet.
bool would_block(const beast::error_code& ec) {
  return ec == net::error::would_block || ec == net::error::try_again;
}

/// A stream with nothing to read: Beast's synchronous reads over it parse
/// what the session has buffered already and stop with "would block" where
/// they would read. The socket itself is only ever read asynchronously, a
/// bounded piece at a time, so that a client sending a large body at full
/// speed cannot keep an I/O thread from the other connections.
struct buffered_bytes {
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers&, beast::error_code& ec) {
    ec = net::error::would_block;
    return 0;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& b) {
    beast::error_code ec;
    return read_some(b, ec);
  }
};

class session : public connection,
                public std::enable_shared_from_this<session> {
public:
  session(tcp::socket&& socket, std::shared_ptr<server_context> ctx)
    : stream_(std::move(socket)), ctx_(std::move(ctx)) {
  }

  ~session() override {
    if (registered_) {
      ctx_->registry.remove(*this);
      if (ctx_->wiring.on_connection)
        ctx_->wiring.on_connection(-1);
    }
  }

  void start() {
    // Writes are tried in place first (see write): the socket must answer
    // "would block" rather than wait.
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);
    set_state(conn_state::idle);
    ctx_->registry.add(shared_from_this());
    registered_ = true;
    if (ctx_->wiring.on_connection)
      ctx_->wiring.on_connection(+1);
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read_next(); });
  }

  void close() override {
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->do_close(); });
  }

  void evict() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->parked_)
        self->write_error(503, "The node is at its connection limit; this "
                               "request was dropped to serve a newer one");
      else
        self->do_close();
    });
  }

private:
  void read_next() {
    if (closed_)
      return;
    parser_.emplace();
    parser_->body_limit(ctx_->limits.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::uint64_t>(ctx_->limits.max_header_bytes, UINT32_MAX)));
    if (buffer_.size() > 0) {
      // A pipelined request is already here. Through the queue, not in
      // place: in place, a long pipeline of answers would nest ever deeper.
      return net::post(stream_.get_executor(),
                       [self = shared_from_this()] { self->read_header(); });
    }
    set_state(conn_state::idle);
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
    set_state(conn_state::reading);
    started_ = std::chrono::steady_clock::now(); // the request has begun
    stream_.expires_after(ctx_->limits.read_timeout);
    // Usually the whole request came with the first bytes: parsing it here
    // saves a trip around the I/O threads' queue per step, a wait behind
    // every other connection's work there (most of a request's time under
    // load). What is not here yet is awaited as before.
    beast::error_code ec;
    buffered_bytes buffered;
    http::read_header(buffered, buffer_, *parser_, ec);
    if (!would_block(ec))
      return on_header(ec);
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
          self->read_payload();
        });
    }
    if (parser_->is_done())
      return dispatch(); // no body: reading on could swallow the next request
    read_payload();
  }

  void read_payload() {
    beast::error_code ec;
    buffered_bytes buffered;
    http::read(buffered, buffer_, *parser_, ec);
    if (!would_block(ec)) {
      if (ec)
        return on_read_error(ec);
      return dispatch();
    }
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
    // Refused before it was whole: counted under its route and method when
    // its header was read, else as unknown.
    route_ = &find_route("");
    // The request line is kept as soon as it is read, also when the header
    // block or the body is refused afterwards.
    if (parser_ && !parser_->get().method_string().empty()) {
      auto& req = parser_->get();
      method_ = std::string(req.method_string());
      auto target = req.target();
      route_ = &find_route(std::string_view{target.data(),
                                            target.substr(0, target.find('?')).size()});
    } else {
      method_.clear();
    }
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
    keep_alive_ = false; // the stream is out of step after a bad request
    linger_ = true;
    version_ = 11;
    head_ = false;
    write(error_response(status, message));
  }

  void dispatch() {
    set_state(conn_state::parked); // reading the body counts as handed on
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    method_ = std::string(req.method_string());
    head_ = req.method() == http::verb::head;
    auto target = req.target();
    auto qmark = target.find('?');
    rest_request out;
    out.path = std::string(target.substr(0, qmark));
    if (qmark != beast::string_view::npos)
      out.query = parse_query(std::string_view{target.data() + qmark + 1,
                                               target.size() - qmark - 1});
    out.method = method_;
    out.if_none_match = std::string(req[http::field::if_none_match]);
    route_ = &find_route(out.path);
    out.route = route_->id;
    if (route_->id == route_id::unknown)
      return write(error_response(404, "Not found: " + out.path));
    bool get_like = std::string_view{route_->method} == "GET";
    if (req.method() == http::verb::options && route_->cors)
      return write(options_response(*route_)); // a CORS preflight
    if (method_ != route_->method && !(get_like && head_)) {
      auto res = error_response(405, "Method " + method_ + " not allowed on "
                                       + out.path);
      res.allow = get_like ? (route_->cors ? "GET, HEAD, OPTIONS" : "GET, HEAD")
                           : std::string{route_->method};
      return write(std::move(res));
    }
    // A page on another origin must not change this node's state (a site
    // the user visits could otherwise POST to localhost). Clients that send
    // no Origin (scripts, curl, peers) are not browsers' pages.
    if (!get_like) {
      auto origin_field = req[http::field::origin];
      auto host_field = req[http::field::host];
      std::string_view origin{origin_field.data(), origin_field.size()};
      std::string_view host{host_field.data(), host_field.size()};
      if (!origin.empty()
          && !origin_allowed(origin, host, ctx_->limits.allowed_origins))
        return write(error_response(
          403, "Requests from the origin " + std::string(origin)
                 + " may not change this node (start it with --allow-origin "
                   "to allow one)"));
    }
    if (route_->id == route_id::events)
      return start_stream(req, out);
    if (auto res = answer_locally(*route_, out, ctx_->wiring))
      return write(std::move(*res));
    auto body = std::move(req.body());
    if (body.size() < server_context::heavy_body_bytes)
      return read_and_hand_on(std::move(out), std::move(body));
    if (ctx_->heavy_queued.fetch_add(1) >= server_context::max_heavy_queued) {
      ctx_->heavy_queued.fetch_sub(1);
      auto res = error_response(503, "Too many large requests at once; try "
                                     "again shortly");
      res.retry_after = "1";
      return write(std::move(res));
    }
    net::post(ctx_->heavy, [self = shared_from_this(), out = std::move(out),
                            body = std::move(body)]() mutable {
      self->ctx_->heavy_queued.fetch_sub(1);
      // Back onto the strand with the result.
      net::post(self->stream_.get_executor(),
                [self, out = std::move(out), body = std::move(body)]() mutable {
                  self->read_and_hand_on(std::move(out), std::move(body));
                });
    });
  }

  /// Reads the body (this thread) and hands the request to the edge.
  void read_and_hand_on(rest_request out, std::string body) {
    if (auto refused = dlt::read_body(route_->body, body,
                                      ctx_->limits.python_json, out))
      return write(std::move(*refused));
    parked_ = true;
    // A request that waits on a consensus round (or a peer) holds its
    // connection for up to the peer deadline: the first to go at the limit.
    bool long_call = out.route == route_id::consensus
                     || out.route == route_id::peer_chain;
    set_state(long_call ? conn_state::waiting : conn_state::parked);
    // The reply comes back on any thread; post it onto this strand.
    auto reply = std::make_shared<responder>(
      [self = shared_from_this()](rest_response res) {
        net::post(self->stream_.get_executor(),
                  [self, res = std::move(res)]() mutable {
                    if (self->parked_)
                      self->write(std::move(res));
                  });
      });
    caf::anon_send(ctx_->wiring.edge, std::move(out), std::move(reply));
  }

  void start_stream(http::request<http::string_body>& req,
                    const rest_request& out) {
    std::uint64_t after = 0;
    auto last = std::string(req["Last-Event-ID"]);
    if (auto it = out.query.find("last_event_id"); it != out.query.end())
      last = it->second;
    if (!last.empty() && last.size() <= 19
        && last.find_first_not_of("0123456789") == std::string::npos)
      after = std::stoull(last);
    if (ctx_->streams.load() >= ctx_->limits.max_event_streams) {
      auto res = error_response(503, "Too many event streams are open");
      res.retry_after = "5";
      return write(std::move(res));
    }
    // The connection becomes a stream: it leaves this session (and its
    // place in the registry goes with the stream).
    closed_ = true;
    if (registered_) {
      ctx_->registry.remove(*this);
      registered_ = false;
      if (ctx_->wiring.on_connection)
        ctx_->wiring.on_connection(-1);
    }
    observe(200);
    start_event_stream(std::move(stream_), ctx_, version_, after);
  }

  void observe(unsigned status) {
    if (ctx_->wiring.on_request && route_)
      ctx_->wiring.on_request(
        route_->name, method_, status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_)
          .count());
  }

  void write(rest_response r) {
    if (closed_)
      return;
    parked_ = false;
    set_state(conn_state::busy);
    observe(r.status);
    res_ = std::make_shared<http::response<shared_body>>(
      static_cast<http::status>(r.status), version_);
    auto& res = *res_;
    res.set(http::field::server, "dlt-node");
    res.set(http::field::content_type, r.content_type);
    if (!r.allow.empty())
      res.set(http::field::allow, r.allow);
    if (!r.retry_after.empty())
      res.set(http::field::retry_after, r.retry_after);
    if (route_ && route_->cors)
      res.set(http::field::access_control_allow_origin, "*");
    for (const auto& [name, value] : r.headers)
      res.set(name, value);
    res.keep_alive(keep_alive_);
    auto& body = res.body();
    body.prefix = std::move(r.prefix);
    body.chain = std::move(r.chain);
    body.suffix = std::move(r.suffix);
    auto length = shared_body::size(body);
    if (head_ || r.status == 204 || r.status == 304)
      body = {}; // HEAD: the headers of GET, no body
    if (r.status != 204 && r.status != 304)
      res.content_length(length);
    // An answer that fits into the socket's buffer goes out here and now,
    // in one call (a long one is not written in place to its end: a client
    // reading fast would keep this thread from the other connections); the
    // rest follows asynchronously as the client reads.
    serializer_.emplace(res);
    serializer_->split(false);
    beast::error_code ec;
    http::write_some(stream_.socket(), *serializer_, ec);
    if (!ec && serializer_->is_done())
      return written(ec);
    if (ec && !would_block(ec))
      return written(ec);
    stream_.expires_after(ctx_->limits.write_timeout);
    http::async_write(stream_, *serializer_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        self->written(ec);
                      });
  }

  void written(beast::error_code ec) {
    serializer_.reset();
    res_.reset();
    if (ec)
      return do_close();
    if (linger_)
      return linger();
    if (!keep_alive_)
      return do_close();
    read_next();
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
    parked_ = false;
    set_state(conn_state::busy);
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<shared_body>> res_;
  /// Writes res_ (it holds a reference to it).
  std::optional<http::response_serializer<shared_body>> serializer_;
  std::shared_ptr<server_context> ctx_;
  const route_info* route_ = nullptr;
  std::string method_;
  std::chrono::steady_clock::time_point started_;
  bool registered_ = false;
  bool parked_ = false; // a responder will answer (see evict)
  bool keep_alive_ = false;
  bool head_ = false;
  bool closed_ = false;
  bool linger_ = false;
  bool lingering_ = false;
  unsigned version_ = 11;
};

} // namespace

void start_session(tcp::socket&& socket, std::shared_ptr<server_context> ctx) {
  std::make_shared<session>(std::move(socket), std::move(ctx))->start();
}

} // namespace dlt
