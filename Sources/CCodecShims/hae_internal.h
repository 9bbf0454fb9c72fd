// Helpers shared by the shim translation units; not part of the public header.
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hae_codecs.h"

/// printf into a caller-provided message buffer; tolerates NULL / zero capacity and
/// always NUL-terminates (truncating long messages).
void hae_set_message(char *message, size_t capacity, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/// *result = a * b, returning false instead of wrapping when it overflows size_t.
static inline bool hae_mul_size(size_t a, size_t b, size_t *result) {
    return !__builtin_mul_overflow(a, b, result);
}

/// HAE_WRONG_SIZE, HAE_TOO_LARGE or HAE_OK for header dimensions, the required size first
/// (the more useful answer when both fail). 64-bit product: two uint32 cannot overflow it.
hae_status hae_check_dimensions(const hae_decode_limits *limits, uint32_t width, uint32_t height);
