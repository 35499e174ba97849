// The consumer group's decisions; see the header for the rules.
#include <es/redis/bus/detail/delivery_policy.hpp>

namespace es::redis::detail {

namespace {
std::string exhausted_reason(std::uint64_t failures, std::uint32_t max_retries, std::string_view last_error)
{
    std::string why = "handler failed " + std::to_string(failures) + " times (max_retries " +
                      std::to_string(max_retries) + ")";
    if (!last_error.empty())
        why += "; last error: " + std::string(last_error);
    return why;
}
}  // namespace

entry_decision decide_before_delivery(entry_facts const& facts, std::string_view group, delivery_limits limits)
{
    if (facts.in_flight)
        return {entry_action::skip_in_flight, {}, 0};
    if (facts.data_gone)
        return {entry_action::ack_gone, {}, 0};
    if (!facts.target_group.empty() && facts.target_group != group)
        return {entry_action::skip_not_ours, {}, 0};
    // Entries no handler can ever take: dead-lettered without a retry, or kept when there is
    // no DLQ to hold them.
    std::string unusable;
    if (!facts.decodes)
        unusable = "malformed entry: " + facts.decode_error;
    else if (!facts.type_known)
        unusable = "unknown event type '" + facts.event_type + "'";
    if (!unusable.empty())
        return {limits.dlq_enabled ? entry_action::dead_letter : entry_action::keep, std::move(unusable), 0};
    // Retries exhausted earlier (the dead-letter write failed, or there is no DLQ).
    if (facts.failures > limits.max_retries) {
        auto why = exhausted_reason(facts.failures, limits.max_retries, {});
        return {limits.dlq_enabled ? entry_action::dead_letter : entry_action::keep, std::move(why),
                limits.max_retries};
    }
    return {entry_action::deliver, {}, 0};
}

after_decision decide_after_handlers(handlers_outcome outcome, std::uint64_t failures, std::string_view last_error,
                                     delivery_limits limits)
{
    switch (outcome) {
    case handlers_outcome::succeeded:
        return {after_action::ack, 0, {}};
    case handlers_outcome::cancelled:
        return {after_action::abandon, 0, {}};
    case handlers_outcome::failed:
        break;
    }
    // failures = runs that failed so far, this one included; runs allowed = 1 + max_retries.
    if (failures <= limits.max_retries)
        return {after_action::retry_later, 0, {}};
    return {limits.dlq_enabled ? after_action::dead_letter : after_action::keep, limits.max_retries,
            exhausted_reason(failures, limits.max_retries, last_error)};
}

}  // namespace es::redis::detail
