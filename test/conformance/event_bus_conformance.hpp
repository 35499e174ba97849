#pragma once
// The event bus conformance suite, instantiated unchanged for every bus.
// Factory: static std::shared_ptr<es::event_bus> make();  (a bus on which start() has not run)
// Buses may deliver after publish() returns, so every check waits with eventually().
// Batches are built in declarations, never as braced lists inside a co_await expression: g++ 12
// rejects those in templated coroutines ("array used as initializer").
#include "../support/run_coro.hpp"
#include "../support/test_domain.hpp"

#include <es/event_bus.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>

namespace es::test {

template <class Factory>
class EventBusConformance : public ::testing::Test {
protected:
    std::shared_ptr<es::event_bus> bus_ = Factory::make();
    std::string type_a_ = unique_name("BusTypeA");
    std::string type_b_ = unique_name("BusTypeB");
    std::string type_other_ = unique_name("BusTypeOther");
    std::string stream_ = unique_name("bus-stream");
    std::uint64_t next_position_ = 1;

    event_envelope envelope(std::string const& type, int n)
    {
        auto e = make_envelope(make_test_event(type, n), stream_, static_cast<std::uint64_t>(n + 1),
                               next_position_++, now());
        return e;
    }

    // Records what a handler saw, thread-safely.
    struct recorder {
        std::mutex mutex;
        std::vector<int> seen;
        void add(event_envelope const& e)
        {
            std::lock_guard lock(mutex);
            seen.push_back(e.payload.at("n").template to_number<int>());
        }
        std::size_t size()
        {
            std::lock_guard lock(mutex);
            return seen.size();
        }
        std::vector<int> values()
        {
            std::lock_guard lock(mutex);
            return seen;
        }
        event_handler handler()
        {
            return [this](event_envelope const& e) -> awaitable<void> {
                add(e);
                co_return;
            };
        }
    };
    recorder first_, second_;
};
TYPED_TEST_SUITE_P(EventBusConformance);

TYPED_TEST_P(EventBusConformance, TypeSubscriberReceivesOnlyItsType)
{
    run_coro([&]() -> awaitable<void> {
        auto& a = this->first_;
        this->bus_->subscribe(this->type_a_, a.handler());
        co_await this->bus_->start();
        {
            std::vector<event_envelope> batch{this->envelope(this->type_a_, 1), this->envelope(this->type_b_, 2),
                                      this->envelope(this->type_a_, 3)};
            co_await this->bus_->publish(batch);
        }
        EXPECT_TRUE(co_await eventually([&] { return a.size() >= 2; }));
        co_await sleep_for(std::chrono::milliseconds(50));
        EXPECT_EQ(a.values(), (std::vector<int>{1, 3}));
        co_await this->bus_->shutdown(std::chrono::seconds(2));
    });
}

TYPED_TEST_P(EventBusConformance, WildcardSubscriberReceivesEverythingInOrder)
{
    run_coro([&]() -> awaitable<void> {
        auto& all = this->first_;
        this->bus_->subscribe_all(all.handler());
        co_await this->bus_->start();
        std::vector<event_envelope> batch;
        for (int i = 0; i < 20; ++i)
            batch.push_back(this->envelope(i % 2 ? this->type_a_ : this->type_b_, i));
        co_await this->bus_->publish(batch);
        EXPECT_TRUE(co_await eventually([&] { return all.size() >= 20; }));
        std::vector<int> expected(20);
        for (int i = 0; i < 20; ++i)
            expected[i] = i;
        EXPECT_EQ(all.values(), expected);
        co_await this->bus_->shutdown(std::chrono::seconds(2));
    });
}

TYPED_TEST_P(EventBusConformance, ObjectSubscriberGetsTheTypesItLists)
{
    struct projection final : event_subscriber {
        std::vector<std::string> types;
        std::atomic<int> handled{0};
        std::vector<std::string> subscribed_to() const override { return types; }
        awaitable<void> handle(event_envelope const&) override
        {
            ++handled;
            co_return;
        }
    };
    run_coro([&]() -> awaitable<void> {
        auto p = std::make_shared<projection>();
        p->types = {this->type_a_, this->type_b_};
        this->bus_->subscribe(p);
        EXPECT_EQ(this->bus_->subscriber_count(this->type_a_), 1u);
        EXPECT_EQ(this->bus_->subscriber_count(this->type_b_), 1u);
        co_await this->bus_->start();
        {
            std::vector<event_envelope> batch{this->envelope(this->type_a_, 1), this->envelope(this->type_b_, 2),
                                      this->envelope(this->type_other_, 3)};
            co_await this->bus_->publish(batch);
        }
        EXPECT_TRUE(co_await eventually([&] { return p->handled.load() >= 2; }));
        co_await sleep_for(std::chrono::milliseconds(50));
        EXPECT_EQ(p->handled.load(), 2);
        co_await this->bus_->shutdown(std::chrono::seconds(2));
    });
}

TYPED_TEST_P(EventBusConformance, FailingHandlerDoesNotStopOthersAndIsCounted)
{
    run_coro([&]() -> awaitable<void> {
        auto& good = this->first_;
        std::atomic<int> attempts{0};
        this->bus_->subscribe(this->type_a_, [&](event_envelope const&) -> awaitable<void> {
            ++attempts;
            throw std::runtime_error("handler failure injected by the test");
            co_return;
        });
        this->bus_->subscribe(this->type_a_, good.handler());
        co_await this->bus_->start();
        {
            std::vector<event_envelope> batch{this->envelope(this->type_a_, 1), this->envelope(this->type_a_, 2)};
            co_await this->bus_->publish(batch);
        }
        EXPECT_TRUE(co_await eventually([&] { return good.size() >= 2; }));
        EXPECT_TRUE(co_await eventually([&] { return this->bus_->stats().handler_failures >= 2; }));
        EXPECT_GE(attempts.load(), 2);
        auto stats = this->bus_->stats();
        EXPECT_GE(stats.handler_successes, 2u);
        EXPECT_EQ(stats.published, 2u);
        co_await this->bus_->shutdown(std::chrono::seconds(2));
    });
}

TYPED_TEST_P(EventBusConformance, SubscriberCountsAndUnsubscribe)
{
    run_coro([&]() -> awaitable<void> {
        auto& a = this->first_;
        auto& w = this->second_;
        auto id = this->bus_->subscribe(this->type_a_, a.handler());
        this->bus_->subscribe(this->type_a_, [](event_envelope const&) -> awaitable<void> { co_return; });
        this->bus_->subscribe_all(w.handler());
        EXPECT_EQ(this->bus_->subscriber_count(this->type_a_), 2u);
        EXPECT_EQ(this->bus_->subscriber_count(this->type_b_), 0u);
        EXPECT_EQ(this->bus_->wildcard_subscriber_count(), 1u);
        EXPECT_EQ(this->bus_->subscriber_count(), 3u);
        EXPECT_TRUE(this->bus_->unsubscribe(id));
        EXPECT_FALSE(this->bus_->unsubscribe(id));
        EXPECT_EQ(this->bus_->subscriber_count(this->type_a_), 1u);
        co_await this->bus_->start();
        {
            std::vector<event_envelope> batch{this->envelope(this->type_a_, 1)};
            co_await this->bus_->publish(batch);
        }
        EXPECT_TRUE(co_await eventually([&] { return w.size() >= 1; }));
        co_await sleep_for(std::chrono::milliseconds(50));
        EXPECT_EQ(a.size(), 0u);
        co_await this->bus_->shutdown(std::chrono::seconds(2));
    });
}

TYPED_TEST_P(EventBusConformance, StatsCountPublishedAndDelivered)
{
    run_coro([&]() -> awaitable<void> {
        auto& a = this->first_;
        this->bus_->subscribe(this->type_a_, a.handler());
        co_await this->bus_->start();
        for (int i = 0; i < 10; ++i)
            {
                std::vector<event_envelope> batch{this->envelope(this->type_a_, i)};
                co_await this->bus_->publish(batch);
            }
        EXPECT_TRUE(co_await eventually([&] { return a.size() >= 10; }));
        EXPECT_TRUE(co_await eventually([&] { return this->bus_->stats().handler_successes >= 10; }));
        auto s = this->bus_->stats();
        EXPECT_EQ(s.published, 10u);
        EXPECT_GE(s.delivered, 10u);
        EXPECT_EQ(s.handler_failures, 0u);
        co_await this->bus_->shutdown(std::chrono::seconds(2));
    });
}

REGISTER_TYPED_TEST_SUITE_P(EventBusConformance, TypeSubscriberReceivesOnlyItsType,
                            WildcardSubscriberReceivesEverythingInOrder, ObjectSubscriberGetsTheTypesItLists,
                            FailingHandlerDoesNotStopOthersAndIsCounted, SubscriberCountsAndUnsubscribe,
                            StatsCountPublishedAndDelivered);

}  // namespace es::test
