// dlt-json-speed: how fast a chain answer becomes validated blocks, next to
// raw SHA-256 over the same canonical bytes (the bound), measured in the
// same run with bench/dlt_bench.cpp's method (best of R interleaved runs),
// in CPU time of the measuring thread.
//
//   old      parse_json (nlohmann DOM) + chain_from_json
//   new      chain_from_text (one call)
//   push     chain_reader fed 64 KiB pieces
//   simdjson an on-demand simdjson reader writing the same canonical bytes
//            (built only when simdjson.h is found; the comparison that chose
//            the hand-written reader)
//
// Inputs: 100,000 blocks as dlt-bench makes them (one short transaction),
// the same written compactly as a Flask node sends it, and 2,000 blocks of
// ten 2,000-character transactions.
//
// usage: dlt-json-speed [--blocks N] [--repeat R] [--warm-heap]
// Prints one JSON object per line.

#include <ctime>
#include <malloc.h>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <cryptopp/sha.h>

#include "bench/bench_chain.hpp"
#include "model/chain.hpp"
#include "model/json_blocks.hpp"
#include "model/json_parse.hpp"

#ifdef DLT_HAVE_SIMDJSON
#include "simdjson_reader.hpp"
#endif

namespace {

// CPU time of this thread: on a shared machine, wall-clock figures measure
// the neighbours too.
double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

using dlt::bench::bench_chain;

dlt::chain long_string_chain(std::size_t n) {
  dlt::chain c;
  c.push_back(dlt::make_genesis(1560174309.2023711));
  std::string text;
  for (int k = 0; text.size() < 2000; ++k)
    text += "a long transaction text, word " + std::to_string(k) + "; ";
  text.resize(2000);
  for (std::size_t i = 2; i <= n; ++i) {
    std::vector<std::string> txs;
    for (int t = 0; t < 10; ++t)
      txs.push_back(dlt::transaction_json(std::to_string(i) + "/"
                                          + std::to_string(t) + " " + text));
    c.push_back(dlt::seal_block(i, c.back().hash, 1560174309.5 + i, txs));
  }
  return c;
}

// As Flask's jsonify writes it: no spaces after ',' and ':'.
std::string compact(const std::string& canonical) {
  std::string out;
  out.reserve(canonical.size());
  bool in_string = false;
  for (std::size_t i = 0; i < canonical.size(); ++i) {
    char c = canonical[i];
    out += c;
    if (in_string) {
      if (c == '\\')
        out += canonical[++i];
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if ((c == ',' || c == ':') && i + 1 < canonical.size()
               && canonical[i + 1] == ' ') {
      ++i;
    }
  }
  return out;
}

void report(const std::string& name, double secs, std::size_t blocks,
            std::size_t bytes, double sha_secs) {
  std::printf("{\"name\": \"%s\", \"seconds\": %.6f, \"blocks_per_s\": %.0f, "
              "\"mb_per_s\": %.1f, \"bytes\": %zu, \"vs_sha256\": %.2f}\n",
              name.c_str(), secs, blocks / secs, bytes / secs / 1e6, bytes,
              sha_secs / secs);
  std::fflush(stdout);
}

void measure(const std::string& input, const dlt::chain& c, int repeat,
             bool with_old) {
  std::size_t canonical_bytes = 0;
  for (const auto& b : c)
    canonical_bytes += b.json.size();
  std::string body = "{\"chain\": " + dlt::chain_json_array(c)
                     + ", \"is_valid\": true}";
  if (input == "compact")
    body = compact(body);
  body.reserve(body.size() + 64); // room for simdjson's padding
  const std::string& want = c.back().hash;
  // The chain read is kept until the clock has stopped: freeing it is not
  // reading it (dlt-bench does the same).
  std::optional<dlt::result<dlt::chain>> kept;
  auto check = [&](dlt::result<dlt::chain> r, const char* what) {
    if (!r || r->size() != c.size() || r->back().hash != want) {
      std::fprintf(stderr, "%s: wrong result: %s\n", what,
                   r ? "other blocks" : r.error().c_str());
      std::exit(1);
    }
    kept.emplace(std::move(r));
  };

  std::vector<std::pair<std::string, std::function<void()>>> runs;
  std::optional<nlohmann::json> kept_doc;
  runs.emplace_back("sha256_raw", [&] {
    CryptoPP::byte digest[CryptoPP::SHA256::DIGESTSIZE];
    CryptoPP::SHA256 sha;
    for (const auto& b : c)
      sha.CalculateDigest(digest,
                          reinterpret_cast<const CryptoPP::byte*>(b.json.data()),
                          b.json.size());
  });
  if (with_old)
    runs.emplace_back("old", [&] {
      auto doc = dlt::parse_json(body);
      if (!doc)
        std::exit(1);
      check(dlt::chain_from_json((*doc)["chain"]), "old");
      kept_doc.emplace(std::move(*doc));
    });
  runs.emplace_back("new", [&] { check(dlt::chain_from_text(body), "new"); });
  runs.emplace_back("push", [&] {
    dlt::chain_reader reader;
    for (std::size_t at = 0; at < body.size(); at += 65536)
      reader.feed(std::string_view(body).substr(at, 65536));
    check(reader.finish(), "push");
  });
#ifdef DLT_HAVE_SIMDJSON
  runs.emplace_back("simdjson", [&] {
    check(simdjson_chain_from_text(body), "simdjson");
  });
#endif
  std::vector<double> best(runs.size(), 1e9);
  for (int r = 0; r < repeat; ++r)
    for (std::size_t k = 0; k < runs.size(); ++k) {
      double t0 = cpu_now();
      runs[k].second();
      best[k] = std::min(best[k], cpu_now() - t0);
      kept.reset();
      kept_doc.reset();
    }
  for (std::size_t k = 0; k < runs.size(); ++k)
    report(input + "." + runs[k].first, best[k], c.size(),
           k == 0 ? canonical_bytes : body.size(), best[0]);
}

} // namespace

int main(int argc, char** argv) {
  std::size_t blocks = 100000;
  int repeat = 5;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--warm-heap")) {
      // Freed memory stays in the heap: later runs take no page faults,
      // as in a node that has run a while (glibc otherwise returns it).
      mallopt(M_TRIM_THRESHOLD, 1 << 30);
      mallopt(M_MMAP_THRESHOLD, 1 << 30);
    }
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--blocks"))
      blocks = std::stoul(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat"))
      repeat = std::stoi(argv[i + 1]);
  }
  auto c = bench_chain(blocks);
  measure("canonical", c, repeat, true);
  measure("compact", c, repeat, true);
  auto longs = long_string_chain(std::max<std::size_t>(blocks / 50, 2));
  measure("long_strings", longs, repeat, true);
  return 0;
}
