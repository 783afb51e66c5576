#pragma once
// The chain the CPU benchmarks measure (dlt-bench, dlt-json-speed): n
// blocks of one short transaction each, with a non-ASCII character, so that
// their figures are over the same bytes.

#include <string>

#include "model/block.hpp"
#include "model/chain.hpp"

namespace dlt::bench {

inline chain bench_chain(std::size_t n) {
  chain c;
  c.reserve(n);
  c.push_back(make_genesis(1560174309.2023711));
  for (std::size_t i = 2; i <= n; ++i)
    c.push_back(seal_block(i, c.back().hash, 1560174309.2023711 + i * 0.37,
                           {transaction_json("transaction " + std::to_string(i)
                                             + " from the benchmark, caf\xc3\xa9")}));
  return c;
}

} // namespace dlt::bench
