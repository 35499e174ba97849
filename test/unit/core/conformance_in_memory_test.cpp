// The conformance suites on the embedded default backends.
#include "../../conformance/event_bus_conformance.hpp"
#include "../../conformance/event_store_conformance.hpp"
#include "../../conformance/processed_event_store_conformance.hpp"

#include <es/in_memory_event_bus.hpp>
#include <es/in_memory_event_store.hpp>

// Factories with linkage (not in an anonymous namespace): the suites instantiate eventually()
// with lambdas of these types, and g++ rejects coroutine frames holding types without linkage
// (-Wsubobject-linkage, an error with -Werror).
namespace es::test {
struct in_memory_store_factory {
    static std::shared_ptr<es::event_store> make() { return std::make_shared<es::in_memory_event_store>(); }
};
struct in_memory_bus_factory {
    static std::shared_ptr<es::event_bus> make() { return std::make_shared<es::in_memory_event_bus>(); }
};

struct in_memory_processed_factory {
    static awaitable<std::shared_ptr<es::processed_event_store>> make()
    {
        co_return std::make_shared<es::in_memory_processed_event_store>();
    }
};

INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, EventStoreConformance, in_memory_store_factory);
INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, ProcessedEventStoreConformance, in_memory_processed_factory);
INSTANTIATE_TYPED_TEST_SUITE_P(InMemory, EventBusConformance, in_memory_bus_factory);
}  // namespace es::test
