#pragma once
// The event store conformance suite. Every backend instantiates it unchanged:
//   INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, EventStoreConformance, in_memory_store_factory);
// Factory: static std::shared_ptr<es::event_store> make();
#include "../support/run_coro.hpp"
#include "../support/test_domain.hpp"

#include <es/error.hpp>
#include <es/event_store.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>

namespace es::test {

// Names used inside coroutine bodies live out here: g++ 12 mis-compiles string literals inside
// some co_await expressions of templated coroutines ("array used as initializer").
inline std::string const test_event_type = "TestEvent";

template <class Factory>
class EventStoreConformance : public ::testing::Test {
protected:
    std::shared_ptr<es::event_store> store_ = Factory::make();
    std::string stream_ = unique_name("conf");

    static std::vector<new_event> events(int n, int first = 0)
    {
        std::vector<new_event> out;
        for (int i = 0; i < n; ++i)
            out.push_back(make_test_event(test_event_type, first + i));
        return out;
    }
};
TYPED_TEST_SUITE_P(EventStoreConformance);

// Runs `count` copies of fn concurrently on the caller's executor (a multi-threaded
// io_context in these tests) and waits for all of them.
inline awaitable<void> run_concurrently(int count, std::function<awaitable<void>(int)> fn)
{
    auto ex = co_await asio::this_coro::executor;
    auto remaining = std::make_shared<std::atomic<int>>(count);
    auto errors = std::make_shared<std::atomic<int>>(0);
    for (int i = 0; i < count; ++i)
        asio::co_spawn(ex, fn(i), [remaining, errors](std::exception_ptr e) {
            if (e)
                ++*errors;
            --*remaining;
        });
    auto& left = *remaining;  // the condition captures a reference: see eventually()
    EXPECT_TRUE(co_await eventually([&left] { return left.load() == 0; }, std::chrono::seconds(60)));
    EXPECT_EQ(errors->load(), 0) << "a concurrent task threw";
}

TYPED_TEST_P(EventStoreConformance, AppendToNewStreamAssignsVersionsAndPositions)
{
    run_coro([&]() -> awaitable<void> {
        auto r = co_await this->store_->append(this->stream_, expected_version::no_stream(), this->events(3));
        EXPECT_EQ(r.stream_version, 3u);
        EXPECT_FALSE(r.already_stored);
        EXPECT_EQ(r.events.size(), 3u);
        for (std::size_t i = 0; i < r.events.size(); ++i) {
            EXPECT_EQ(r.events[i].stream_version, i + 1);
            EXPECT_EQ(r.events[i].stream_id, this->stream_);
            EXPECT_GT(r.events[i].global_position, 0u);
            if (i > 0) {
                EXPECT_GT(r.events[i].global_position, r.events[i - 1].global_position);
            }
        }
        EXPECT_EQ(r.last_global_position, r.events.back().global_position);
        EXPECT_EQ(co_await this->store_->stream_version(this->stream_), 3u);
    });
}

TYPED_TEST_P(EventStoreConformance, AppendOneByOne)
{
    run_coro([&]() -> awaitable<void> {
        for (int i = 0; i < 5; ++i) {
            auto r = co_await this->store_->append(this->stream_, expected_version::exactly(i), this->events(1, i));
            EXPECT_EQ(r.stream_version, static_cast<std::uint64_t>(i + 1));
        }
        auto all = co_await this->store_->read_stream(this->stream_);
        EXPECT_EQ(all.size(), 5u);
        for (std::size_t i = 0; i < all.size(); ++i)
            EXPECT_EQ(all[i].payload.at("n").template to_number<int>(), static_cast<int>(i));
    });
}

TYPED_TEST_P(EventStoreConformance, StoredEnvelopeKeepsEveryField)
{
    run_coro([&]() -> awaitable<void> {
        auto e = make_test_event(test_event_type, 7);
        e.schema_version = 2;
        e.aggregate_type = "order";
        e.aggregate_id = "o-1";
        e.metadata = {"corr", "cause", "tenant", {{"user", "alice"}}};
        e.payload = {{"nested", {{"a", 1}, {"b", {1, 2, 3}}}}, {"text", "ü ✓ \"quoted\" 'single'"}};
        auto const id = e.event_id;
        auto const occurred = e.occurred_at;
        std::vector<new_event> one{e};
        co_await this->store_->append(this->stream_, expected_version::any(), one);
        auto read = co_await this->store_->read_stream(this->stream_);
        EXPECT_EQ(read.size(), 1u);
        if (read.size() != 1)
            co_return;
        auto const& s = read[0];
        EXPECT_EQ(s.event_id, id);
        EXPECT_EQ(s.event_type, "TestEvent");
        EXPECT_EQ(s.schema_version, 2u);
        EXPECT_EQ(s.aggregate_type, "order");
        EXPECT_EQ(s.aggregate_id, "o-1");
        EXPECT_EQ(s.metadata, e.metadata);
        EXPECT_EQ(s.payload, e.payload);
        EXPECT_EQ(s.occurred_at, occurred);
        EXPECT_GE(s.recorded_at, occurred);
    });
}

TYPED_TEST_P(EventStoreConformance, ExpectedVersionAny)
{
    run_coro([&]() -> awaitable<void> {
        co_await this->store_->append(this->stream_, expected_version::any(), this->events(1));
        auto r = co_await this->store_->append(this->stream_, expected_version::any(), this->events(1, 1));
        EXPECT_EQ(r.stream_version, 2u);
    });
}

TYPED_TEST_P(EventStoreConformance, ExpectedVersionNoStream)
{
    run_coro([&]() -> awaitable<void> {
        co_await this->store_->append(this->stream_, expected_version::no_stream(), this->events(1));
        std::optional<concurrency_error> caught;
        try {
            co_await this->store_->append(this->stream_, expected_version::no_stream(), this->events(1, 1));
        } catch (concurrency_error const& e) {
            caught = e;
        }
        EXPECT_TRUE(caught.has_value());
        if (caught) {
            EXPECT_EQ(caught->stream_id(), this->stream_);
            EXPECT_EQ(caught->actual_version(), 1u);
            EXPECT_EQ(caught->expected(), expected_version::no_stream());
            EXPECT_EQ(caught->code(), make_error_code(errc::wrong_expected_version));
            EXPECT_NE(std::string(caught->what()).find(this->stream_), std::string::npos) << caught->what();
        }
        EXPECT_EQ(co_await this->store_->stream_version(this->stream_), 1u);
    });
}

TYPED_TEST_P(EventStoreConformance, ExpectedVersionStreamExists)
{
    run_coro([&]() -> awaitable<void> {
        EXPECT_THROW(co_await this->store_->append(this->stream_, expected_version::stream_exists(), this->events(1)),
                     concurrency_error);
        EXPECT_EQ(co_await this->store_->stream_version(this->stream_), 0u);
        co_await this->store_->append(this->stream_, expected_version::no_stream(), this->events(1));
        auto r = co_await this->store_->append(this->stream_, expected_version::stream_exists(), this->events(1, 1));
        EXPECT_EQ(r.stream_version, 2u);
    });
}

TYPED_TEST_P(EventStoreConformance, ExpectedVersionExactly)
{
    run_coro([&]() -> awaitable<void> {
        // exactly(0) on a missing stream is the same as no_stream.
        co_await this->store_->append(this->stream_, expected_version::exactly(0), this->events(2));
        std::uint64_t actual = 0;
        try {
            co_await this->store_->append(this->stream_, expected_version::exactly(1), this->events(1, 2));
        } catch (concurrency_error const& e) {
            actual = e.actual_version();
        }
        EXPECT_EQ(actual, 2u);
        EXPECT_THROW(co_await this->store_->append(this->stream_, expected_version::exactly(3), this->events(1, 3)),
                     concurrency_error);
        auto r = co_await this->store_->append(this->stream_, expected_version::exactly(2), this->events(1, 4));
        EXPECT_EQ(r.stream_version, 3u);
        // A rejected batch writes nothing.
        auto r1 = co_await this->store_->read_stream(this->stream_);
        EXPECT_EQ(r1.size(), 3u);
    });
}

TYPED_TEST_P(EventStoreConformance, ReappendingTheSameEventsIsANoOp)
{
    run_coro([&]() -> awaitable<void> {
        auto batch = this->events(2);
        auto first = co_await this->store_->append(this->stream_, expected_version::no_stream(), batch);
        co_await this->store_->append(this->stream_, expected_version::exactly(2), this->events(1, 9));
        // The retry carries a stale expected version: idempotency wins over the version check.
        auto again = co_await this->store_->append(this->stream_, expected_version::no_stream(), batch);
        EXPECT_TRUE(again.already_stored);
        EXPECT_TRUE(again.events.empty());
        auto r2 = co_await this->store_->read_stream(this->stream_);
        EXPECT_EQ(r2.size(), 3u);
        EXPECT_EQ(first.events.size(), 2u);
    });
}

TYPED_TEST_P(EventStoreConformance, EventIdInAnotherStreamIsRejected)
{
    run_coro([&]() -> awaitable<void> {
        auto batch = this->events(1);
        co_await this->store_->append(this->stream_, expected_version::any(), batch);
        auto other = unique_name(this->stream_);
        boost::system::error_code ec;
        try {
            co_await this->store_->append(other, expected_version::any(), batch);
        } catch (es::error const& e) {
            ec = e.code();
        }
        EXPECT_EQ(ec, make_error_code(errc::duplicate_event_id));
        EXPECT_EQ(co_await this->store_->stream_version(other), 0u);
    });
}

TYPED_TEST_P(EventStoreConformance, PartlyRepeatedBatchIsRejected)
{
    run_coro([&]() -> awaitable<void> {
        auto batch = this->events(2);
        co_await this->store_->append(this->stream_, expected_version::any(), batch);
        auto mixed = std::vector<new_event>{batch[0], make_test_event(test_event_type, 5)};
        boost::system::error_code ec;
        try {
            co_await this->store_->append(this->stream_, expected_version::any(), mixed);
        } catch (es::error const& e) {
            ec = e.code();
        }
        EXPECT_EQ(ec, make_error_code(errc::duplicate_event_id));
        EXPECT_EQ(co_await this->store_->stream_version(this->stream_), 2u);
    });
}

TYPED_TEST_P(EventStoreConformance, ReadStreamFromTheMiddleAndBackwards)
{
    run_coro([&]() -> awaitable<void> {
        co_await this->store_->append(this->stream_, expected_version::no_stream(), this->events(10));
        auto mid = co_await this->store_->read_stream(this->stream_, {4, 3});
        EXPECT_EQ(mid.size(), 3u);
        if (mid.size() == 3) {
            EXPECT_EQ(mid[0].stream_version, 4u);
            EXPECT_EQ(mid[2].stream_version, 6u);
        }
        auto back = co_await this->store_->read_stream(this->stream_, {0, 4, read_direction::backwards});
        EXPECT_EQ(back.size(), 4u);
        if (back.size() == 4) {
            EXPECT_EQ(back[0].stream_version, 10u);
            EXPECT_EQ(back[3].stream_version, 7u);
        }
        auto back_from = co_await this->store_->read_stream(this->stream_, {3, 100, read_direction::backwards});
        EXPECT_EQ(back_from.size(), 3u);
        if (!back_from.empty()) {
            EXPECT_EQ(back_from[0].stream_version, 3u);
        }
        auto r3 = co_await this->store_->read_stream(this->stream_, {11});
        EXPECT_TRUE(r3.empty());
        auto missing = unique_name(this->stream_);
        auto r4 = co_await this->store_->read_stream(missing);
        EXPECT_TRUE(r4.empty());
    });
}

TYPED_TEST_P(EventStoreConformance, ReadAllFollowsGlobalOrderAcrossStreams)
{
    run_coro([&]() -> awaitable<void> {
        std::string a = this->stream_ + "-a";
        std::string b = this->stream_ + "-b";
        auto first = co_await this->store_->append(a, expected_version::any(), this->events(1, 0));
        co_await this->store_->append(b, expected_version::any(), this->events(1, 1));
        co_await this->store_->append(a, expected_version::any(), this->events(1, 2));
        co_await this->store_->append(b, expected_version::any(), this->events(1, 3));
        auto const start = first.events.front().global_position - 1;
        auto all = co_await this->store_->read_all({start, 100});
        std::vector<int> mine;
        std::uint64_t last = start;
        for (auto const& e : all) {
            EXPECT_GT(e.global_position, last);
            last = e.global_position;
            if (e.stream_id == a || e.stream_id == b)
                mine.push_back(e.payload.at("n").template to_number<int>());
        }
        EXPECT_EQ(mine, (std::vector<int>{0, 1, 2, 3}));
        // Paging with after_position sees the same sequence.
        auto page1 = co_await this->store_->read_all({start, 2});
        EXPECT_EQ(page1.size(), 2u);
        if (page1.size() == 2) {
            auto page2 = co_await this->store_->read_all({page1.back().global_position, 2});
            EXPECT_EQ(page2.size(), 2u);
            if (!page2.empty()) {
                EXPECT_GT(page2.front().global_position, page1.back().global_position);
            }
        }
    });
}

TYPED_TEST_P(EventStoreConformance, ReadAllFiltersByEventAndAggregateType)
{
    std::string const type_a = unique_name("TypeA");
    std::string const type_b = unique_name("TypeB");
    std::string const agg = unique_name("agg");
    run_coro([&]() -> awaitable<void> {
        std::vector<new_event> batch{make_test_event(type_a, 0), make_test_event(type_b, 1), make_test_event(type_a, 2)};
        auto first = co_await this->store_->append(this->stream_, expected_version::any(), batch);
        auto const start = first.events.front().global_position - 1;
        read_all_options by_type;
        by_type.after_position = start;
        by_type.event_types = {type_a};
        auto only_a = co_await this->store_->read_all(by_type);
        EXPECT_EQ(only_a.size(), 2u);
        for (auto const& e : only_a)
            EXPECT_EQ(e.event_type, type_a);
        auto ev = make_test_event(type_b, 3);
        ev.aggregate_type = agg;
        auto other_stream = unique_name(this->stream_);
        std::vector<new_event> one{ev};
        co_await this->store_->append(other_stream, expected_version::any(), one);
        read_all_options by_aggregate;
        by_aggregate.after_position = start;
        by_aggregate.aggregate_types = {agg};
        auto by_agg = co_await this->store_->read_all(by_aggregate);
        EXPECT_EQ(by_agg.size(), 1u);
    });
}

TYPED_TEST_P(EventStoreConformance, ConcurrentAppendsToOneStreamHaveOneWinnerPerVersion)
{
    // 16 writers race for each version on a 4-thread io_context; exactly one wins each round and
    // the losers see the winner's version.
    run_coro(
        [&]() -> awaitable<void> {
            constexpr int writers = 16, rounds = 10;
            for (int round = 0; round < rounds; ++round) {
                std::atomic<int> wins{0}, conflicts{0}, wrong_actual{0};
                co_await run_concurrently(writers, [&](int w) -> awaitable<void> {
                    try {
                        std::vector<new_event> one{make_test_event(test_event_type, round * 100 + w)};
                        co_await this->store_->append(this->stream_, expected_version::exactly(round), std::move(one));
                        ++wins;
                    } catch (concurrency_error const& e) {
                        ++conflicts;
                        if (e.actual_version() != static_cast<std::uint64_t>(round + 1))
                            ++wrong_actual;
                    }
                });
                EXPECT_EQ(wins.load(), 1) << "round " << round;
                EXPECT_EQ(conflicts.load(), writers - 1) << "round " << round;
                EXPECT_EQ(wrong_actual.load(), 0) << "round " << round;
            }
            auto all = co_await this->store_->read_stream(this->stream_);
            EXPECT_EQ(all.size(), static_cast<std::size_t>(rounds));
            for (std::size_t i = 0; i < all.size(); ++i)
                EXPECT_EQ(all[i].stream_version, i + 1);
        },
        std::chrono::seconds(120), 4);
}

TYPED_TEST_P(EventStoreConformance, ConcurrentRetryingWritersLeaveNoGapsOrDuplicates)
{
    run_coro(
        [&]() -> awaitable<void> {
            constexpr int writers = 8, per_writer = 10;
            co_await run_concurrently(writers, [&](int w) -> awaitable<void> {
                for (int i = 0; i < per_writer;) {
                    auto v = co_await this->store_->stream_version(this->stream_);
                    bool ok = true;
                    try {
                        std::vector<new_event> one{make_test_event(test_event_type, w * 1000 + i)};
                        co_await this->store_->append(this->stream_, expected_version::exactly(v), std::move(one));
                    } catch (concurrency_error const&) {
                        ok = false;
                    }
                    if (ok)
                        ++i;
                }
            });
            auto all = co_await this->store_->read_stream(this->stream_);
            EXPECT_EQ(all.size(), static_cast<std::size_t>(writers * per_writer));
            std::set<int> seen;
            for (std::size_t i = 0; i < all.size(); ++i) {
                EXPECT_EQ(all[i].stream_version, i + 1);
                if (i > 0) {
                    EXPECT_GT(all[i].global_position, all[i - 1].global_position);
                }
                seen.insert(all[i].payload.at("n").template to_number<int>());
            }
            EXPECT_EQ(seen.size(), all.size());
        },
        std::chrono::seconds(120), 4);
}

REGISTER_TYPED_TEST_SUITE_P(EventStoreConformance, AppendToNewStreamAssignsVersionsAndPositions, AppendOneByOne,
                            StoredEnvelopeKeepsEveryField, ExpectedVersionAny, ExpectedVersionNoStream,
                            ExpectedVersionStreamExists, ExpectedVersionExactly, ReappendingTheSameEventsIsANoOp,
                            EventIdInAnotherStreamIsRejected, PartlyRepeatedBatchIsRejected,
                            ReadStreamFromTheMiddleAndBackwards, ReadAllFollowsGlobalOrderAcrossStreams,
                            ReadAllFiltersByEventAndAggregateType, ConcurrentAppendsToOneStreamHaveOneWinnerPerVersion,
                            ConcurrentRetryingWritersLeaveNoGapsOrDuplicates);

}  // namespace es::test
