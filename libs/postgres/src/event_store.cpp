#include "detail.hpp"

#include <es/error.hpp>
#include <es/postgres/event_store.hpp>

#include <boost/json/serialize.hpp>
#include <pqxx/pqxx>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <deque>
#include <limits>
#include <mutex>
#include <set>
#include <string_view>

namespace es::postgres {
namespace {

struct append_outcome {
    int status = 0;
    std::uint64_t version = 0;
    std::uint64_t first_position = 0;
    std::int64_t recorded_us = 0;
    std::string other_stream;
    std::string event_id;
};

int kind_code(expected_version e)
{
    switch (e.type()) {
    case expected_version::kind::any: return 0;
    case expected_version::kind::no_stream: return 1;
    case expected_version::kind::stream_exists: return 2;
    case expected_version::kind::exact: return 3;
    }
    return 3;
}

std::string encode_batch(std::vector<new_event> const& events)
{
    boost::json::array batch;
    batch.reserve(events.size());
    for (auto const& e : events)
        batch.push_back(boost::json::object{
            {"event_id", to_string(e.event_id)},
            {"event_type", e.event_type},
            {"schema_version", e.schema_version},
            {"aggregate_type", e.aggregate_type},
            {"aggregate_id", e.aggregate_id},
            {"occurred_at", format_timestamp(e.occurred_at)},
            {"metadata", to_json(e.metadata)},
            {"payload", e.payload},
        });
    return boost::json::serialize(batch);
}

long long limit_of(std::size_t n)
{
    return n > static_cast<std::size_t>(std::numeric_limits<long long>::max()) ? std::numeric_limits<long long>::max()
                                                                               : static_cast<long long>(n);
}

std::vector<event_envelope> decode_all(pqxx::result const& rows)
{
    std::vector<event_envelope> out;
    out.reserve(rows.size());
    for (auto const& row : rows)
        out.push_back(detail::decode_event(row));
    return out;
}

stream_info decode_stream(pqxx::row const& row)
{
    return stream_info{row[0].as<std::string>(), row[1].as<std::string>(),
                       static_cast<std::uint64_t>(row[2].as<long long>()),
                       static_cast<std::uint64_t>(row[3].as<long long>()), row[4].as<bool>()};
}

}  // namespace


namespace {

append_outcome decode_outcome(pqxx::row const& r)
{
    return append_outcome{r[0].as<int>(),
                          static_cast<std::uint64_t>(r[1].as<long long>()),
                          static_cast<std::uint64_t>(r[2].is_null() ? 0 : r[2].as<long long>()),
                          r[3].is_null() ? 0 : r[3].as<long long>(),
                          r[4].is_null() ? std::string() : r[4].as<std::string>(),
                          r[5].is_null() ? std::string() : r[5].as<std::string>()};
}

// The outcome of append_events (or of a group member) as append's result or exception.
append_result to_result(append_outcome const& outcome, std::string const& stream_id, expected_version expected,
                        std::vector<new_event> const& events)
{
    switch (outcome.status) {
    case 0: break;
    case 1: return append_result{outcome.version, 0, {}, true};
    case 2: throw concurrency_error(stream_id, expected, outcome.version);
    case 3:
        throw error(errc::duplicate_event_id, "append to stream " + detail::quoted(stream_id) + ": event " +
                                                  outcome.event_id + " is already stored in stream " +
                                                  detail::quoted(outcome.other_stream));
    case 4:
        throw error(errc::duplicate_event_id, "append to stream " + detail::quoted(stream_id) +
                                                  ": the batch repeats some but not all events of an earlier append");
    default:
        throw error(errc::duplicate_event_id, "append to stream " + detail::quoted(stream_id) + ": event " +
                                                  outcome.event_id + " appears twice in the batch");
    }
    append_result result;
    result.stream_version = outcome.version;
    if (events.empty())
        return result;
    auto const recorded = timestamp(std::chrono::microseconds(outcome.recorded_us));
    auto const first_version = outcome.version - events.size() + 1;
    result.events.reserve(events.size());
    for (std::size_t i = 0; i < events.size(); ++i)
        result.events.push_back(make_envelope(events[i], stream_id, first_version + i, outcome.first_position + i, recorded));
    result.last_global_position = outcome.first_position + events.size() - 1;
    return result;
}

// Does errc say that the statement certainly did not commit (so each member may retry alone)?
bool rolled_back(std::error_code const& ec)
{
    return ec == make_error_code(errc::invalid_argument) ||
           ec == boost::system::errc::make_error_code(boost::system::errc::io_error);
}

}  // namespace

// Group commit: appends queue here; at most max_in_flight of them are "leaders" that take a
// group from the queue (their own append first, then others of distinct streams), run it as one
// append_events_group call and hand each member its outcome. A leader that is done passes the
// role to the oldest waiting append. Wake-ups cross threads, so they go through the mutex and
// are posted to each waiter's own executor.
struct event_store::group_queue {
    struct member {
        std::string stream_id;
        int kind = 0;
        long long expected = 0;
        std::string events;  // JSON array, as for append_events
        // Guarded by mutex:
        bool done = false;
        bool lead = false;
        std::optional<append_outcome> outcome;  // status -1: decide alone
        std::exception_ptr failure;
        // Thread-safe, capacity 1: a signal sent before the member waits is kept.
        std::unique_ptr<asio::experimental::concurrent_channel<void(boost::system::error_code)>> signal;
    };

