#include "resp_reader.hpp"

#include <es/error.hpp>
#include <es/redis/client/error.hpp>

#include <hiredis/hiredis.h>

#include <memory>
#include <new>

namespace es::redis::detail {
namespace {
// hiredis calls these while parsing. Children are appended to their parent's element vector in
// order (hiredis parses depth-first, left to right), so only the ancestors of the current task
// are referenced by pointer, and an ancestor is never moved by appending to its own children.
// Exceptions must not cross the C frames: they become nullptr, which hiredis reports as OOM.
reply* attach(redisReadTask const* task) noexcept
{
    try {
        if (task->parent != nullptr) {
            auto* parent = static_cast<reply*>(task->parent->obj);
            if (static_cast<std::size_t>(task->idx) != parent->elements.size())
                return nullptr;
            parent->elements.emplace_back();
            return &parent->elements.back();
        }
        return new reply;
    } catch (...) {
        return nullptr;
    }
}

void* create_string(redisReadTask const* task, char* str, std::size_t len)
{
    reply* r = attach(task);
    if (r == nullptr)
        return nullptr;
    try {
        r->type = task->type == REDIS_REPLY_ERROR    ? reply_type::error
                  : task->type == REDIS_REPLY_STATUS ? reply_type::status
                                                     : reply_type::string;
        r->str.assign(str, len);
    } catch (...) {
        if (task->parent == nullptr)
            delete r;
        return nullptr;
    }
    return r;
}

void* create_array(redisReadTask const* task, int elements)
{
    reply* r = attach(task);
    if (r == nullptr)
        return nullptr;
    r->type = reply_type::array;
    try {
        // A declared length is untrusted ("*2000000000"): reserve a little, grow with real data.
        r->elements.reserve(static_cast<std::size_t>(std::min(elements, 1024)));
    } catch (...) {
    }
    return r;
}

void* create_integer(redisReadTask const* task, long long value)
{
    reply* r = attach(task);
    if (r != nullptr) {
        r->type = reply_type::integer;
        r->integer = value;
    }
    return r;
}

void* create_nil(redisReadTask const* task)
{
    return attach(task);  // default-constructed: nil
}

void free_object(void* obj)
{
    delete static_cast<reply*>(obj);  // hiredis frees only roots (r->reply)
}

redisReplyObjectFunctions functions = {create_string, create_array, create_integer, create_nil, free_object};

[[noreturn]] void throw_protocol(std::string const& what)
{
    throw es::error(make_error_code(errc::protocol_error), what);
}
}  // namespace

resp_reader::resp_reader(std::size_t max_reply_size) : max_reply_size_(max_reply_size)
{
    reset();
}

resp_reader::~resp_reader()
{
    if (reader_ != nullptr)
        redisReaderFree(reader_);
}

void resp_reader::reset()
{
    if (reader_ != nullptr)
        redisReaderFree(reader_);
    reader_ = redisReaderCreateWithFunctions(&functions);
    if (reader_ == nullptr)
        throw std::bad_alloc();
}

void resp_reader::feed(char const* data, std::size_t size)
{
    if (buffered() + size > max_reply_size_)
        throw es::error(make_error_code(errc::reply_too_large),
                        "redis reply larger than the limit of " + std::to_string(max_reply_size_) + " bytes");
    if (redisReaderFeed(reader_, data, size) != REDIS_OK)
        throw_protocol(std::string("redis reply could not be buffered: ") + reader_->errstr);
}

std::optional<reply> resp_reader::next()
{
    void* out = nullptr;
    if (redisReaderGetReply(reader_, &out) != REDIS_OK) {
        std::string why = reader_->errstr;
        if (reader_->err == REDIS_ERR_OOM)
            why = "malformed or oversized reply (" + why + ")";
        throw_protocol("invalid RESP from the server: " + why);
    }
    if (out == nullptr)
        return std::nullopt;
    std::unique_ptr<reply> owned(static_cast<reply*>(out));
    return std::move(*owned);
}

std::size_t resp_reader::buffered() const noexcept
{
    return reader_->buf == nullptr ? 0 : reader_->len - reader_->pos;
}

}  // namespace es::redis::detail
