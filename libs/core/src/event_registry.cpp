#include <es/event_registry.hpp>

namespace es {

void event_registry::add_type(std::string name, std::uint32_t version, std::type_index type)
{
    auto it = types_.find(name);
    if (it != types_.end()) {
        if (it->second.type == type)
            return;
        throw error(errc::duplicate_registration,
                    "event type '" + name + "' is already registered to another struct (" + it->second.type.name() +
                        "); cannot also register " + type.name());
    }
    types_.emplace(std::move(name), entry{type, version});
}

void event_registry::add_upcaster(std::string event_type, std::uint32_t from_version, upcaster fn)
{
    if (!fn)
        throw error(errc::invalid_argument, "upcaster for '" + event_type + "' is empty");
    auto key = std::pair{event_type, from_version};
    if (!upcasters_.emplace(std::move(key), std::move(fn)).second)
        throw error(errc::duplicate_registration, "an upcaster for '" + event_type + "' from schema version " +
                                                      std::to_string(from_version) + " is already registered");
}

bool event_registry::contains(std::string_view event_type) const
{
    return types_.find(event_type) != types_.end();
}

std::optional<std::uint32_t> event_registry::schema_version(std::string_view event_type) const
{
    auto it = types_.find(event_type);
    if (it == types_.end())
        return std::nullopt;
    return it->second.version;
}

result<boost::json::object const*> event_registry::current_payload(event_envelope const& e,
                                                                  boost::json::object& scratch) const
{
    auto it = types_.find(e.event_type);
    if (it != types_.end() && it->second.version == e.schema_version)
        return &e.payload;
    auto upcasted = upcast(e.event_type, e.schema_version, e.payload);
    if (!upcasted)
        return upcasted.error();
    scratch = std::move(*upcasted);
    return &scratch;
}

result<boost::json::object> event_registry::upcast(std::string_view event_type, std::uint32_t version,
                                                   boost::json::object payload) const
{
    auto it = types_.find(event_type);
    if (it == types_.end())
        return make_failure(errc::unknown_event_type, "event type '" + std::string(event_type) + "' is not registered");
    auto const target = it->second.version;
    if (version > target)
        return make_failure(errc::unsupported_event_version,
                            "event '" + std::string(event_type) + "' has schema version " + std::to_string(version) +
                                ", newer than the registered version " + std::to_string(target));
    for (auto v = version; v < target; ++v) {
        auto up = upcasters_.find(std::pair{std::string(event_type), v});
        if (up == upcasters_.end())
            return make_failure(errc::unsupported_event_version,
                                "event '" + std::string(event_type) + "': no upcaster from schema version " +
                                    std::to_string(v) + " to " + std::to_string(v + 1));
        try {
            payload = up->second(std::move(payload));
        } catch (std::exception const& ex) {
            return make_failure(errc::malformed_event, "event '" + std::string(event_type) + "': upcaster from schema version " +
                                                           std::to_string(v) + " failed: " + ex.what());
        }
    }
    return payload;
}

}  // namespace es
