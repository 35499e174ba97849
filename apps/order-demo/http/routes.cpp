#include "routes.hpp"

#include "../app.hpp"
#include "dashboard.hpp"

#include <es/error.hpp>
#include <es/log.hpp>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <optional>

namespace orders::http {

namespace beast = boost::beast;
namespace json = boost::json;

namespace {

// A failure the client caused: becomes a JSON error response with this status.
struct client_error : std::runtime_error {
    client_error(unsigned status, std::string const& what, json::object extra = {})
        : runtime_error(what), status(status), extra(std::move(extra))
    {
    }
    unsigned status;
    json::object extra;
};

response json_response(unsigned status, json::value const& body, unsigned version = 11)
{
    response res{static_cast<beast::http::status>(status), version};
    res.set(beast::http::field::content_type, "application/json");
    res.body() = json::serialize(body);
    res.prepare_payload();
    return res;
}

response error_response(unsigned status, std::string const& message, json::object extra = {})
{
    extra["error"] = message;
    extra["status"] = status;
    return json_response(status, extra);
}

json::object parse_body(request const& req)
{
    if (req.body().empty())
        return {};
    boost::system::error_code ec;
    auto v = json::parse(req.body(), ec);
    if (ec)
        throw client_error(400, "request body is not valid JSON: " + ec.message());
    if (!v.is_object())
        throw client_error(400, "request body must be a JSON object");
    return std::move(v.as_object());
}

std::string required_string(json::object const& o, std::string const& name)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr)
        throw client_error(400, "missing field '" + name + "'");
    if (!v->is_string())
        throw client_error(400, "field '" + name + "' must be a string");
    return std::string(v->get_string());
}

std::string optional_string(json::object const& o, std::string const& name)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr || v->is_null())
        return {};
    if (!v->is_string())
        throw client_error(400, "field '" + name + "' must be a string");
    return std::string(v->get_string());
}

double required_number(json::object const& o, std::string const& name, std::string const& where)
{
    auto const* v = o.if_contains(name);
    if (v == nullptr)
        throw client_error(400, "missing field '" + where + name + "'");
    if (!v->is_number())
        throw client_error(400, "field '" + where + name + "' must be a number");
    return v->to_number<double>();
}

std::vector<order_line> parse_lines(json::object const& body)
{
    auto const* v = body.if_contains("lines");
    if (v == nullptr)
        throw client_error(400, "missing field 'lines'");
    if (!v->is_array())
        throw client_error(400, "field 'lines' must be an array");
    std::vector<order_line> lines;
    std::size_t i = 0;
    for (auto const& item : v->get_array()) {
        auto where = "lines[" + std::to_string(i++) + "].";
        if (!item.is_object())
            throw client_error(400, "'" + where.substr(0, where.size() - 1) + "' must be an object");
        auto const& o = item.get_object();
        order_line line;
        auto const* sku = o.if_contains("sku");
        if (sku == nullptr || !sku->is_string())
            throw client_error(400, "field '" + where + "sku' must be a string");
        line.sku = std::string(sku->get_string());
        auto q = required_number(o, "quantity", where);
        if (q != static_cast<double>(static_cast<long long>(q)))
            throw client_error(400, "field '" + where + "quantity' must be a whole number");
        line.quantity = static_cast<long long>(q);
        line.unit_price = required_number(o, "unit_price", where);
        lines.push_back(std::move(line));
    }
    return lines;
}

// If-Match: <version> (quotes allowed, as ETags are quoted).
std::optional<std::uint64_t> if_match(request const& req)
{
    auto it = req.find(beast::http::field::if_match);
    if (it == req.end())
        return std::nullopt;
    std::string_view v = it->value();
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
        v = v.substr(1, v.size() - 2);
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || p != v.data() + v.size())
        throw client_error(400, "If-Match must be an order version number, got '" + std::string(it->value()) + "'");
    return n;
}

bool valid_order_id(std::string_view id)
{
    if (id.empty() || id.size() > 100)
        return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            return false;
    return true;
}

std::vector<std::string> split_path(std::string_view path)
{
    std::vector<std::string> parts;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/')
            ++i;
        auto j = path.find('/', i);
        if (j == std::string_view::npos)
            j = path.size();
        if (j > i)
            parts.emplace_back(path.substr(i, j - i));
        i = j;
    }
    return parts;
}

class router {
public:
    explicit router(order_app& app) : app_(app), log_(es::logger("order-demo")) {}