    std::mutex mutex;
    std::deque<std::shared_ptr<member>> queue;
    std::size_t leaders = 0;
    std::size_t max_leaders = 1;
    std::size_t max_batch = 64;
    std::chrono::microseconds max_wait{0};

    // Caller holds mutex. Each member is signalled once: when it is done or when it leads.
    static void wake(member& m) { m.signal->try_send(boost::system::error_code()); }

    std::vector<std::shared_ptr<member>> take(std::shared_ptr<member> const& self)
    {
        std::vector<std::shared_ptr<member>> group;
        std::set<std::string_view> streams;
        std::lock_guard lock(mutex);
        group.push_back(self);
        streams.insert(self->stream_id);
        for (auto it = queue.begin(); it != queue.end() && group.size() < max_batch;) {
            if (*it == self) {
                it = queue.erase(it);
            } else if ((*it)->lead || !streams.insert((*it)->stream_id).second) {
                ++it;  // another leader's own append, or a second append to a stream: a later group
            } else {
                group.push_back(*it);
                it = queue.erase(it);
            }
        }
        // self may sit behind max_batch others
        if (auto pos = std::find(queue.begin(), queue.end(), self); pos != queue.end())
            queue.erase(pos);
        return group;
    }
};

event_store::event_store(std::shared_ptr<database> db) : db_(std::move(db))
{
    auto const& gc = db_->settings().group_commit;
    if (gc.enabled) {
        group_ = std::make_shared<group_queue>();
        group_->max_leaders = gc.max_in_flight > 0 ? gc.max_in_flight : std::max<std::size_t>(1, db_->settings().pool_size);
        group_->max_batch = std::max<std::size_t>(1, gc.max_batch);
        group_->max_wait = gc.max_wait;
    }
}
event_store::event_store(config cfg) : event_store(database::create(std::move(cfg))) {}

awaitable<append_result> event_store::append(std::string stream_id, expected_version expected,
                                             std::vector<new_event> events)
{
    if (stream_id.empty())
        throw error(errc::invalid_argument, "append: the stream id is empty");
    std::string const body = encode_batch(events);
    int const kind = kind_code(expected);
    auto const expected_value = static_cast<long long>(expected.value());

    if (group_ && !events.empty()) {
        auto& g = *group_;
        auto self = std::make_shared<group_queue::member>();
        auto const ex = co_await asio::this_coro::executor;
        self->signal = std::make_unique<asio::experimental::concurrent_channel<void(boost::system::error_code)>>(ex, 1);
        self->stream_id = stream_id;
        self->kind = kind;
        self->expected = expected_value;
        self->events = body;
        {
            std::lock_guard lock(g.mutex);
            g.queue.push_back(self);
            if (g.leaders < g.max_leaders) {
                ++g.leaders;
                self->lead = true;
            }
        }
        bool leading = false;
        {
            std::lock_guard lock(g.mutex);
            leading = self->lead;
        }
        if (!leading) {
            co_await self->signal->async_receive(asio::use_awaitable);
            std::lock_guard lock(g.mutex);
            leading = !self->done;
        }
        if (leading) {  // this append leads a group
            if (g.max_wait.count() > 0) {
                bool full = false;
                {
                    std::lock_guard lock(g.mutex);
                    full = g.queue.size() >= g.max_batch;
                }
                if (!full) {
                    asio::steady_timer timer(ex, g.max_wait);
                    co_await timer.async_wait(asio::use_awaitable);
                }
            }
            auto group = g.take(self);
            std::string text = "[";
            for (std::size_t i = 0; i < group.size(); ++i) {
                auto const& m = *group[i];
                if (i > 0)
                    text += ',';
                text += "{\"s\":" + boost::json::serialize(boost::json::string(m.stream_id)) +
                        ",\"k\":" + std::to_string(m.kind) + ",\"x\":" + std::to_string(m.expected) + ",\"e\":" + m.events + "}";
            }
            text += ']';
            std::vector<append_outcome> outcomes;
            std::exception_ptr failure;
            try {
                outcomes = co_await db_->run(
                    "group append of " + std::to_string(group.size()) + " appends (each safe to retry with the same event ids)",
                    [&text](pqxx::connection& conn) {
                        pqxx::nontransaction tx(conn);
                        auto rows = tx.exec_prepared("es_append_group", text);
                        std::vector<append_outcome> out;
                        out.reserve(rows.size());
                        for (auto const& r : rows)
                            out.push_back(append_outcome{r[0].as<int>(), static_cast<std::uint64_t>(r[1].as<long long>()),
                                                         static_cast<std::uint64_t>(r[2].as<long long>()),
                                                         r[3].as<long long>(), {}, {}});
                        return out;
                    });
                if (outcomes.size() != group.size())
                    throw error(errc::invalid_argument, "group append: " + std::to_string(outcomes.size()) +
                                                            " outcomes for " + std::to_string(group.size()) + " appends");
            } catch (error const& e) {
                // Rejected as a whole (such as one member's invalid data): nothing committed, so
                // every member decides alone. Connection trouble: the outcome is unknown to all.
                if (!rolled_back(e.code()))
                    failure = std::current_exception();
                outcomes.assign(group.size(), append_outcome{-1, 0, 0, 0, {}, {}});
            } catch (...) {
                // Whatever it is, every member hears of it (none may wait forever).
                failure = std::current_exception();
                outcomes.assign(group.size(), append_outcome{-1, 0, 0, 0, {}, {}});
            }
            std::lock_guard lock(g.mutex);
            for (std::size_t i = 0; i < group.size(); ++i) {
                auto& m = *group[i];
                m.done = true;
                if (failure)
                    m.failure = failure;
                else
                    m.outcome = outcomes[i];
                if (&m != self.get())
                    group_queue::wake(m);
            }
            // Pass the lead to the oldest waiting append that is not leading already.
            auto next = std::find_if(g.queue.begin(), g.queue.end(), [](auto const& m) { return !m->lead && !m->done; });
            if (next != g.queue.end()) {
                (*next)->lead = true;
                group_queue::wake(**next);
            } else {
                --g.leaders;
            }
        }
        if (self->failure)
            std::rethrow_exception(self->failure);
        if (self->outcome->status == 0) {
            auto result = to_result(*self->outcome, stream_id, expected, events);
            db_->notify_appended();
            co_return result;
        }
        // status -1: decided alone below.
    }

    auto outcome = co_await db_->run(
        "append to stream " + detail::quoted(stream_id) + " (safe to retry with the same event ids)",
        [&](pqxx::connection& conn) {
            // A unique violation means an event id is stored already (possibly by a concurrent
            // retry of this batch, which we waited for): calling again with the idempotency
            // check on turns that into status 1, 3 or 4.
            for (int attempt = 1;; ++attempt) {
                try {
                    pqxx::nontransaction tx(conn);
                    return decode_outcome(tx.exec_prepared("es_append", stream_id, kind, expected_value, body, attempt > 1)[0]);
                } catch (pqxx::unique_violation const&) {
                    if (attempt >= 20)
                        throw;
                }
            }
        });
    auto result = to_result(outcome, stream_id, expected, events);
    if (!events.empty() && outcome.status == 0)
        db_->notify_appended();
    co_return result;
}

awaitable<std::vector<event_envelope>> event_store::read_stream(std::string stream_id, read_stream_options options)
{
    if (options.max_count == 0)
        co_return std::vector<event_envelope>{};
    bool const forwards = options.direction == read_direction::forwards;
    long long const from = forwards ? static_cast<long long>(options.from_version)
                           : options.from_version == 0
                               ? std::numeric_limits<long long>::max()
                               : static_cast<long long>(std::min<std::uint64_t>(options.from_version, std::numeric_limits<long long>::max()));
    long long const limit = limit_of(options.max_count);
    co_return co_await db_->run("read stream " + detail::quoted(stream_id), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        return decode_all(tx.exec_prepared(forwards ? "es_read_forwards" : "es_read_backwards", stream_id, from, limit));
    });
}

