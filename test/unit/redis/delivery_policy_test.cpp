// The consumer group's decisions, driven without a server: what to ack, retry, dead-letter, skip.
#include <es/redis/bus/detail/delivery_policy.hpp>

#include <gtest/gtest.h>

namespace {
using namespace es::redis::detail;

delivery_limits limits(std::uint32_t max_retries, bool dlq = true)
{
    return {max_retries, dlq};
}

TEST(DeliveryPolicy, AFreshEntryIsDelivered)
{
    auto d = decide_before_delivery(entry_facts{}, "g", limits(3));
    EXPECT_EQ(d.action, entry_action::deliver);
}

TEST(DeliveryPolicy, AnEntryInFlightIsNeverHandledTwice)
{
    entry_facts f;
    f.in_flight = true;
    f.decodes = false;  // whatever else is true of it
    EXPECT_EQ(decide_before_delivery(f, "g", limits(3)).action, entry_action::skip_in_flight);
}

TEST(DeliveryPolicy, GoneDataIsAcknowledged)
{
    entry_facts f;
    f.data_gone = true;
    EXPECT_EQ(decide_before_delivery(f, "g", limits(3)).action, entry_action::ack_gone);
}

TEST(DeliveryPolicy, AReplayForAnotherGroupIsSkipped)
{
    entry_facts f;
    f.target_group = "billing";
    EXPECT_EQ(decide_before_delivery(f, "shipping", limits(3)).action, entry_action::skip_not_ours);
    EXPECT_EQ(decide_before_delivery(f, "billing", limits(3)).action, entry_action::deliver);
}

TEST(DeliveryPolicy, MalformedAndUnknownEntriesGoToTheDlqAtOnce)
{
    entry_facts bad;
    bad.decodes = false;
    bad.decode_error = "field 'payload' is not JSON";
    auto d = decide_before_delivery(bad, "g", limits(3));
    EXPECT_EQ(d.action, entry_action::dead_letter);
    EXPECT_EQ(d.reason, "malformed entry: field 'payload' is not JSON");
    EXPECT_EQ(d.retry_count, 0u);

    entry_facts unknown;
    unknown.type_known = false;
    unknown.event_type = "OrderTeleported";
    d = decide_before_delivery(unknown, "g", limits(3));
    EXPECT_EQ(d.action, entry_action::dead_letter);
    EXPECT_EQ(d.reason, "unknown event type 'OrderTeleported'");
}

TEST(DeliveryPolicy, WithoutADlqUnusableEntriesAreKept)
{
    entry_facts bad;
    bad.decodes = false;
    EXPECT_EQ(decide_before_delivery(bad, "g", limits(3, false)).action, entry_action::keep);
    auto after = decide_after_handlers(handlers_outcome::failed, 4, "boom", limits(3, false));
    EXPECT_EQ(after.action, after_action::keep);
}

// max_retries = n: the handler runs 1 + n times; the (n+1)-th failure dead-letters with
// retry_count n. Every earlier failure leaves the entry for a retry.
TEST(DeliveryPolicy, MaxRetriesMeansRetries)
{
    for (std::uint32_t max_retries : {0u, 1u, 2u, 3u}) {
        std::uint64_t runs = 0;
        after_decision last;
        for (std::uint64_t failures = 1;; ++failures) {
            ++runs;
            last = decide_after_handlers(handlers_outcome::failed, failures, "boom", limits(max_retries));
            if (last.action != after_action::retry_later)
                break;
            // the next delivery of the entry is allowed
            entry_facts f;
            f.failures = failures;
            ASSERT_EQ(decide_before_delivery(f, "g", limits(max_retries)).action, entry_action::deliver);
        }
        EXPECT_EQ(runs, 1u + max_retries) << "max_retries " << max_retries;
        EXPECT_EQ(last.action, after_action::dead_letter);
        EXPECT_EQ(last.retry_count, max_retries);
        EXPECT_NE(last.reason.find("last error: boom"), std::string::npos) << last.reason;
    }
}

TEST(DeliveryPolicy, OnlyFailuresCountNotDeliveries)
{
    // An entry delivered many times (crash take-overs) but never failed is delivered again.
    entry_facts f;
    f.failures = 0;
    EXPECT_EQ(decide_before_delivery(f, "g", limits(0)).action, entry_action::deliver);
}

TEST(DeliveryPolicy, ExhaustedEntriesFoundByRecoveryAreDeadLettered)
{
    entry_facts f;
    f.failures = 4;  // the dead-letter write failed last time
    auto d = decide_before_delivery(f, "g", limits(3));
    EXPECT_EQ(d.action, entry_action::dead_letter);
    EXPECT_EQ(d.retry_count, 3u);
}

TEST(DeliveryPolicy, SuccessAcksAndCancellationAbandons)
{
    EXPECT_EQ(decide_after_handlers(handlers_outcome::succeeded, 0, {}, limits(3)).action, after_action::ack);
    EXPECT_EQ(decide_after_handlers(handlers_outcome::cancelled, 0, {}, limits(0)).action, after_action::abandon);
}

}  // namespace
