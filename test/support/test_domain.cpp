#include "test_domain.hpp"

#include <boost/json/parse.hpp>

namespace es::test {

event_registry make_account_registry()
{
    event_registry r;
    r.add_all<account_event>();
    // v1 -> v2: "amount" was a decimal string.
    r.add_upcaster("MoneyDeposited", 1, [](boost::json::object p) {
        p["amount"] = std::stoll(std::string(p.at("amount").as_string()));
        return p;
    });
    // v2 -> v3: currency added, everything before it was in euros.
    r.add_upcaster("MoneyDeposited", 2, [](boost::json::object p) {
        p["currency"] = "EUR";
        return p;
    });
    return r;
}

new_event make_test_event(std::string type, int n)
{
    new_event e;
    e.event_type = std::move(type);
    e.aggregate_type = "test";
    e.payload = {{"n", n}, {"text", "payload " + std::to_string(n)}};
    e.metadata.correlation_id = "corr-" + std::to_string(n);
    return e;
}

}  // namespace es::test
