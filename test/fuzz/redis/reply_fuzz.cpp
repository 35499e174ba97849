// Fuzz target: arbitrary bytes from a "server" through the RESP2 reader and every typed decoder.
// Nothing may crash, leak, hang or allocate without bound; malformed input must end as an
// es::error (protocol_error / reply_too_large) or a decoder failure.
#include "../../../libs/redis/src/client/resp_reader.hpp"

#include <es/error.hpp>
#include <es/redis/client/streams.hpp>

#include <cstddef>
#include <cstdint>

namespace {
void decode_everything(es::redis::reply const& r)
{
    using namespace es::redis;
    (void)decode_string(r, "FUZZ");
    (void)decode_integer(r, "FUZZ");
    (void)decode_ok(r, "FUZZ");
    (void)decode_entry(r, "FUZZ");
    (void)decode_entries(r, "FUZZ");
    (void)decode_xread(r);
    (void)decode_xautoclaim(r);
    (void)decode_xpending_summary(r);
    (void)decode_xpending_range(r);
    (void)decode_xinfo_stream(r);
    (void)decode_xinfo_groups(r);
    (void)decode_xinfo_consumers(r);
    (void)decode_xgroup_create(r);
    (void)r.describe();
    if (r.is_array()) {
        (void)decode_exec(r.elements);
        for (auto const& e : r.elements)
            (void)decode_entry(e, "FUZZ");
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size)
{
    if (size == 0)
        return 0;
    // The first byte picks where the input is split, so partial reads are exercised too.
    std::size_t split = data[0] % (size);
    auto const* bytes = reinterpret_cast<char const*>(data + 1);
    std::size_t n = size - 1;
    split = std::min(split, n);
    es::redis::detail::resp_reader reader(1 << 20);
    try {
        reader.feed(bytes, split);
        while (auto r = reader.next())
            decode_everything(*r);
        reader.feed(bytes + split, n - split);
        while (auto r = reader.next())
            decode_everything(*r);
    } catch (es::error const&) {
        // protocol_error, reply_too_large: the connection would be closed
    }
    return 0;
}
