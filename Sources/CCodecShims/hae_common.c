#include "hae_codecs.h"
#include "hae_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void hae_set_message(char *message, size_t capacity, const char *format, ...) {
    if (message == NULL || capacity == 0) return;
    va_list args;
    va_start(args, format);
    vsnprintf(message, capacity, format, args);
    va_end(args);
}

void hae_free(void *pointer) { free(pointer); }

hae_status hae_check_dimensions(const hae_decode_limits *limits, uint32_t width, uint32_t height) {
    if ((limits->required_width != 0 && width != limits->required_width)
        || (limits->required_height != 0 && height != limits->required_height)) {
        return HAE_WRONG_SIZE;
    }
    if ((uint64_t)width * height > limits->max_pixels) return HAE_TOO_LARGE;
    return HAE_OK;
}
