#pragma once
// Named loggers: "es.core", "es.postgres", "es.redis", … Libraries never write to std::cout.
#include <memory>
#include <string>

namespace spdlog { class logger; }

namespace es {

/// The logger with this name, created on first use with the default logger's sinks and level.
std::shared_ptr<spdlog::logger> logger(std::string const& name);

}  // namespace es
