#pragma once
// Maps event type names (and schema versions) to C++ structs, and back.
//
// Events are plain structs described with BOOST_DESCRIBE_STRUCT that carry
//   static constexpr std::string_view event_type = "OrderPlaced";
// and optionally
//   static constexpr std::uint32_t schema_version = 2;   // 1 when absent
#include <es/error.hpp>
#include <es/event.hpp>

#include <boost/describe/members.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/mp11/algorithm.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <variant>

namespace es {

/// A struct that can travel as an event payload.
template <class E>
concept event_struct = requires {
    { E::event_type } -> std::convertible_to<std::string_view>;
} && boost::describe::has_describe_members<E>::value;

/// The schema version of E's current shape.
template <class E>
constexpr std::uint32_t schema_version_of() noexcept
{
    if constexpr (requires { E::schema_version; })
        return E::schema_version;
    else
        return 1;
}

/// Rewrites a payload from one schema version to the next.
using upcaster = std::function<boost::json::object(boost::json::object)>;

namespace detail {
template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};

// Decodes a described struct member by member so that an error names the field at fault
// (Boost.JSON's own conversion reports only that something failed).
template <class E>
result<E> decode_described(boost::json::object const& payload, std::string_view type_name)
{
    E out{};
    std::optional<failure> error;
    boost::mp11::mp_for_each<boost::describe::describe_members<E, boost::describe::mod_public>>([&](auto d) {
        if (error)
            return;
        using member_type = std::remove_cvref_t<decltype(out.*d.pointer)>;
        auto const* field = payload.if_contains(d.name);
        if (field == nullptr || (field->is_null() && is_optional<member_type>::value)) {
            if constexpr (!is_optional<member_type>::value)
                error = make_failure(errc::malformed_event, "event '" + std::string(type_name) +
                                                                "': missing field '" + d.name + "'");
            return;
        }
        auto converted = boost::json::try_value_to<member_type>(*field);
        if (!converted) {
            error = make_failure(errc::malformed_event, "event '" + std::string(type_name) + "': field '" +
                                                            d.name + "' has the wrong shape (" +
                                                            converted.error().message() + ")");
            return;
        }
        out.*d.pointer = std::move(*converted);
    });
    if (error)
        return *error;
    return out;
}
}  // namespace detail

/// Registry of event types. Configure it at start-up; afterwards it is only read and may be
/// shared between threads.
class event_registry {
public:
    /// Registers E under E::event_type. Throws es::error(duplicate_registration) if another
    /// struct already has that name; registering the same struct twice is harmless.
    template <event_struct E>
    void add()
    {
        add_type(std::string(E::event_type), schema_version_of<E>(), typeid(E));
    }

    /// Registers every alternative of a std::variant of event structs.
    template <class Variant>
    void add_all()
    {
        boost::mp11::mp_for_each<boost::mp11::mp_transform<std::type_identity, Variant>>(
            [this](auto t) { add<typename decltype(t)::type>(); });
    }

    /// Registers fn to rewrite payloads of `event_type` from `from_version` to from_version + 1.
    /// Chains apply in order until the registered (current) schema version is reached.
    void add_upcaster(std::string event_type, std::uint32_t from_version, upcaster fn);

    bool contains(std::string_view event_type) const;
    /// The schema version registered for the type, if it is registered.
    std::optional<std::uint32_t> schema_version(std::string_view event_type) const;

    /// Brings a payload stored at `version` to the current schema of its type.
    /// Fails with unknown_event_type or unsupported_event_version.
    result<boost::json::object> upcast(std::string_view event_type, std::uint32_t version,
                                       boost::json::object payload) const;

    /// Decodes an envelope into the alternative of Variant registered under its type.
    /// Fails with unknown_event_type (not registered, or not in Variant),
    /// unsupported_event_version, or malformed_event naming the type and the field.
    template <class Variant>
    result<Variant> try_decode(event_envelope const& e) const
    {
        boost::json::object upcasted;
        auto payload = current_payload(e, upcasted);
        if (!payload)
            return payload.error();
        std::optional<result<Variant>> out;
        boost::mp11::mp_for_each<boost::mp11::mp_transform<std::type_identity, Variant>>([&](auto t) {
            using E = typename decltype(t)::type;
            if (out || E::event_type != e.event_type)
                return;
            auto decoded = detail::decode_described<E>(**payload, e.event_type);
            if (decoded)
                out.emplace(Variant(std::move(*decoded)));
            else
                out.emplace(decoded.error());
        });
        if (!out)
            return make_failure(errc::unknown_event_type,
                                "event type '" + e.event_type + "' is not one this reader handles");
        return std::move(*out);
    }

    /// Like try_decode, but throws es::error.
    template <class Variant>
    Variant decode(event_envelope const& e) const
    {
        return try_decode<Variant>(e).value();
    }

    /// Decodes an envelope known to hold E.
    template <event_struct E>
    result<E> try_decode_as(event_envelope const& e) const
    {
        auto decoded = try_decode<std::variant<E>>(e);
        if (!decoded)
            return decoded.error();
        return std::get<0>(std::move(*decoded));
    }

    /// The new_event carrying `e` at its current schema version.
    template <event_struct E>
    static new_event encode(E const& e, event_metadata metadata = {})
    {
        new_event out;
        out.event_type = std::string(E::event_type);
        out.schema_version = schema_version_of<E>();
        out.payload = boost::json::value_from(e).as_object();
        out.metadata = std::move(metadata);
        return out;
    }

    /// Encodes whichever alternative the variant holds.
    template <class... E>
    static new_event encode(std::variant<E...> const& e, event_metadata metadata = {})
    {
        return std::visit([&](auto const& ev) { return encode(ev, std::move(metadata)); }, e);
    }

private:
    // The envelope's own payload when it is at the registered schema version (the common case:
    // no copy), otherwise the upcasted copy, kept in `scratch`.
    result<boost::json::object const*> current_payload(event_envelope const& e, boost::json::object& scratch) const;

    void add_type(std::string name, std::uint32_t version, std::type_index type);

    struct entry {
        std::type_index type;
        std::uint32_t version;
    };
    std::map<std::string, entry, std::less<>> types_;
    std::map<std::pair<std::string, std::uint32_t>, upcaster, std::less<>> upcasters_;
};

}  // namespace es
