// The non-template part of es::repository.
#include <es/error.hpp>
#include <es/log.hpp>
#include <es/repository.hpp>

#include <spdlog/spdlog.h>

namespace es::detail {

void log_snapshot_failure(std::string_view aggregate_type, std::string_view aggregate_id,
                          std::uint64_t stream_version, std::exception_ptr const& failure)
{
    logger("es.core")->error("repository: snapshot of {} '{}' at version {} not written (its events are saved and "
                             "published; loads replay them instead): {}",
                             aggregate_type, aggregate_id, stream_version, exception_message(failure));
}

}  // namespace es::detail
