#include "../../support/test_domain.hpp"

#include <es/event_registry.hpp>

#include <gtest/gtest.h>

using namespace es;
using namespace es::test;

namespace {
event_envelope stored(new_event const& e)
{
    return make_envelope(e, "account-1", 1, 1, now());
}

struct impostor {
    static constexpr std::string_view event_type = "AccountOpened";
    int x = 0;
};
BOOST_DESCRIBE_STRUCT(impostor, (), (x))
}  // namespace

TEST(EventRegistry, RoundTripsEveryEventOfTheVariant)
{
    auto registry = make_account_registry();
    std::vector<account_event> events{account_opened{"ada", 100}, money_deposited{50, "EUR", "ref-1"},
                                      money_withdrawn{20}, account_closed{"moved away"}};
    for (auto const& e : events) {
        auto decoded = registry.try_decode<account_event>(stored(event_registry::encode(e)));
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
        EXPECT_EQ(decoded->index(), e.index());
    }
    auto back = registry.decode<account_event>(stored(event_registry::encode(account_opened{"ada", 100})));
    EXPECT_EQ(std::get<account_opened>(back).owner, "ada");
    EXPECT_EQ(std::get<account_opened>(back).overdraft_limit, 100);
}

TEST(EventRegistry, EncodeUsesTypeNameAndSchemaVersion)
{
    auto e = event_registry::encode(money_deposited{5, "USD", std::nullopt});
    EXPECT_EQ(e.event_type, "MoneyDeposited");
    EXPECT_EQ(e.schema_version, 3u);
    EXPECT_EQ(e.payload.at("amount").to_number<long long>(), 5);
}

TEST(EventRegistry, UnknownTypeIsAnErrorValue)
{
    auto registry = make_account_registry();
    auto e = stored(make_test_event("NoSuchEvent"));
    auto r = registry.try_decode<account_event>(e);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, make_error_code(errc::unknown_event_type));
    EXPECT_NE(r.error().message.find("NoSuchEvent"), std::string::npos);
    EXPECT_THROW(registry.decode<account_event>(e), es::error);
}

TEST(EventRegistry, MalformedPayloadNamesTypeAndField)
{
    auto registry = make_account_registry();
    auto e = stored(event_registry::encode(account_opened{"ada", 1}));
    e.payload["overdraft_limit"] = "lots";
    auto r = registry.try_decode<account_event>(e);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, make_error_code(errc::malformed_event));
    EXPECT_NE(r.error().message.find("AccountOpened"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("overdraft_limit"), std::string::npos) << r.error().message;

    e.payload.erase("owner");
    r = registry.try_decode<account_event>(e);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message.find("missing field 'owner'"), std::string::npos) << r.error().message;
}

TEST(EventRegistry, OptionalFieldsMayBeAbsent)
{
    auto registry = make_account_registry();
    auto e = stored(event_registry::encode(money_deposited{5, "EUR", std::nullopt}));
    e.payload.erase("reference");
    auto r = registry.try_decode_as<money_deposited>(e);
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_FALSE(r->reference.has_value());
}

TEST(EventRegistry, TwoStructsUnderOneNameIsAnError)
{
    event_registry registry;
    registry.add<account_opened>();
    registry.add<account_opened>();  // the same struct again is harmless
    try {
        registry.add<impostor>();
        FAIL() << "registering a second struct under 'AccountOpened' must throw";
    } catch (es::error const& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::duplicate_registration));
        EXPECT_NE(std::string(e.what()).find("AccountOpened"), std::string::npos);
    }
}

TEST(EventRegistry, UpcasterChainAppliesInOrder)
{
    auto registry = make_account_registry();
    new_event v1;
    v1.event_type = "MoneyDeposited";
    v1.schema_version = 1;
    v1.payload = {{"amount", "125"}};
    auto r = registry.try_decode_as<money_deposited>(stored(v1));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->amount, 125);
    EXPECT_EQ(r->currency, "EUR");

    new_event v2 = v1;
    v2.schema_version = 2;
    v2.payload = {{"amount", 7}};
    r = registry.try_decode_as<money_deposited>(stored(v2));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->amount, 7);
    EXPECT_EQ(r->currency, "EUR");
}

TEST(EventRegistry, MissingUpcasterOrNewerVersionIsUnsupported)
{
    event_registry registry;
    registry.add<money_deposited>();  // version 3, no upcasters
    new_event old;
    old.event_type = "MoneyDeposited";
    old.schema_version = 2;
    old.payload = {{"amount", 7}};
    auto r = registry.try_decode_as<money_deposited>(stored(old));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, make_error_code(errc::unsupported_event_version));
    EXPECT_NE(r.error().message.find("from schema version 2"), std::string::npos) << r.error().message;

    old.schema_version = 9;
    r = registry.try_decode_as<money_deposited>(stored(old));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, make_error_code(errc::unsupported_event_version));
}

TEST(EventRegistry, FailingUpcasterIsMalformedNotACrash)
{
    auto registry = make_account_registry();
    new_event v1;
    v1.event_type = "MoneyDeposited";
    v1.schema_version = 1;
    v1.payload = {{"amount", 12}};  // v1 amounts were strings: as_string() throws
    auto r = registry.try_decode_as<money_deposited>(stored(v1));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, make_error_code(errc::malformed_event));
}
