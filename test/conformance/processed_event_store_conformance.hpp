#pragma once
// The processed-event store conformance suite, instantiated unchanged for every store.
// Factory: static awaitable<std::shared_ptr<es::processed_event_store>> make();  (in run_coro)
// What it proves: check-and-mark is one atomic step (claim), so two concurrent deliveries of an
// event never both run an idempotent handler; claims are given back on failure and lapse when
// their lease runs out.
#include "../support/run_coro.hpp"
#include "../support/test_domain.hpp"

#include <es/error.hpp>
#include <es/idempotency.hpp>
#include <es/task_group.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/uuid/random_generator.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

namespace es::test {

template <class Factory>
class ProcessedEventStoreConformance : public ::testing::Test {
protected:
    std::string consumer_ = unique_name("consumer");
};

TYPED_TEST_SUITE_P(ProcessedEventStoreConformance);

TYPED_TEST_P(ProcessedEventStoreConformance, ClaimRememberAndRelease)
{
    auto consumer = this->consumer_;
    run_coro([consumer]() -> awaitable<void> {
        auto store = co_await TypeParam::make();
        auto const id = boost::uuids::random_generator()();
        auto first = co_await store->claim(consumer, id, std::chrono::seconds(30));
        EXPECT_EQ(first, claim_outcome::claimed);
        auto second = co_await store->claim(consumer, id, std::chrono::seconds(30));
        EXPECT_EQ(second, claim_outcome::in_progress);
        co_await store->release(consumer, id);
        auto again = co_await store->claim(consumer, id, std::chrono::seconds(30));
        EXPECT_EQ(again, claim_outcome::claimed);
        co_await store->remember(consumer, id);
        auto after = co_await store->claim(consumer, id, std::chrono::seconds(30));
        EXPECT_EQ(after, claim_outcome::already_processed);
        bool processed = co_await store->contains(consumer, id);
        EXPECT_TRUE(processed);
        auto other_consumer = co_await store->claim(consumer + "-other", id, std::chrono::seconds(30));
        EXPECT_EQ(other_consumer, claim_outcome::claimed);
    });
}

TYPED_TEST_P(ProcessedEventStoreConformance, AnExpiredClaimCanBeTakenAgain)
{
    auto consumer = this->consumer_;
    run_coro([consumer]() -> awaitable<void> {
        auto store = co_await TypeParam::make();
        auto const id = boost::uuids::random_generator()();
        auto first = co_await store->claim(consumer, id, std::chrono::milliseconds(50));
        EXPECT_EQ(first, claim_outcome::claimed);
        co_await sleep_for(std::chrono::milliseconds(120));  // the handler that held it "crashed"
        auto again = co_await store->claim(consumer, id, std::chrono::seconds(30));
        EXPECT_EQ(again, claim_outcome::claimed);
    });
}

// Two deliveries of one event at the same time: the handler runs once; the other delivery fails
// with in_progress (the bus delivers it again later, and then it is skipped).
TYPED_TEST_P(ProcessedEventStoreConformance, ConcurrentDeliveriesRunTheHandlerOnce)
{
    auto consumer = this->consumer_;
    run_coro([consumer]() -> awaitable<void> {
        auto store = co_await TypeParam::make();
        std::atomic<int> runs{0};
        auto stats = std::make_shared<idempotency_stats>();
        auto handler = idempotent_handler(store, consumer, [&runs](event_envelope const&) -> awaitable<void> {
            ++runs;
            co_await sleep_for(std::chrono::milliseconds(100));
        }, stats);
        auto e = make_envelope(make_test_event("Once", 1), "s", 1, 1, now());
        std::atomic<int> ended{0}, refused{0};
        auto deliver = [&]() -> awaitable<void> {
            try {
                co_await handler(e);
            } catch (es::error const& err) {
                if (err.code() == make_error_code(errc::in_progress))
                    ++refused;
            }
            ++ended;
        };
        auto ex = co_await asio::this_coro::executor;
        task_group deliveries;
        deliveries.spawn(ex, deliver(), "delivery 1");
        deliveries.spawn(ex, deliver(), "delivery 2");
        co_await deliveries.join();
        EXPECT_EQ(ended.load(), 2);
        EXPECT_EQ(runs.load(), 1);
        EXPECT_EQ(refused.load(), 1);
        co_await handler(e);  // the redelivery, later: skipped
        EXPECT_EQ(runs.load(), 1);
        EXPECT_EQ(stats->skipped.load(), 1u);
        EXPECT_EQ(stats->in_progress.load(), 1u);
    });
}

TYPED_TEST_P(ProcessedEventStoreConformance, AFailingHandlerGivesItsClaimBack)
{
    auto consumer = this->consumer_;
    run_coro([consumer]() -> awaitable<void> {
        auto store = co_await TypeParam::make();
        std::atomic<int> runs{0};
        auto handler = idempotent_handler(store, consumer, [&runs](event_envelope const&) -> awaitable<void> {
            if (++runs == 1)
                throw std::runtime_error("first attempt fails");
            co_return;
        });
        auto e = make_envelope(make_test_event("Retry", 1), "s", 1, 1, now());
        bool failed = false;
        try {
            co_await handler(e);
        } catch (std::runtime_error const&) {
            failed = true;
        }
        EXPECT_TRUE(failed);
        co_await handler(e);  // the redelivery runs it again at once: the claim was given back
        EXPECT_EQ(runs.load(), 2);
        bool processed = co_await store->contains(consumer, e.event_id);
        EXPECT_TRUE(processed);
    });
}

REGISTER_TYPED_TEST_SUITE_P(ProcessedEventStoreConformance, ClaimRememberAndRelease, AnExpiredClaimCanBeTakenAgain,
                            ConcurrentDeliveriesRunTheHandlerOnce, AFailingHandlerGivesItsClaimBack);

}  // namespace es::test
