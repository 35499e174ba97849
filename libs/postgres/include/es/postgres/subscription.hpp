#pragma once
// Catch-up subscriptions: read the global log from a checkpoint through history into live events.
#include <es/event.hpp>
#include <es/postgres/database.hpp>

#include <pqxx/transaction_base>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>


namespace es::postgres {

struct subscription_options {
    /// Checkpoint name; required. A new subscription with the same name resumes where the old
    /// one stopped.
    std::string name;
    /// Events read (and, for transactional handlers, committed) per batch.
    std::size_t batch_size = 500;
    /// When caught up, read again at least this often even without a notification (fallback
    /// for lost notifications and for late commits held back by a long transaction).
    std::chrono::milliseconds poll_interval{1000};
    /// LISTEN on the database's notify channel to wake up as soon as something is appended.
    bool listen = true;
    /// After a connection loss or a statement timeout (errc::not_connected / timed_out from the
    /// database, not from a plain handler), wait this long, reload the checkpoint and go on.
    /// 0 = run() throws instead. A transactional batch whose commit outcome was unknown is
    /// therefore neither lost nor applied twice.
    std::chrono::milliseconds retry_interval{1000};
    std::vector<std::string> event_types;      ///< empty: all
    std::vector<std::string> aggregate_types;  ///< empty: all
};

/// Called once per event, in global order, on the caller's executor. Throwing stops run().
/// At-least-once: after a crash the events since the last checkpoint are delivered again.
using event_handler = std::function<awaitable<void>(event_envelope const&)>;

/// Called once per event, in global order, on a database thread, inside the transaction that
/// also stores the checkpoint: a read model written through `tx` and the checkpoint commit
/// together (exactly-once effect). Throwing rolls the batch back and stops run().
using transactional_handler = std::function<void(pqxx::transaction_base& tx, event_envelope const&)>;

class catch_up_subscription {
public:
    catch_up_subscription(std::shared_ptr<database> db, subscription_options options, event_handler handler);
    catch_up_subscription(std::shared_ptr<database> db, subscription_options options, transactional_handler handler);
    ~catch_up_subscription();

    /// Delivers events until stop(). Rethrows what a handler throws, and the database's errors
    /// except the transient ones retried after retry_interval. The first checkpoint load is not
    /// retried: a subscription that cannot start says so.
    awaitable<void> run();
    /// Makes run() return after the current batch (within one poll slice when idle).
    void stop() noexcept;

    /// The last position handled and checkpointed (0 before the first).
    std::uint64_t position() const noexcept { return position_.load(); }
    /// Whether the last read found nothing new (the subscription is live).
    bool caught_up() const noexcept { return caught_up_.load(); }

    struct listener;

private:
    awaitable<void> wait_for_more();
    bool wanted(event_envelope const& e) const;

    std::shared_ptr<database> db_;
    subscription_options options_;
    event_handler handler_;
    transactional_handler tx_handler_;
    std::shared_ptr<listener> listener_;
    std::atomic<std::uint64_t> position_{0};
    std::atomic<bool> caught_up_{false};
    std::atomic<bool> stopped_{false};
};

}  // namespace es::postgres