awaitable<std::vector<event_envelope>> event_store::read_all(read_all_options options)
{
    if (options.max_count == 0)
        co_return std::vector<event_envelope>{};
    auto const after = static_cast<long long>(options.after_position);
    long long const limit = limit_of(options.max_count);
    bool const filtered = !options.event_types.empty() || !options.aggregate_types.empty();
    co_return co_await db_->run("read all after position " + std::to_string(after), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        if (!filtered)
            return decode_all(tx.exec_prepared("es_read_all", after, limit));
        // NULL means "no filter"; libpqxx 6 sends a null for an empty optional-like pointer.
        char const* types = nullptr;
        char const* aggregates = nullptr;
        std::string types_text, aggregates_text;
        if (!options.event_types.empty()) {
            types_text = detail::text_array(options.event_types);
            types = types_text.c_str();
        }
        if (!options.aggregate_types.empty()) {
            aggregates_text = detail::text_array(options.aggregate_types);
            aggregates = aggregates_text.c_str();
        }
        return decode_all(tx.exec_prepared("es_read_all_filtered", after, limit, types, aggregates));
    });
}

awaitable<std::uint64_t> event_store::stream_version(std::string stream_id)
{
    co_return co_await db_->run("read the version of stream " + detail::quoted(stream_id), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        return static_cast<std::uint64_t>(tx.exec_prepared("es_stream_version", stream_id)[0][0].as<long long>());
    });
}

