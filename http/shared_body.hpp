#pragma once
// A Beast body made of prefix + shared + suffix, written as one gather write:
// a chain list shared by many responses goes out without being copied.
// Included only by server.cpp (Beast headers are heavy).

#include <array>
#include <memory>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace dlt {

struct shared_body {
  struct value_type {
    std::string prefix;
    std::shared_ptr<const std::string> shared;
    std::string suffix;
  };

  static std::uint64_t size(const value_type& v) {
    return v.prefix.size() + (v.shared ? v.shared->size() : 0)
           + v.suffix.size();
  }

  class writer {
  public:
    using const_buffers_type = std::array<boost::asio::const_buffer, 3>;

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
      const_buffers_type bufs{
        boost::asio::buffer(body_.prefix),
        body_.shared ? boost::asio::buffer(*body_.shared)
                     : boost::asio::const_buffer{},
        boost::asio::buffer(body_.suffix)};
      return std::make_pair(bufs, false);
    }

  private:
    const value_type& body_;
    bool done_ = false;
  };
};

} // namespace dlt
