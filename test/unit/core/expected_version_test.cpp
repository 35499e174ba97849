#include <es/error.hpp>
#include <es/expected_version.hpp>

#include <gtest/gtest.h>

using es::expected_version;

TEST(ExpectedVersion, AnyMatchesEverything)
{
    EXPECT_TRUE(expected_version::any().matches(0));
    EXPECT_TRUE(expected_version::any().matches(42));
}

TEST(ExpectedVersion, NoStreamMatchesOnlyAnEmptyStream)
{
    EXPECT_TRUE(expected_version::no_stream().matches(0));
    EXPECT_FALSE(expected_version::no_stream().matches(1));
}

TEST(ExpectedVersion, StreamExistsMatchesAnyNonEmptyStream)
{
    EXPECT_FALSE(expected_version::stream_exists().matches(0));
    EXPECT_TRUE(expected_version::stream_exists().matches(1));
    EXPECT_TRUE(expected_version::stream_exists().matches(99));
}

TEST(ExpectedVersion, ExactlyMatchesOneVersion)
{
    EXPECT_TRUE(expected_version::exactly(3).matches(3));
    EXPECT_FALSE(expected_version::exactly(3).matches(2));
    EXPECT_FALSE(expected_version::exactly(3).matches(4));
    EXPECT_TRUE(expected_version::exactly(0).matches(0));
}

TEST(ExpectedVersion, ConcurrencyErrorSaysWhatAndWhere)
{
    es::concurrency_error e("order-42", expected_version::exactly(3), 5);
    EXPECT_STREQ(e.what(), "append to stream 'order-42': expected version 3, but the stream is at version 5");
    EXPECT_EQ(e.stream_id(), "order-42");
    EXPECT_EQ(e.actual_version(), 5u);
    EXPECT_EQ(e.expected(), expected_version::exactly(3));
    EXPECT_EQ(e.code(), es::make_error_code(es::errc::wrong_expected_version));
    EXPECT_EQ(e.code().category().name(), std::string("es"));
}
