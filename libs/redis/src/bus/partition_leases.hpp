#pragma once
// Private: the Lua scripts of the partitioned bus' leases and heartbeat. Each runs atomically on
// the server with the server's clock, so the consumers' clocks need not agree.
#include <es/redis/client/script.hpp>

namespace es::redis::detail {

extern script const heartbeat_script;
extern script const renew_script;
extern script const acquire_script;
extern script const release_script;

}  // namespace es::redis::detail