awaitable<std::optional<stream_info>> event_store::stream(std::string stream_id)
{
    co_return co_await db_->run("read stream record " + detail::quoted(stream_id), [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        auto rows = tx.exec_prepared("es_stream_info", stream_id);
        return rows.empty() ? std::optional<stream_info>() : std::optional<stream_info>(decode_stream(rows[0]));
    });
}

awaitable<bool> event_store::stream_exists(std::string stream_id)
{
    auto info = co_await stream(std::move(stream_id));
    co_return info.has_value() && !info->deleted;
}

awaitable<std::vector<stream_info>> event_store::list_streams(list_streams_options options)
{
    co_return co_await db_->run("list streams", [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        auto rows = tx.exec_prepared("es_list_streams", options.aggregate_type, options.after_stream_id,
                                     limit_of(options.max_count), options.include_deleted);
        std::vector<stream_info> out;
        out.reserve(rows.size());
        for (auto const& row : rows)
            out.push_back(decode_stream(row));
        return out;
    });
}

awaitable<void> event_store::truncate_stream(std::string stream_id, std::uint64_t before_version)
{
    auto const before = static_cast<long long>(before_version);
    auto const what = "truncate stream " + detail::quoted(stream_id) + " before version " + std::to_string(before);
    bool const found = co_await db_->run(what, [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        return !tx.exec_prepared("es_truncate", stream_id, before).empty();
    });
    if (!found)
        throw error(errc::stream_not_found, what + ": the stream does not exist");
}

awaitable<void> event_store::delete_stream(std::string stream_id)
{
    auto const what = "delete stream " + detail::quoted(stream_id);
    bool const found = co_await db_->run(what, [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        return !tx.exec_prepared("es_delete", stream_id).empty();
    });
    if (!found)
        throw error(errc::stream_not_found, what + ": the stream does not exist");
}

awaitable<store_statistics> event_store::statistics()
{
    co_return co_await db_->run("read store statistics", [&](pqxx::connection& conn) {
        pqxx::nontransaction tx(conn);
        auto const& r = tx.exec_prepared("es_statistics")[0];
        return store_statistics{static_cast<std::uint64_t>(r[0].as<long long>()),
                                static_cast<std::uint64_t>(r[1].as<long long>()),
                                static_cast<std::uint64_t>(r[2].as<long long>()),
                                static_cast<std::uint64_t>(r[3].as<long long>())};
    });
}

}  // namespace es::postgres
