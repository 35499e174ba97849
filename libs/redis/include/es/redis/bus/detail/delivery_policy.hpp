#pragma once
// The decisions of a consumer group, without sockets: given what is known about one stream entry
// (and, after its handlers ran, how they did), what to do with it. consumer_group performs the
// I/O around these; unit tests drive them directly (test/unit/redis/delivery_policy_test.cpp).
//
// The rules (docs/redis-bus.md, "Delivery rules"):
// - an entry this process is handling right now is never handled a second time;
// - an entry replayed from the DLQ for another group is acknowledged without being handled;
// - an entry whose data is gone (trimmed) is acknowledged and counted;
// - a malformed entry or an unknown type is dead-lettered at once (no handler could succeed);
// - only handler failures count toward max_retries: a handler runs 1 + max_retries times, then
//   the entry is dead-lettered with retry_count = max_retries;
// - with the DLQ disabled such an entry is kept pending (and counted as kept), never reported
//   as sent to a DLQ, and not handled again.
#include <cstdint>
#include <string>
#include <string_view>

namespace es::redis::detail {

struct delivery_limits {
    std::uint32_t max_retries = 3;
    bool dlq_enabled = true;
};

/// What is known about an entry before any handler runs.
struct entry_facts {
    bool data_gone = false;           ///< XAUTOCLAIM / XREADGROUP returned no fields: trimmed or deleted
    bool decodes = true;              ///< the fields decode into an envelope
    std::string decode_error;         ///< why not, when !decodes
    bool type_known = true;           ///< the registry knows the type (or there is no registry)
    std::string event_type;
    std::string target_group;         ///< set on DLQ replays: only this group handles the entry
    bool in_flight = false;           ///< this process is handling the entry right now
    std::uint64_t failures = 0;       ///< handler failures recorded for the entry so far
};

enum class entry_action {
    deliver,         ///< run the handlers
    skip_in_flight,  ///< leave it alone: the handler already running owns it
    skip_not_ours,   ///< acknowledge without handling: a replay meant for another group
    ack_gone,        ///< acknowledge: nothing left to deliver (counted as pending_deleted)
    dead_letter,     ///< move to the DLQ with `reason`
    keep,            ///< leave pending without handling (DLQ disabled, retries exhausted)
};

struct entry_decision {
    entry_action action = entry_action::deliver;
    std::string reason;               ///< for dead_letter and keep
    std::uint64_t retry_count = 0;    ///< for dead_letter: retries made before giving up
};

entry_decision decide_before_delivery(entry_facts const& facts, std::string_view group, delivery_limits limits);

/// How the handlers of one delivery did.
enum class handlers_outcome {
    succeeded,   ///< every matching handler returned (or there was none)
    failed,      ///< at least one handler threw
    cancelled,   ///< the group was stopped while a handler ran: not the handler's fault
};

enum class after_action {
    ack,          ///< acknowledge; forget any recorded failures
    retry_later,  ///< leave pending; recovery hands it to a handler again after pending_idle_time
    dead_letter,  ///< retries exhausted: move to the DLQ
    keep,         ///< retries exhausted, DLQ disabled: leave pending, do not handle again
    abandon,      ///< cancelled: leave pending, count nothing
};

struct after_decision {
    after_action action = after_action::ack;
    std::uint64_t retry_count = 0;    ///< for dead_letter / keep: retries made (= failures - 1)
    std::string reason;
};

/// `failures` counts this delivery's failure too when outcome is failed (the recorded total).
after_decision decide_after_handlers(handlers_outcome outcome, std::uint64_t failures, std::string_view last_error,
                                     delivery_limits limits);

}  // namespace es::redis::detail
