#include "../../support/test_domain.hpp"

#include <gtest/gtest.h>

using namespace es::test;

TEST(Aggregate, ReplayRebuildsStateAndVersion)
{
    account a("1");
    std::vector<account_event> history{account_opened{"ada", 0}, money_deposited{100, "EUR", {}}, money_withdrawn{30}};
    a.load_from_history(history);
    EXPECT_EQ(a.balance(), 70);
    EXPECT_EQ(a.version(), 3u);
    EXPECT_EQ(a.loaded_version(), 3u);
    EXPECT_TRUE(a.pending_events().empty());
    EXPECT_EQ(a.stream_id(), "account-1");
}

TEST(Aggregate, CommandsRecordPendingEventsWithVersions)
{
    account a("1");
    a.open("ada");
    a.deposit(10);
    EXPECT_EQ(a.version(), 2u);
    EXPECT_EQ(a.loaded_version(), 0u);
    ASSERT_EQ(a.pending_events().size(), 2u);
    EXPECT_TRUE(std::holds_alternative<account_opened>(a.pending_events()[0]));
    a.mark_committed();
    EXPECT_TRUE(a.pending_events().empty());
    EXPECT_EQ(a.loaded_version(), 2u);
}

TEST(Aggregate, BrokenRuleThrowsDomainErrorAndRecordsNothing)
{
    account a("1");
    a.open("ada", 50);
    a.withdraw(50);
    EXPECT_THROW(a.withdraw(1), es::domain_error);
    EXPECT_THROW(a.open("bob"), es::domain_error);
    EXPECT_THROW(a.deposit(-5), es::domain_error);
    EXPECT_EQ(a.pending_events().size(), 2u);
    EXPECT_EQ(a.balance(), -50);
    try {
        a.withdraw(1);
    } catch (es::domain_error const& e) {
        EXPECT_EQ(e.code(), es::make_error_code(es::errc::rule_violated));
        EXPECT_NE(std::string(e.what()).find("account 1"), std::string::npos);
    }
}

TEST(Aggregate, ApplyStoredTracksStreamVersions)
{
    account a("1");
    a.apply_stored(account_opened{"ada", 0}, 1);
    a.apply_stored(money_deposited{5, "EUR", {}}, 2);
    EXPECT_EQ(a.version(), 2u);
    EXPECT_EQ(a.applied(), 2);
}
