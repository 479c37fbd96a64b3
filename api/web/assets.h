// The built-in dashboard (api/web/dashboard/: index.html, app.js, style.css), compiled into the
// binary so neuroplexd serves it with no files on disk and no network access. The bytes are
// generated at build time by api/web/dashboard/embed.cmake; editing a dashboard file rebuilds.
// Thread safety: the table is immutable static data; find_asset may be called from any thread.
#pragma once

#include <string_view>

namespace neuroplex::web {

struct Asset {
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view body;          // the file's exact bytes; lives as long as the program
};

// The dashboard file served at `path` ("/" is index.html; "/app.js", "/style.css"); nullptr if
// none. `path` is the request target's path; a query ("?...") after it is ignored.
const Asset* find_asset(std::string_view path);

}  // namespace neuroplex::web
