// Fetching a peer's chain for consensus: Beast, fully asynchronous, one
// deadline for the whole fetch (resolve, connect, request, answer), and the
// answer read as it arrives: each piece (256 KiB) goes to the model's chain reader
// (model/json_blocks.hpp), which keeps only the blocks accepted so far and
// stops at the first thing that is not a valid, linked block. No body is
// ever held whole and no DOM is built, so a peer's answer costs about its
// canonical bytes, and a hostile one far less.
//
// All answers being read at once share one budget (max_bytes_in_flight):
// a fetch that would take more is dropped ("too_large"), so any set of
// peers can make the node hold at most that much (and the blocks it keeps
// count until the chain is dropped or adopted).
//
// Parsing runs on a thread of its own at a lower priority than the HTTP
// threads, one piece at a time per fetch. While a piece is parsed the next
// one is read (two pieces per fetch at most, the second one allocated only
// when an answer needs it): reading waited for each parse before, and a
// 1,000,000-block chain spent 0.33 s of its 1.2 s read waiting for the peer
// in between. A fast peer still cannot queue unparsed bytes beyond those two
// pieces.

#include "http/peer_client.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "model/json_blocks.hpp"

namespace dlt {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr std::size_t piece_bytes = 256 * 1024;
constexpr std::size_t socket_read_bytes = 64 * 1024;

/// Bytes held for answers, node-wide.
class byte_budget {
public:
  explicit byte_budget(std::uint64_t limit) : limit_(limit) {}

  bool take(std::uint64_t n) {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (used + n > limit_)
        return false;
    } while (!used_.compare_exchange_weak(used, used + n,
                                          std::memory_order_relaxed));
    return true;
  }

  void give_back(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }

  std::uint64_t limit() const { return limit_; }

private:
  std::atomic<std::uint64_t> used_{0};
  std::uint64_t limit_;
};

/// What every fetch shares: the parse thread and the budget.
struct fetch_context {
  net::io_context& ioc;
  std::uint64_t max_response_bytes;
  byte_budget budget;
  net::thread_pool parser{1};

  fetch_context(net::io_context& io, std::uint64_t max_bytes,
                std::uint64_t max_in_flight)
    : ioc(io), max_response_bytes(max_bytes), budget(max_in_flight) {
    net::post(parser, [] {
      setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
    });
  }

  ~fetch_context() {
    parser.join();
  }
};

class fetch_op : public std::enable_shared_from_this<fetch_op> {
public:
  fetch_op(std::shared_ptr<fetch_context> ctx, std::uint64_t min_length,
           std::function<void(fetch_result)> done)
    : ctx_(std::move(ctx)),
      strand_(net::make_strand(ctx_->ioc)),
      resolver_(strand_),
      stream_(strand_),
      timer_(strand_),
      reader_(min_length),
      pieces_{std::string(piece_bytes, '\0'), std::string()},
      done_(std::move(done)) {
    // Beast reads as much as the buffer has room for, at least 512 bytes;
    // the body goes on into a piece, so the buffer never grew and an 18 MB
    // chain took 36,000 reads of 512 bytes.
    buffer_.reserve(socket_read_bytes);
  }

