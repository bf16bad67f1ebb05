#include "broker/redis_reply.hpp"

#include <hiredis/read.h>

#include <memory>
#include <new>

namespace vhm::broker {
namespace {

// A reply larger than this is refused as a protocol error rather than
// allocated: our commands read a bounded batch (XREADGROUP COUNT), so only a
// broken or hostile server sends more.
constexpr int max_array_elements = 1'000'000;

// hiredis builds the tree through these callbacks. The root is heap-allocated
// and owned by hiredis until redisReaderGetReply hands it over; a child lives
// inside its parent's `elements` (sized once in create_array, so the pointers
// hiredis keeps stay valid) and is freed with the root.
RedisReply* place(const redisReadTask* task, RedisReply&& value) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<RedisReply*>(task->parent->obj);
    auto& slot = parent->elements.at(static_cast<std::size_t>(task->idx));
    slot = std::move(value);
    return &slot;
  }
  return new (std::nothrow) RedisReply(std::move(value));
}

void* create_string(const redisReadTask* task, char* text, size_t length) {
  RedisReply value;
  value.type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::error
               : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::status
                                                  : RedisReply::Type::string;
  try {
    value.text.assign(text, length);
    return place(task, std::move(value));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* create_array(const redisReadTask* task, int elements) {
  if (elements < 0 || elements > max_array_elements) return nullptr;
  RedisReply value;
  value.type = RedisReply::Type::array;
  try {
    value.elements.resize(static_cast<std::size_t>(elements));
    return place(task, std::move(value));
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* create_integer(const redisReadTask* task, long long number) {
  RedisReply value;
  value.type = RedisReply::Type::integer;
  value.integer = number;
  return place(task, std::move(value));
}

void* create_nil(const redisReadTask* task) { return place(task, RedisReply{}); }

// Only a root is ever freed by hiredis (its children belong to it).
void free_object(void* object) { delete static_cast<RedisReply*>(object); }

redisReplyObjectFunctions reply_functions = {create_string, create_array, create_integer, create_nil, free_object};

redisReader* reader_of(void* reader) { return static_cast<redisReader*>(reader); }

}  // namespace

std::optional<std::string_view> RedisReply::as_text() const {
  if (type == Type::status || type == Type::string) return std::string_view(text);
  return std::nullopt;
}

std::string RedisReply::describe() const {
  switch (type) {
    case Type::nil: return "nil";
    case Type::status: return text;
    case Type::error: return text;
    case Type::integer: return std::to_string(integer);
    case Type::string: return "a string of " + std::to_string(text.size()) + " bytes";
    case Type::array: return "an array of " + std::to_string(elements.size()) + " elements";
  }
  return "?";
}

RedisReplyParser::RedisReplyParser() : reader_(redisReaderCreateWithFunctions(&reply_functions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

RedisReplyParser::~RedisReplyParser() { redisReaderFree(reader_of(reader_)); }

bool RedisReplyParser::feed(std::string_view bytes) {
  if (!error_.empty()) return false;
  if (redisReaderFeed(reader_of(reader_), bytes.data(), bytes.size()) != REDIS_OK) {
    error_ = "out of memory reading a Redis reply";
    return false;
  }
  return true;
}

std::optional<RedisReply> RedisReplyParser::next() {
  if (!error_.empty()) return std::nullopt;
  void* object = nullptr;
  if (redisReaderGetReply(reader_of(reader_), &object) != REDIS_OK) {
    const auto* reader = reader_of(reader_);
    error_ = reader->err == REDIS_ERR_OOM ? "a Redis reply too large to accept"
                                          : "malformed Redis reply: " + std::string(reader->errstr);
    return std::nullopt;
  }
  if (object == nullptr) return std::nullopt;
  std::unique_ptr<RedisReply> root(static_cast<RedisReply*>(object));
  return std::move(*root);
}

std::string format_command(const std::vector<std::string>& args) {
  std::size_t size = 16;
  for (const auto& arg : args) size += arg.size() + 16;
  std::string out;
  out.reserve(size);
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& arg : args) {
    out += '$';
    out += std::to_string(arg.size());
    out += "\r\n";
    out += arg;
    out += "\r\n";
  }
  return out;
}

}  // namespace vhm::broker
