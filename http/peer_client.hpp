#pragma once
// The HTTP client consensus uses to pull GET /chain from peers: Beast, fully
// asynchronous, with one overall deadline per fetch (resolve + connect +
// request + answer) and a cap on the answer's size. Peers are untrusted: a
// slow, hung, dead or garbage-answering peer costs at most the deadline.

#include <cstdint>

#include "actors/actors.hpp"

namespace boost::asio {
class io_context;
}

namespace dlt {

/// A chain_fetcher running on `ioc`.
chain_fetcher make_peer_fetcher(boost::asio::io_context& ioc,
                                std::uint64_t max_response_bytes);

} // namespace dlt
