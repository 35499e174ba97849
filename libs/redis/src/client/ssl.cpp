// The one translation unit that compiles Asio's SSL implementation (Asio itself is separately
// compiled in es_core).
#include <boost/asio/ssl/impl/src.hpp>
