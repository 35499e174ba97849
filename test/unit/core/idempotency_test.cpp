#include "../../support/run_coro.hpp"
#include "../../support/test_domain.hpp"

#include <es/idempotency.hpp>
#include <es/in_memory_event_bus.hpp>

#include <gtest/gtest.h>

using namespace es;
using namespace es::test;

namespace {
event_envelope envelope(int n)
{
    return make_envelope(make_test_event("TestEvent", n), "s-1", static_cast<std::uint64_t>(n + 1),
                         static_cast<std::uint64_t>(n + 1), now());
}
}  // namespace

TEST(IdempotentHandler, RedeliveredEventRunsTheHandlerOnce)
{
    run_coro([]() -> awaitable<void> {
        auto store = std::make_shared<in_memory_processed_event_store>();
        auto stats = std::make_shared<idempotency_stats>();
        int calls = 0;
        auto h = idempotent_handler(store, "projection", [&](event_envelope const&) -> awaitable<void> {
            ++calls;
            co_return;
        }, stats);
        auto e = envelope(1);
        co_await h(e);
        co_await h(e);
        co_await h(envelope(2));
        EXPECT_EQ(calls, 2);
        EXPECT_EQ(stats->handled.load(), 2u);
        EXPECT_EQ(stats->skipped.load(), 1u);
    });
}

TEST(IdempotentHandler, ConsumersAreIndependent)
{
    run_coro([]() -> awaitable<void> {
        auto store = std::make_shared<in_memory_processed_event_store>();
        int calls = 0;
        auto count = [&](event_envelope const&) -> awaitable<void> {
            ++calls;
            co_return;
        };
        auto a = idempotent_handler(store, "a", count);
        auto b = idempotent_handler(store, "b", count);
        auto e = envelope(1);
        co_await a(e);
        co_await b(e);
        EXPECT_EQ(calls, 2);
    });
}

TEST(IdempotentHandler, FailedHandlerIsNotRecordedAndRunsAgain)
{
    run_coro([]() -> awaitable<void> {
        auto store = std::make_shared<in_memory_processed_event_store>();
        int calls = 0;
        auto h = idempotent_handler(store, "p", [&](event_envelope const&) -> awaitable<void> {
            if (++calls == 1)
                throw std::runtime_error("transient failure");
            co_return;
        });
        auto e = envelope(1);
        EXPECT_THROW(co_await h(e), std::runtime_error);
        co_await h(e);
        co_await h(e);
        EXPECT_EQ(calls, 2);
    });
}

TEST(IdempotentHandler, WorksAsABusSubscription)
{
    run_coro([]() -> awaitable<void> {
        in_memory_event_bus bus;
        auto store = std::make_shared<in_memory_processed_event_store>();
        int calls = 0;
        bus.subscribe_all(idempotent_handler(store, "p", [&](event_envelope const&) -> awaitable<void> {
            ++calls;
            co_return;
        }));
        auto first = envelope(1);
        std::vector<event_envelope> batch{first, envelope(2), first};  // a replayed duplicate
        co_await bus.publish(batch);
        EXPECT_EQ(calls, 2);
    });
}

TEST(InMemoryProcessedEventStore, ForgetsTheOldestBeyondCapacity)
{
    run_coro([]() -> awaitable<void> {
        in_memory_processed_event_store store(2);
        auto a = new_event_id(), b = new_event_id(), c = new_event_id();
        co_await store.remember("p", a);
        co_await store.remember("p", b);
        co_await store.remember("p", c);
        EXPECT_FALSE(co_await store.contains("p", a));
        EXPECT_TRUE(co_await store.contains("p", c));
        EXPECT_EQ(store.size(), 2u);
    });
}

namespace {
// A store whose release() fails too: what the bus must see is still the handler's own error.
class failing_release_store final : public processed_event_store {
public:
    in_memory_processed_event_store inner;
    awaitable<bool> contains(std::string c, boost::uuids::uuid id) override { return inner.contains(std::move(c), id); }
    awaitable<void> remember(std::string c, boost::uuids::uuid id) override { return inner.remember(std::move(c), id); }
    awaitable<claim_outcome> claim(std::string c, boost::uuids::uuid id, std::chrono::milliseconds lease) override
    {
        return inner.claim(std::move(c), id, lease);
    }
    awaitable<void> release(std::string, boost::uuids::uuid) override
    {
        throw std::runtime_error("store unreachable");
        co_return;
    }
};
}  // namespace

TEST(IdempotentHandler, AFailedReleaseDoesNotHideTheHandlersError)
{
    run_coro([]() -> awaitable<void> {
        auto store = std::make_shared<failing_release_store>();
        auto handler = idempotent_handler(store, "p", [](event_envelope const&) -> awaitable<void> {
            throw std::runtime_error("projection failed");
            co_return;
        });
        std::string message;
        try {
            co_await handler(envelope(1));
        } catch (std::exception const& e) {
            message = e.what();
        }
        EXPECT_EQ(message, "projection failed");
    });
}
