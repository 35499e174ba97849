#pragma once
// A small bank-account domain used by the core tests and the conformance suites.
#include <es/aggregate.hpp>
#include <es/error.hpp>
#include <es/event_registry.hpp>

#include <boost/describe/class.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <optional>
#include <string>
#include <variant>

namespace es::test {

struct account_opened {
    static constexpr std::string_view event_type = "AccountOpened";
    std::string owner;
    long long overdraft_limit = 0;
};
BOOST_DESCRIBE_STRUCT(account_opened, (), (owner, overdraft_limit))

struct money_deposited {
    static constexpr std::string_view event_type = "MoneyDeposited";
    static constexpr std::uint32_t schema_version = 3;  // v1: "amount" string; v2: "amount" int; v3: + currency
    long long amount = 0;
    std::string currency;
    std::optional<std::string> reference;
};
BOOST_DESCRIBE_STRUCT(money_deposited, (), (amount, currency, reference))

struct money_withdrawn {
    static constexpr std::string_view event_type = "MoneyWithdrawn";
    long long amount = 0;
};
BOOST_DESCRIBE_STRUCT(money_withdrawn, (), (amount))

struct account_closed {
    static constexpr std::string_view event_type = "AccountClosed";
    std::string reason;
};
BOOST_DESCRIBE_STRUCT(account_closed, (), (reason))

using account_event = std::variant<account_opened, money_deposited, money_withdrawn, account_closed>;

class account : public es::aggregate<account, account_event> {
public:
    static constexpr std::string_view aggregate_type = "account";
    explicit account(std::string id) : aggregate(std::move(id)) {}

    void open(std::string owner, long long overdraft_limit = 0)
    {
        if (opened_)
            throw es::domain_error("account " + id() + " is already open");
        record(account_opened{std::move(owner), overdraft_limit});
    }
    void deposit(long long amount)
    {
        require_open();
        if (amount <= 0)
            throw es::domain_error("account " + id() + ": a deposit must be positive");
        record(money_deposited{amount, "EUR", std::nullopt});
    }
    void withdraw(long long amount)
    {
        require_open();
        if (balance_ - amount < -overdraft_)
            throw es::domain_error("account " + id() + ": insufficient funds");
        record(money_withdrawn{amount});
    }
    void close(std::string reason)
    {
        require_open();
        record(account_closed{std::move(reason)});
    }

    long long balance() const noexcept { return balance_; }
    bool is_open() const noexcept { return opened_ && !closed_; }
    std::string const& owner() const noexcept { return owner_; }
    int applied() const noexcept { return applied_; }

    // Snapshots
    boost::json::value snapshot_state() const
    {
        return {{"owner", owner_}, {"balance", balance_}, {"overdraft", overdraft_}, {"opened", opened_}, {"closed", closed_}};
    }
    void restore_snapshot(boost::json::value const& v)
    {
        auto const& o = v.as_object();
        owner_ = std::string(o.at("owner").as_string());
        balance_ = o.at("balance").to_number<long long>();
        overdraft_ = o.at("overdraft").to_number<long long>();
        opened_ = o.at("opened").as_bool();
        closed_ = o.at("closed").as_bool();
    }

private:
    friend class es::aggregate<account, account_event>;
    void require_open() const
    {
        if (!opened_ || closed_)
            throw es::domain_error("account " + id() + " is not open");
    }
    void apply(account_opened const& e) { opened_ = true; owner_ = e.owner; overdraft_ = e.overdraft_limit; ++applied_; }
    void apply(money_deposited const& e) { balance_ += e.amount; ++applied_; }
    void apply(money_withdrawn const& e) { balance_ -= e.amount; ++applied_; }
    void apply(account_closed const&) { closed_ = true; ++applied_; }

    std::string owner_;
    long long balance_ = 0;
    long long overdraft_ = 0;
    bool opened_ = false;
    bool closed_ = false;
    int applied_ = 0;
};

/// A registry with the account events and the two-step upcaster chain for MoneyDeposited.
event_registry make_account_registry();

/// A new_event of type `type` with a small payload, for store tests that need no domain.
new_event make_test_event(std::string type = "TestEvent", int n = 0);

}  // namespace es::test
