#pragma once
// Base for event-sourced aggregates: state is rebuilt by applying events, and commands record
// new ones.
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

namespace es {

/// Derived declares
///   static constexpr std::string_view aggregate_type = "order";
///   explicit Derived(std::string id);
///   void apply(E const&) for every alternative E of Event (a std::variant).
/// A missing apply overload is a compile error, never a silently ignored event. apply may be
/// private if Derived befriends its base.
template <class Derived, class Event>
class aggregate {
public:
    using event_type = Event;

    std::string const& id() const noexcept { return id_; }
    /// "<aggregate_type>-<id>": the stream the aggregate's events live in.
    std::string stream_id() const { return std::string(Derived::aggregate_type) + "-" + id_; }
    /// Events applied so far, saved or not.
    std::uint64_t version() const noexcept { return version_; }
    /// The stream version the store had when the aggregate was loaded or last saved: what the
    /// next save expects.
    std::uint64_t loaded_version() const noexcept { return loaded_version_; }
    /// Events recorded by commands and not saved yet, oldest first.
    std::span<Event const> pending_events() const noexcept { return pending_; }

    /// Rebuilds state from stored events (repositories and tests).
    void load_from_history(std::span<Event const> history)
    {
        for (auto const& e : history)
            dispatch(e);
        version_ += history.size();
        loaded_version_ = version_;
    }

    /// Applies one stored event whose stream version is `version`.
    void apply_stored(Event const& e, std::uint64_t version)
    {
        dispatch(e);
        version_ = loaded_version_ = version;
    }

    /// Sets the version after state was restored from a snapshot taken at `version`.
    void restored_at(std::uint64_t version) noexcept { version_ = loaded_version_ = version; }

    /// Forgets pending events after the store accepted them.
    void mark_committed() noexcept
    {
        pending_.clear();
        loaded_version_ = version_;
    }

protected:
    explicit aggregate(std::string id) : id_(std::move(id)) {}

    /// Commands call this once every rule has been checked: apply, then queue for saving.
    void record(Event e)
    {
        dispatch(e);
        ++version_;
        pending_.push_back(std::move(e));
    }

private:
    void dispatch(Event const& e)
    {
        std::visit([this](auto const& ev) { static_cast<Derived&>(*this).apply(ev); }, e);
    }

    std::string id_;
    std::uint64_t version_ = 0;
    std::uint64_t loaded_version_ = 0;
    std::vector<Event> pending_;
};

/// An aggregate that can save its state in a snapshot and restore it.
template <class A>
concept snapshottable = requires(A& a, A const& ca, boost::json::value const& v) {
    { ca.snapshot_state() } -> std::convertible_to<boost::json::value>;
    a.restore_snapshot(v);
};

}  // namespace es
