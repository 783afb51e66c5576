// find_web_asset over the table generated at build time (embed.cmake).

#include "http/web_assets.hpp"

#include <cstddef>

namespace dlt::web_data {
struct entry {
  std::string_view path;
  web_asset asset;
};
extern const entry entries[];
extern const std::size_t entry_count;
} // namespace dlt::web_data

namespace dlt {

const web_asset* find_web_asset(std::string_view path) {
  // A handful of entries: a linear scan of exact comparisons is all it takes.
  for (std::size_t i = 0; i < web_data::entry_count; ++i)
    if (web_data::entries[i].path == path)
      return &web_data::entries[i].asset;
  return nullptr;
}

} // namespace dlt