    es::awaitable<response> operator()(request& req)
    {
        auto const started = std::chrono::steady_clock::now();
        std::string route = "unmatched";
        response res;
        std::optional<client_error> client_failure;
        std::optional<es::concurrency_error> conflict;
        std::string server_failure;
        try {
            res = co_await dispatch(req, route);
        } catch (client_error const& e) {
            client_failure = e;
        } catch (es::concurrency_error const& e) {
            conflict = e;
        } catch (es::not_found_error const& e) {
            client_failure = client_error(404, e.what());
        } catch (es::domain_error const& e) {
            client_failure = client_error(422, e.what());
        } catch (std::exception const& e) {
            server_failure = e.what();
        }
        if (client_failure)
            res = error_response(client_failure->status, client_failure->what(), client_failure->extra);
        else if (conflict)
            res = error_response(409, conflict->what(), {{"actual_version", conflict->actual_version()}});
        else if (!server_failure.empty()) {
            log_->error("{} {} failed: {}", std::string(req.method_string()), std::string(req.target()), server_failure);
            res = error_response(500, "internal error; see the service log");
        }
        res.version(req.version());
        app_.metrics().record(std::string(req.method_string()), route, res.result_int(),
                              std::chrono::steady_clock::now() - started);
        co_return res;
    }

private:
    es::awaitable<response> dispatch(request& req, std::string& route)
    {
        auto target = boost::urls::parse_origin_form(req.target());
        if (!target)
            throw client_error(400, "malformed request target");
        auto parts = split_path(target->encoded_path());
        auto const method = req.method();
        using beast::http::verb;

        if (parts.empty()) {
            route = "/";
            if (method != verb::get)
                throw client_error(405, "use GET for /");
            response res{beast::http::status::ok, 11};
            res.set(beast::http::field::content_type, "text/html; charset=utf-8");
            res.body() = std::string(dashboard_html());
            res.prepare_payload();
            co_return res;
        }
        auto const& head = parts[0];
        if (parts.size() == 1 && head == "healthz") {
            route = "/healthz";
            co_return json_response(200, {{"status", "ok"}});
        }
        if (parts.size() == 1 && head == "readyz") {
            route = "/readyz";
            bool ok = co_await app_.ready();
            co_return json_response(ok ? 200 : 503, {{"status", ok ? "ready" : "not ready"}});
        }
        if (parts.size() == 1 && head == "metrics") {
            route = "/metrics";
            co_return co_await metrics();
        }
        if (parts.size() == 1 && head == "stats") {
            route = "/stats";
            co_return json_response(200, co_await stats());
        }
        if (head == "dlq") {
            route = "/dlq";
            co_return co_await dead_letters(req, parts, *target);
        }
        if (head != "orders")
            throw client_error(404, "no route for " + std::string(req.target()));

        if (parts.size() == 1) {
            route = "/orders";
            if (method == verb::post)
                co_return co_await place(req);
            if (method == verb::get)
                co_return co_await list(*target);
            throw client_error(405, "use GET or POST for /orders");
        }
        auto const& id = parts[1];
        if (!valid_order_id(id))
            throw client_error(400, "order id '" + id + "' may contain only letters, digits, '-' and '_'");
        if (parts.size() == 2) {
            route = "/orders/{id}";
            if (method != verb::get)
                throw client_error(405, "use GET for /orders/{id}");
            auto o = co_await app_.repository().load(id);
            auto res = json_response(200, o.to_json());
            res.set(beast::http::field::etag, "\"" + std::to_string(o.version()) + "\"");
            co_return res;
        }
        if (parts.size() == 3 && parts[2] == "events") {
            route = "/orders/{id}/events";
            co_return co_await events(id);
        }
        if (parts.size() == 3 && (parts[2] == "pay" || parts[2] == "ship" || parts[2] == "cancel")) {
            route = "/orders/{id}/" + parts[2];
            if (method != verb::post)
                throw client_error(405, "use POST for " + route);
            co_return co_await command(req, id, parts[2]);
        }
        throw client_error(404, "no route for " + std::string(req.target()));
    }