  ~fetch_op() {
    ctx_->budget.give_back(reserved_);
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
              return self->finish("unreachable",
                                  "cannot connect: " + ec.message());
            self->send();
          });
      });
  }

  void send() {
    http::async_write(stream_, req_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        if (ec)
                          return self->finish("unreachable",
                                              "cannot send request: "
                                                + ec.message());
                        self->receive();
                      });
  }

  void receive() {
    parser_.body_limit(ctx_->max_response_bytes);
    parser_.header_limit(64 * 1024);
    // Header first: an announced oversized body is refused before any of it
    // is read.
    http::async_read_header(
      stream_, buffer_, parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec)
          return self->fail_read(ec);
        auto& res = self->parser_.get();
        if (res.result() != http::status::ok)
          return self->finish("http_error", "answered HTTP "
                                              + std::to_string(res.result_int()));
        auto length = self->parser_.content_length();
        if (length && *length > self->ctx_->max_response_bytes)
          return self->too_large();
        if (length) // before any piece is posted to the parser
          self->reader_.expect_bytes(static_cast<std::size_t>(*length));
        self->read_piece();
      });
  }

  void read_piece() {
    if (parser_.is_done()) {
      if (parsing_)
        return; // the parser's return completes the answer
      return complete();
    }
    auto& piece = pieces_[filling_];
    if (piece.empty())
      piece.assign(piece_bytes, '\0');
    auto& body = parser_.get().body();
    body.data = piece.data();
    body.size = piece.size();
    fill_piece();
  }

  /// Reads until the piece is full or the body ends: a piece handed to the
  /// parser costs two thread hops, so it should be a big one.
  void fill_piece() {
    http::async_read_some(
      stream_, buffer_, parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec == http::error::need_buffer)
          ec = {};
        if (ec)
          return self->fail_read(ec);
        auto left = self->parser_.get().body().size;
        if (left > 0 && !self->parser_.is_done())
          return self->fill_piece();
        self->parse_piece(self->pieces_[self->filling_].size() - left);
      });
  }

  void parse_piece(std::size_t n) {
    if (n == 0)
      return read_piece();
    received_ += n;
    if (received_ > ctx_->max_response_bytes)
      return too_large();
    if (!ctx_->budget.take(n))
      return finish("too_large",
                    "the node's budget for peers' answers being read "
                    "(--max-peer-bytes-in-flight, "
                      + std::to_string(ctx_->budget.limit())
                      + " bytes) is used up, by this answer or others");
    reserved_ += n;
    if (parsing_) {
      waiting_ = n; // both pieces are full: reading goes on after a parse
      return;
    }
    hand_to_parser(n);
    read_piece();
  }

  /// Parses the piece just filled off the HTTP threads, and fills the
  /// other one meanwhile.
  void hand_to_parser(std::size_t n) {
    parsing_ = true;
    const std::string& piece = pieces_[filling_];
    filling_ ^= 1;
    net::post(ctx_->parser, [self = shared_from_this(), &piece, n] {
      bool ok = self->reader_.feed(std::string_view{piece.data(), n});
      net::post(self->strand_, [self, ok] { self->parsed(ok); });
    });
  }

  /// Back from the parser: on with the piece that waited, if any.
  void parsed(bool ok) {
    parsing_ = false;
    if (!done_)
      return; // finished meanwhile (deadline, budget)
    if (!ok)
      return refused();
    if (auto n = std::exchange(waiting_, 0)) {
      hand_to_parser(n);
      return read_piece();
    }
    if (parser_.is_done())
      complete();
  }

  void complete() {
    net::post(ctx_->parser, [self = shared_from_this()] {
      auto chain = self->reader_.finish();
      net::post(self->strand_, [self, chain = std::move(chain)]() mutable {
        if (!chain)
          return self->refused();
        self->deliver(std::move(*chain));
      });
    });
  }

  void refused() {
    if (reader_.not_longer())
      return finish("not_longer", reader_.error());
    finish("invalid", "invalid chain: " + reader_.error());
  }

  void fail_read(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return too_large();
    if (ec == beast::error::timeout) // the stream's expiry is the deadline
      return finish("timeout", "no answer within the deadline");
    finish("invalid", "bad answer: " + ec.message());
  }

  void too_large() {
    finish("too_large", "answer larger than "
                          + std::to_string(ctx_->max_response_bytes) + " bytes");
  }

  /// The chain keeps its share of the budget until it is dropped.
  void deliver(chain blocks) {
    auto ctx = ctx_;
    auto held = std::exchange(reserved_, 0);
    chain_ptr kept{new chain(std::move(blocks)), [ctx, held](chain* c) {
                     delete c;
                     ctx->budget.give_back(held);
                   }};
    fetch_result res;
    res.ok = true;
    res.result = "ok";
    res.chain = std::move(kept);
    done(std::move(res));
  }

  void finish(const char* result, std::string error) {
    fetch_result res;
    res.result = result;
    res.error = std::move(error);
    done(std::move(res));
  }

  void done(fetch_result res) {
    if (!done_)
      return;
    auto done = std::move(done_);
    done_ = nullptr;
    beast::error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    done(std::move(res));
  }

  std::shared_ptr<fetch_context> ctx_;
  net::strand<net::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> req_;
  http::response_parser<http::buffer_body> parser_;
  chain_reader reader_;
  /// The piece being filled and the one being parsed (or waiting for the
  /// parser: waiting_ bytes of it).
  std::string pieces_[2];
  int filling_ = 0;
  bool parsing_ = false;
  std::size_t waiting_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t reserved_ = 0; // of the budget, until delivered or dropped
  std::function<void(fetch_result)> done_;
};

} // namespace

chain_fetcher make_peer_fetcher(net::io_context& ioc,
                                std::uint64_t max_response_bytes,
                                std::uint64_t max_bytes_in_flight) {
  auto ctx = std::make_shared<fetch_context>(
    ioc, max_response_bytes,
    max_bytes_in_flight ? max_bytes_in_flight : max_response_bytes);
  return [ctx](const peer_address& peer, std::chrono::milliseconds deadline,
               std::uint64_t min_length, std::function<void(fetch_result)> done) {
    std::make_shared<fetch_op>(ctx, min_length, std::move(done))
      ->start(peer, deadline);
  };
}

} // namespace dlt
