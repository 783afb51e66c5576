#include "bench/dlt_load_standing.hpp"

#include <map>
#include <sstream>
#include <tuple>

namespace dlt_load {

standing stand(const std::vector<node_view>& views,
               const std::vector<char>& preferred) {
  standing s;
  struct tally {
    std::uint64_t height;
    std::size_t count = 0, first = 0;
    bool preferred = false;
  };
  std::map<std::string, tally> tips;
  bool any = false;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    if (!v.reachable)
      continue;
    ++s.reachable;
    s.height = any ? std::max(s.height, v.height) : v.height;
    s.lowest = any ? std::min(s.lowest, v.height) : v.height;
    any = true;
    auto [it, fresh] = tips.try_emplace(v.tip, tally{v.height});
    if (fresh)
      it->second.first = i;
    ++it->second.count;
    if (i < preferred.size() && preferred[i])
      it->second.preferred = true;
  }
  s.distinct = tips.size();
  const tally* best = nullptr;
  for (const auto& [tip, t] : tips) {
    if (t.height != s.height)
      continue;
    ++s.tips_at_top;
    auto key = [](const tally& x) {
      return std::make_tuple(x.preferred, x.count, -static_cast<long long>(x.first));
    };
    if (!best || key(t) > key(*best)) {
      best = &t;
      s.tip = tip;
    }
  }
  if (best) {
    s.holder = best->first;
    s.holders = best->count;
  }
  return s;
}

std::string progress_line(int second, int round,
                          const std::vector<node_view>& views,
                          std::size_t mined, std::size_t pass) {
  auto s = stand(views);
  std::size_t behind = 0, far = 0, pending_nodes = 0, unknown = 0;
  std::int64_t pending = 0;
  for (const auto& v : views) {
    if (!v.reachable)
      continue;
    behind += v.tip != s.tip;
    far += v.height + 1 < s.height;
    if (v.pending > 0) {
      ++pending_nodes;
      pending += v.pending;
    } else if (v.pending < 0) {
      ++unknown;
    }
  }
  std::ostringstream line;
  line << "  settling t=" << second << "s  round " << round << "  tips "
       << s.distinct << "  heights " << s.lowest << ".." << s.height
       << "  behind " << behind << " (" << far << " by more than a block)"
       << "  pending " << pending << " tx on "
       << pending_nodes << " node(s)";
  if (unknown)
    line << " (" << unknown << " unknown)";
  if (s.reachable < views.size())
    line << "  unreachable " << views.size() - s.reachable;
  if (pass)
    line << "  mining: " << mined << " of " << pass << " nodes";
  return line.str();
}

std::string verdict(const network& net, const std::vector<node_view>& views,
                    const std::vector<char>& unconfirmed, double timeout,
                    int rounds) {
  auto s = stand(views);
  std::ostringstream out;
  out << "the nodes did not settle within " << timeout << " s (" << rounds
      << " rounds). ";
  if (s.reachable == 0)
    out << "No node answered.\n";
  else
    out << "The longest chain, height " << s.height << ", tip "
        << short_hash(s.tip) << ", is held by " << s.holders << " of "
        << views.size() << " nodes. These disagree:\n";
  std::size_t listed = 0, more = 0;
  for (std::size_t i = 0; i < views.size(); ++i) {
    const auto& v = views[i];
    std::string why;
    if (!v.reachable)
      why = v.error;
    else if (v.height < s.height)
      why = "behind";
    else if (v.tip != s.tip)
      why = "another chain of the same length";
    else if (v.pending > 0)
      why = std::to_string(v.pending) + " transaction(s) pending";
    else if (v.pending < 0 && unconfirmed[i])
      why = "may have transactions pending: it has no GET /status, and no "
            "mine has found it empty yet";
    if (why.empty())
      continue;
    if (listed == 30) {
      ++more;
      continue;
    }
    ++listed;
    out << "  " << net.address(i);
    if (v.reachable)
      out << "  height " << v.height << "  tip " << short_hash(v.tip);
    out << "  (" << why << ")\n";
  }
  if (more)
    out << "  ... and " << more << " more\n";
  if (listed == 0 && s.reachable > 0)
    out << "  none any more: they agreed just after the deadline\n";
  return out.str();
}

} // namespace dlt_load
