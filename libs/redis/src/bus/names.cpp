// Validation of the names a stream bus puts into Redis keys, group names and logs.
#include <es/error.hpp>
#include <es/redis/bus/stream_bus_config.hpp>

namespace es::redis {

namespace {
void check(std::string_view setting, std::string const& value, bool may_be_empty)
{
    auto bad = [&](std::string const& why) {
        // Quote at most a prefix of a hostile value, with control characters made visible.
        std::string shown;
        for (char c : value.substr(0, 60))
            shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
        throw error(errc::invalid_argument, "stream bus: " + std::string(setting) + " '" + shown + "' " + why);
    };
    if (value.empty() && !may_be_empty)
        bad("is empty");
    if (value.size() > 200)
        bad("is longer than 200 characters");
    for (char c : value) {
        bool const ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.' || c == ':' || c == '@' || c == '/';
        if (!ok)
            bad("may contain only letters, digits and \"-_.:@/\"");
    }
}
}  // namespace

void validate_names(stream_bus_config const& cfg)
{
    check("stream_prefix", cfg.stream_prefix, false);
    check("consumer_group", cfg.consumer_group, false);
    for (auto const& g : cfg.additional_consumer_groups)
        check("additional consumer group", g, false);
    if (!cfg.consumer_name.empty())
        check("consumer_name", cfg.consumer_name, false);
    check("dlq_stream_suffix", cfg.dlq_stream_suffix, true);
    check("follow_event_type", cfg.follow_event_type, true);
}

}  // namespace es::redis
