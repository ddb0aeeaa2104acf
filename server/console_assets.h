// The web console's files (server/console/), embedded in the binary at build time by
// server/embed_assets.cmake, so tokenledgerd serves /console/ with nothing installed beside it
// and nothing fetched from elsewhere.
#pragma once

#include <string_view>
#include <vector>

namespace tokenledger::server {

struct StaticAsset {
  std::string_view name;          // the file name: "index.html", "console.js", ...
  std::string_view content_type;  // a literal, with its charset
  std::string_view body;
};

const std::vector<StaticAsset>& ConsoleAssets();

}  // namespace tokenledger::server
