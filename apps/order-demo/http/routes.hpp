#pragma once
// Maps HTTP requests to commands and queries on the order service.
//
// Error mapping (never a 500 for bad input):
//   malformed JSON, missing or mistyped fields, bad If-Match  -> 400
//   unknown order id                                          -> 404
//   If-Match or concurrent-writer version mismatch           -> 409 with "actual_version"
//   business rule violated (es::domain_error)                 -> 422
//   anything else                                             -> 500, details only in the log
#include "server.hpp"

namespace orders {
class order_app;
}

namespace orders::http {

/// The request handler for `app`; the app must outlive it.
handler make_routes(order_app& app);

}  // namespace orders::http
