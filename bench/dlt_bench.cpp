// dlt-bench: CPU-bound figures of the model layer on this machine, each next
// to its bound, measured in the same run:
//   - chain validation (hashing each block's canonical bytes and checking the
//     links) vs raw Crypto++ SHA-256 over exactly the same bytes;
//   - building a chain from a peer's JSON (parse + canonicalize + hash +
//     validate), the work of adopting a chain;
//   - storing a whole chain in a fresh ledger, one durable commit (what an
//     adopting node waits for before it answers).
// Prints one JSON object per line (bench/bench.py collects them).
//
// usage: dlt-bench [--blocks N] [--repeat R]

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <cryptopp/sha.h>

#include "bench/bench_chain.hpp"
#include "model/chain.hpp"
#include "model/json_blocks.hpp"
#include "model/sha256.hpp"
#include "storage/ledger_store.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

using dlt::bench::bench_chain;

// Re-derives every hash from the canonical bytes, then checks the links: what
// validating a chain whose bytes are at hand costs.
bool revalidate(dlt::chain& c) {
  for (auto& b : c)
    b.hash = dlt::sha256_hex(b.json);
  return !dlt::validation_error(c);
}

void report(const char* name, double secs, std::size_t blocks,
            std::size_t bytes) {
  std::printf("{\"name\": \"%s\", \"seconds\": %.6f, \"blocks_per_s\": %.0f, "
              "\"mb_per_s\": %.1f, \"blocks\": %zu, \"bytes\": %zu}\n",
              name, secs, blocks / secs, bytes / secs / 1e6, blocks, bytes);
}

} // namespace

int main(int argc, char** argv) {
  std::size_t blocks = 100000;
  int repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--blocks"))
      blocks = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat"))
      repeat = std::stoi(argv[i + 1]);
  }
  auto c = bench_chain(blocks);
  std::size_t bytes = 0;
  for (const auto& b : c)
    bytes += b.json.size();

  // Best of `repeat` runs for each figure, interleaved so that both see the
  // same machine state.
  double best_sha = 1e9, best_validate = 1e9, best_adopt = 1e9;
  // A peer's answer, as GET /chain sends it.
  std::string body = "{\"chain\": " + dlt::chain_json_array(c) + "}";
  for (int r = 0; r < repeat; ++r) {
    auto t0 = clock_type::now();
    CryptoPP::byte digest[CryptoPP::SHA256::DIGESTSIZE];
    CryptoPP::SHA256 sha;
    for (const auto& b : c)
      sha.CalculateDigest(digest,
                          reinterpret_cast<const CryptoPP::byte*>(b.json.data()),
                          b.json.size());
    best_sha = std::min(best_sha, seconds_since(t0));

    t0 = clock_type::now();
    if (!revalidate(c))
      return 1;
    best_validate = std::min(best_validate, seconds_since(t0));

    t0 = clock_type::now();
    // The node's one path from a peer's text to validated blocks.
    auto adopted = dlt::chain_from_text(body);
    if (!adopted || adopted->size() != blocks)
      return 1;
    best_adopt = std::min(best_adopt, seconds_since(t0));
  }
  // Storing: a fresh ledger in a temporary directory each time (the
  // machine's disk and page cache as the node sees them).
  double best_store = 1e9;
  // As the chain actor sends an adopted chain: runs of its ~64 KiB
  // segments (actors/chain_store.hpp), each block's text joined by ", ".
  struct segment {
    std::uint64_t first = 0;
    std::string text;
    std::vector<std::uint32_t> ends;
    std::vector<dlt::digest> hashes;
  };
  std::vector<segment> segments;
  for (const auto& b : c) {
    if (segments.empty() || segments.back().text.size() >= 64 * 1024)
      segments.push_back({b.index, {}, {}, {}});
    auto& seg = segments.back();
    if (!seg.ends.empty())
      seg.text += ", ";
    seg.text += b.json;
    seg.ends.push_back(static_cast<std::uint32_t>(seg.text.size()));
    seg.hashes.push_back(*dlt::digest_from_hex(b.hash));
  }
  dlt::ledger_change change;
  for (const auto& seg : segments)
    change.runs.push_back({seg.first, seg.text, seg.ends.data(),
                           seg.hashes.data(), 0, seg.ends.size(), nullptr});
  for (int r = 0; r < repeat; ++r) {
    char dir[] = "/tmp/dlt-bench-store-XXXXXX";
    if (!mkdtemp(dir))
      return 1;
    {
      auto store = dlt::ledger_store::open(dir);
      if (!store || !(*store)->load())
        return 1;
      auto t0 = clock_type::now();
      if (auto err = (*store)->apply({change})) {
        std::fprintf(stderr, "store: %s\n", err->c_str());
        return 1;
      }
      best_store = std::min(best_store, seconds_since(t0));
    }
    std::filesystem::remove_all(dir);
  }
  report("sha256_raw", best_sha, blocks, bytes);
  report("validate", best_validate, blocks, bytes);
  report("adopt_from_json", best_adopt, blocks, body.size());
  report("store_chain", best_store, blocks, bytes);
  return 0;
}
