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
