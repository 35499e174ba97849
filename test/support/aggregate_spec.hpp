#pragma once
// Given/when/then tests for aggregates (after cqrs-es's test framework):
//   aggregate_spec<order>("o-1").given(order_placed{...}).when([](order& o) { o.pay("p"); })
//       .then_expect(order_paid{...});
#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace es::test {

template <class Aggregate>
class aggregate_spec {
public:
    using event = typename Aggregate::event_type;

    explicit aggregate_spec(std::string id) : aggregate_(std::move(id)) {}

    template <class... E>
    aggregate_spec& given(E... events)
    {
        std::vector<event> history{event(std::move(events))...};
        aggregate_.load_from_history(history);
        return *this;
    }
    aggregate_spec& given_no_events() { return *this; }

    aggregate_spec& when(std::function<void(Aggregate&)> command)
    {
        try {
            command(aggregate_);
        } catch (...) {
            thrown_ = std::current_exception();
        }
        return *this;
    }

    /// The command recorded exactly these events, in order.
    template <class... E>
    Aggregate& then_expect(E... events)
    {
        rethrow_unexpected();
        std::vector<event> expected{event(std::move(events))...};
        auto pending = aggregate_.pending_events();
        EXPECT_EQ(std::vector<event>(pending.begin(), pending.end()), expected);
        return aggregate_;
    }

    /// The command threw Error whose message contains `text`, and recorded nothing.
    template <class Error>
    void then_throws(std::string const& text)
    {
        if (!thrown_) {
            ADD_FAILURE() << "expected an exception containing '" << text << "', but the command succeeded";
            return;
        }
        try {
            std::rethrow_exception(thrown_);
        } catch (Error const& e) {
            EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
        } catch (std::exception const& e) {
            ADD_FAILURE() << "the command threw a different exception: " << e.what();
        }
        EXPECT_TRUE(aggregate_.pending_events().empty());
    }

private:
    void rethrow_unexpected()
    {
        if (!thrown_)
            return;
        try {
            std::rethrow_exception(thrown_);
        } catch (std::exception const& e) {
            ADD_FAILURE() << "the command threw: " << e.what();
        }
    }

    Aggregate aggregate_;
    std::exception_ptr thrown_;
};

}  // namespace es::test