    es::awaitable<response> place(request& req)
    {
        auto body = parse_body(req);
        auto customer = required_string(body, "customer_id");
        auto lines = parse_lines(body);
        auto id = optional_string(body, "id");
        if (id.empty())
            id = boost::uuids::to_string(es::new_event_id());
        else if (!valid_order_id(id))
            throw client_error(400, "order id '" + id + "' may contain only letters, digits, '-' and '_'");
        // A client-chosen id may name an existing order (a retried request whose first answer was
        // lost): load it, so the answer is "already placed" (422), not a version conflict.
        order o = co_await app_.repository().load_or_create(id);
        o.place(std::move(customer), std::move(lines));
        auto result = co_await app_.repository().save(o, metadata(req));
        app_.count_appended(result.events.size());
        auto res = json_response(201, o.to_json());
        res.set(beast::http::field::location, "/orders/" + id);
        res.set(beast::http::field::etag, "\"" + std::to_string(o.version()) + "\"");
        co_return res;
    }

    es::awaitable<response> command(request& req, std::string const& id, std::string const& what)
    {
        auto body = parse_body(req);
        auto expected = if_match(req);
        std::string argument;
        if (what == "pay")
            argument = optional_string(body, "payment_reference");
        else if (what == "ship")
            argument = required_string(body, "tracking_number");
        else
            argument = required_string(body, "reason");
        auto run = [&](order& o) {
            if (what == "pay")
                o.pay(argument);
            else if (what == "ship")
                o.ship(argument);
            else
                o.cancel(argument);
        };
        auto& repo = app_.repository();
        order o = co_await repo.load(id);
        if (expected) {
            // The client decided on the state it saw: no silent retry on top of a newer one.
            if (*expected != o.version())
                throw es::concurrency_error(o.stream_id(), es::expected_version::exactly(*expected), o.version());
            run(o);
            auto r = co_await repo.save(o, metadata(req));
            app_.count_appended(r.events.size());
        } else {
            std::size_t before = o.version();
            o = co_await repo.update(id, run, metadata(req));
            app_.count_appended(o.version() - std::min<std::size_t>(before, o.version()));
        }
        auto res = json_response(200, o.to_json());
        res.set(beast::http::field::etag, "\"" + std::to_string(o.version()) + "\"");
        co_return res;
    }

    es::awaitable<response> events(std::string const& id)
    {
        order probe(id);
        auto stream = probe.stream_id();
        auto stored = co_await app_.store().read_stream(stream);
        if (stored.empty())
            throw client_error(404, "order " + id + " has no events");
        json::array out;
        for (auto const& e : stored)
            out.push_back(es::to_json(e));
        co_return json_response(200, json::object{{"id", id}, {"events", std::move(out)}});
    }

