#pragma once
#include <string_view>

namespace orders::http {
/// The dashboard page (web/index.html, embedded at build time: no files to ship, no build step).
std::string_view dashboard_html() noexcept;
}
