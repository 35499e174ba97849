// Asio's separate compilation: its implementation is compiled here, once, for every target
// (BOOST_ASIO_SEPARATE_COMPILATION is a PUBLIC definition of es::core).
#include <boost/asio/impl/src.hpp>
