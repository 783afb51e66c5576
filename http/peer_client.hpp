#pragma once
// The HTTP client consensus uses to pull GET /chain from peers: Beast, fully
// asynchronous, with one overall deadline per fetch (resolve + connect +
// request + answer), a cap on the answer's size and a node-wide budget for
// answers being read; answers are read into validated chains as they
// arrive. Peers are untrusted: a slow, hung, dead, garbage-answering or
// endless peer costs at most the deadline and its share of the budget.

#include <cstdint>

#include "actors/actors.hpp"

namespace boost::asio {
class io_context;
}

namespace dlt {

/// A chain_fetcher running on `ioc`: answers larger than
/// `max_response_bytes` are refused, and all answers read at once hold at
/// most `max_bytes_in_flight` (0: max_response_bytes).
chain_fetcher make_peer_fetcher(boost::asio::io_context& ioc,
                                std::uint64_t max_response_bytes,
                                std::uint64_t max_bytes_in_flight = 0);

} // namespace dlt