    es::awaitable<response> list(boost::urls::url_view const& target)
    {
        if (!app_.serves_read_model())
            throw client_error(503, "this replica keeps no read model (role=api with an in-memory one); ask a projector");
        std::string status, customer;
        std::size_t limit = 100;
        for (auto const& p : target.params()) {
            if (p.key == "status")
                status = p.value;
            else if (p.key == "customer")
                customer = p.value;
            else if (p.key == "limit") {
                auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), limit);
                if (ec != std::errc() || ptr != p.value.data() + p.value.size() || limit == 0 || limit > 10000)
                    throw client_error(400, "limit must be a number from 1 to 10000");
            }
        }
        static constexpr std::string_view statuses[] = {"placed", "paid", "shipped", "cancelled"};
        if (!status.empty() && std::find(std::begin(statuses), std::end(statuses), status) == std::end(statuses))
            throw client_error(400, "status must be one of placed, paid, shipped, cancelled");
        json::array rows;
        auto summaries = co_await app_.summaries().list(status, customer, limit);
        for (auto const& s : summaries)
            rows.push_back(s.to_json());
        auto const total = co_await app_.summaries().count();
        co_return json_response(200, json::object{{"orders", std::move(rows)}, {"total", total}});
    }

    es::awaitable<json::object> stats()
    {
        auto bus = app_.bus().stats();
        auto const orders = co_await app_.summaries().count();
        json::object out{
            {"role", app_.config().role},
            {"store", app_.config().store == "memory" ? "memory" : "postgresql"},
            {"bus_kind", app_.config().bus == "memory" ? "memory" : "redis"},
            {"events_appended", app_.events_appended()},
            {"bus",
             {{"published", bus.published},
              {"delivered", bus.delivered},
              {"handler_successes", bus.handler_successes},
              {"handler_failures", bus.handler_failures}}},
            {"projection",
             {{"orders", orders},
              {"events_applied", app_.summaries().events_applied()},
              {"duplicates_skipped", app_.summaries().duplicates_skipped()}}},
            {"notifications_sent", app_.notifications().sent()},
            {"http_requests", app_.metrics().total_requests()},
        };
        if (auto* admin = app_.admin())
            out["streams"] = co_await admin->info();
        co_return out;
    }

    es::awaitable<response> metrics()
    {
        using sample = http::metrics::sample;
        auto bus = app_.bus().stats();
        auto const orders = static_cast<double>(co_await app_.summaries().count());
        std::vector<sample> extra{
            {"es_events_appended_total", "Events appended through this process.", "counter",
             {{"", static_cast<double>(app_.events_appended())}}},
            {"es_events_published_total", "Events published to the bus.", "counter", {{"", static_cast<double>(bus.published)}}},
            {"es_events_consumed_total", "Events delivered to handlers.", "counter", {{"", static_cast<double>(bus.delivered)}}},
            {"es_handler_failures_total", "Handler invocations that threw.", "counter",
             {{"", static_cast<double>(bus.handler_failures)}}},
            {"es_projection_orders", "Orders in the summary read model.", "gauge", {{"", orders}}},
        };
        if (auto* admin = app_.admin()) {
            auto info = co_await admin->info();
            if (auto const* dlq = info.if_contains("dlq_length"))
                extra.push_back({"es_dlq_length", "Entries in the dead-letter stream.", "gauge", {{"", dlq->to_number<double>()}}});
            if (auto const* groups = info.if_contains("groups"); groups && groups->is_array()) {
                sample lag{"es_consumer_group_lag", "Entries not yet delivered to the group.", "gauge", {}};
                sample pending{"es_consumer_group_pending", "Entries delivered but not acknowledged.", "gauge", {}};
                for (auto const& g : groups->get_array()) {
                    auto const& o = g.as_object();
                    auto label = "group=\"" + std::string(o.at("name").as_string()) + "\"";
                    if (auto const* l = o.if_contains("lag"); l && l->is_number())
                        lag.values.emplace_back(label, l->to_number<double>());
                    if (auto const* p = o.if_contains("pending"); p && p->is_number())
                        pending.values.emplace_back(label, p->to_number<double>());
                }
                extra.push_back(std::move(lag));
                extra.push_back(std::move(pending));
            }
        }
        response res{beast::http::status::ok, 11};
        res.set(beast::http::field::content_type, "text/plain; version=0.0.4");
        res.body() = app_.metrics().render(extra);
        res.prepare_payload();
        co_return res;
    }

    es::awaitable<response> dead_letters(request& req, std::vector<std::string> const& parts,
                                         boost::urls::url_view const& target)
    {
        auto* admin = app_.admin();
        if (admin == nullptr)
            throw client_error(404, "the in-memory bus keeps no dead letters: failed handlers are counted and logged");
        using beast::http::verb;
        if (parts.size() == 1 && req.method() == verb::get) {
            std::size_t count = 100;
            for (auto const& p : target.params())
                if (p.key == "count") {
                    auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), count);
                    if (ec != std::errc() || count == 0 || count > 10000)
                        throw client_error(400, "count must be a number from 1 to 10000");
                }
            auto letters = co_await admin->dead_letters(count);
            co_return json_response(200, json::object{{"dead_letters", std::move(letters)}});
        }
        if (parts.size() == 2 && parts[1] == "replay-all" && req.method() == verb::post) {
            auto n = co_await admin->replay_all_dead_letters();
            co_return json_response(200, json::object{{"replayed", n}});
        }
        if (parts.size() == 3 && parts[2] == "replay" && req.method() == verb::post) {
            bool const replayed = co_await admin->replay_dead_letter(parts[1]);
            if (!replayed)
                throw client_error(404, "no dead letter with id '" + parts[1] + "'");
            co_return json_response(200, json::object{{"replayed", parts[1]}});
        }
        throw client_error(404, "no route for " + std::string(req.target()));
    }

    static es::event_metadata metadata(request const& req)
    {
        es::event_metadata m;
        if (auto it = req.find("X-Correlation-Id"); it != req.end())
            m.correlation_id = std::string(it->value());
        else
            m.correlation_id = boost::uuids::to_string(es::new_event_id());
        if (auto it = req.find("X-Tenant-Id"); it != req.end())
            m.tenant_id = std::string(it->value());
        m.extra["source"] = "order-demo http";
        return m;
    }

    order_app& app_;
    std::shared_ptr<spdlog::logger> log_;
};

}  // namespace

handler make_routes(order_app& app)
{
    auto r = std::make_shared<router>(app);
    return [r](request& req) { return (*r)(req); };
}

}  // namespace orders::http
