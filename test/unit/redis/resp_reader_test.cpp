// The RESP2 reader (hiredis' sans-io parser building es::redis::reply trees), without a server.
#include "../../../libs/redis/src/client/resp_reader.hpp"

#include <es/error.hpp>
#include <es/redis/client/error.hpp>

#include <gtest/gtest.h>

namespace {
using es::redis::reply;
using es::redis::reply_type;
using es::redis::detail::resp_reader;

std::vector<reply> parse_all(resp_reader& r, std::string_view bytes)
{
    r.feed(bytes.data(), bytes.size());
    std::vector<reply> out;
    while (auto x = r.next())
        out.push_back(std::move(*x));
    return out;
}

es::redis::errc error_of(std::string_view bytes, std::size_t limit = 1 << 20)
{
    resp_reader r(limit);
    try {
        parse_all(r, bytes);
    } catch (es::error const& e) {
        return static_cast<es::redis::errc>(e.code().value());
    }
    return {};
}

TEST(RespReader, ParsesEveryReplyType)
{
    resp_reader r;
    auto out = parse_all(r, "+OK\r\n-ERR bad\r\n:-42\r\n$3\r\nabc\r\n$-1\r\n*-1\r\n*0\r\n");
    ASSERT_EQ(out.size(), 7u);
    EXPECT_EQ(out[0].type, reply_type::status);
    EXPECT_EQ(out[0].str, "OK");
    EXPECT_TRUE(out[1].is_error());
    EXPECT_EQ(out[1].str, "ERR bad");
    EXPECT_EQ(out[2].integer, -42);
    EXPECT_EQ(out[3].str, "abc");
    EXPECT_TRUE(out[4].is_nil());
    EXPECT_TRUE(out[5].is_nil());
    EXPECT_TRUE(out[6].is_array());
    EXPECT_TRUE(out[6].elements.empty());
}

TEST(RespReader, ParsesNestedArraysLikeXreadgroup)
{
    resp_reader r;
    auto out = parse_all(r, "*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
                            "*2\r\n$3\r\n2-0\r\n*-1\r\n");
    ASSERT_EQ(out.size(), 1u);
    auto const& stream = out[0].elements.at(0);
    EXPECT_EQ(stream.elements.at(0).str, "s");
    auto const& entries = stream.elements.at(1).elements;
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].elements.at(1).elements.at(1).str, "v");
    EXPECT_TRUE(entries[1].elements.at(1).is_nil());
}

TEST(RespReader, ReassemblesRepliesSplitAtEveryByte)
{
    using namespace std::string_literals;
    std::string bytes = "*3\r\n$5\r\nhe\0lo\r\n:7\r\n*1\r\n+x\r\n"s;
    resp_reader r;
    std::vector<reply> out;
    for (char c : bytes) {
        r.feed(&c, 1);
        while (auto x = r.next())
            out.push_back(std::move(*x));
    }
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].elements.at(0).str, std::string("he\0lo", 5));
    EXPECT_EQ(out[0].elements.at(2).elements.at(0).str, "x");
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(RespReader, BinaryBulkStringsAreKeptByteForByte)
{
    std::string value;
    for (int i = 0; i < 256; ++i)
        value += static_cast<char>(i);
    std::string bytes = "$256\r\n" + value + "\r\n";
    resp_reader r;
    auto out = parse_all(r, bytes);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].str, value);
}

TEST(RespReader, RejectsAnUnknownTypeByte)
{
    EXPECT_EQ(error_of("?what\r\n"), es::redis::errc::protocol_error);
}

TEST(RespReader, RejectsBadLengths)
{
    EXPECT_EQ(error_of("*-5\r\n"), es::redis::errc::protocol_error);
    EXPECT_EQ(error_of("$abc\r\n"), es::redis::errc::protocol_error);
    EXPECT_EQ(error_of(":12x\r\n"), es::redis::errc::protocol_error);
}

TEST(RespReader, RejectsNestingDeeperThanSeven)
{
    EXPECT_EQ(error_of("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), es::redis::errc::protocol_error);
}

TEST(RespReader, AHugeDeclaredArrayIsNotAllocatedUpFront)
{
    resp_reader r;
    auto out = parse_all(r, "*2000000000\r\n:1\r\n");
    EXPECT_TRUE(out.empty());  // waits for more elements, holding only what arrived
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(RespReader, ABufferedReplyOverTheLimitIsRefused)
{
    std::string bytes = "$2000\r\n" + std::string(1500, 'x');
    EXPECT_EQ(error_of(bytes, 1024), es::redis::errc::reply_too_large);
}

TEST(RespReader, ResetForgetsAPartialReply)
{
    resp_reader r;
    parse_all(r, "*2\r\n:1\r\n");
    r.reset();
    auto out = parse_all(r, "+PONG\r\n");
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].str, "PONG");
}

}  // namespace
