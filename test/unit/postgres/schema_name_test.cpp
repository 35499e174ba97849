// es::postgres checks that need no server.
#include <es/error.hpp>
#include <es/postgres/database.hpp>

#include <gtest/gtest.h>

namespace {

TEST(PostgresSchemaName, PlainLowerCaseIdentifiersAreAccepted)
{
    std::vector<std::string> const good{"es", "_private", "tenant_42", std::string(63, 'a')};
    for (auto const& ok : good)
        EXPECT_NO_THROW(es::postgres::validate_schema_name(ok)) << ok;
}

TEST(PostgresSchemaName, AnythingThatWouldNeedEscapingIsRefused)
{
    std::vector<std::string> const bad{"", "Es", "9lives", "a-b", "a b", "x\"; DROP SCHEMA public; --",
                                       "a'b", "ü", std::string(64, 'a')};
    for (auto const& name : bad) {
        boost::system::error_code ec;
        try {
            es::postgres::validate_schema_name(name);
        } catch (es::error const& e) {
            ec = e.code();
        }
        EXPECT_EQ(ec, es::make_error_code(es::errc::invalid_argument)) << name;
    }
}

TEST(PostgresSchemaName, CreateDoesNotConnect)
{
    es::postgres::config cfg;
    cfg.conninfo = "host=127.0.0.1 port=1 dbname=nowhere";
    auto db = es::postgres::database::create(cfg);
    EXPECT_EQ(db->server(), "PostgreSQL at 127.0.0.1:1/nowhere");
    EXPECT_EQ(db->quoted_schema(), "\"es\"");
    EXPECT_EQ(db->notify_channel(), "es_events");
    cfg.conninfo = "postgresql://user:secret@db.example:6543/app?sslmode=require";
    auto url = es::postgres::database::create(cfg);
    EXPECT_EQ(url->server(), "PostgreSQL at db.example:6543/app");  // never the password
}

}  // namespace
