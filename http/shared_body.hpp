#pragma once
// A Beast body made of prefix + chain list segments + suffix, written as one
// gather write: a chain list shared by many responses is never copied.
// Included only by server.cpp (Beast headers are heavy).

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "actors/actors.hpp"

namespace dlt {

struct shared_body {
  struct value_type {
    std::string prefix;
    std::shared_ptr<const chain_json> chain;
    std::string suffix;
  };

  static std::uint64_t size(const value_type& v) {
    return v.prefix.size() + (v.chain ? v.chain->size() : 0) + v.suffix.size();
  }

  class writer {
  public:
    using const_buffers_type = std::vector<boost::asio::const_buffer>;

    template <bool IsRequest, class Fields>
    writer(const boost::beast::http::header<IsRequest, Fields>&,
           const value_type& body)
      : body_(body) {
    }

    void init(boost::beast::error_code& ec) {
      ec = {};
    }

    boost::optional<std::pair<const_buffers_type, bool>>
    get(boost::beast::error_code& ec) {
      ec = {};
      if (done_)
        return boost::none;
      done_ = true;
      static const char open[] = "[", sep[] = ", ", close[] = "]";
      const_buffers_type bufs;
      bufs.push_back(boost::asio::buffer(body_.prefix));
      if (const auto* c = body_.chain.get()) {
        bufs.reserve(2 * c->segments.size() + 4);
        bufs.push_back(boost::asio::buffer(open, 1));
        for (std::size_t i = 0; i < c->segments.size(); ++i) {
          if (i > 0)
            bufs.push_back(boost::asio::buffer(sep, 2));
          bufs.push_back(boost::asio::buffer(c->segments[i]->text));
        }
        bufs.push_back(boost::asio::buffer(close, 1));
      }
      bufs.push_back(boost::asio::buffer(body_.suffix));
      return std::make_pair(std::move(bufs), false);
    }

  private:
    const value_type& body_;
    bool done_ = false;
  };
};

} // namespace dlt
