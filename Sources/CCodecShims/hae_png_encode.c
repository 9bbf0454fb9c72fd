// 8-bit gray/RGB → PNG with libpng's low-level write API into a growing memory buffer.
// Same setjmp discipline as the decoders: state that must survive libpng's longjmp
// (the handles and the output buffer) lives in the caller's frame, behind a pointer.
#include "hae_codecs.h"
#include "hae_internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_encode_state {
    png_structp png;
    png_infop info;
    uint8_t *output;
    size_t output_size;
    size_t output_capacity;
    char *message;
    size_t message_capacity;
} png_encode_state;

static void png_encode_error(png_structp png, png_const_charp text) {
    png_encode_state *state = png_get_error_ptr(png);
    hae_set_message(state->message, state->message_capacity, "%s", text);
    png_longjmp(png, 1);
}

static void png_encode_ignore_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_write_to_memory(png_structp png, png_bytep bytes, size_t length) {
    png_encode_state *state = png_get_io_ptr(png);
    if (length > SIZE_MAX - state->output_size) png_error(png, "encoded PNG size overflows size_t");
    const size_t needed = state->output_size + length;
    if (needed > state->output_capacity) {
        // Geometric growth keeps the many small chunk writes amortised O(1).
        size_t capacity = state->output_capacity < 4096 ? 4096 : state->output_capacity;
        while (capacity < needed) capacity = capacity > SIZE_MAX / 2 ? needed : capacity * 2;
        uint8_t *grown = realloc(state->output, capacity);
        if (grown == NULL) png_error(png, "out of memory growing the PNG output buffer");
        state->output = grown;
        state->output_capacity = capacity;
    }
    memcpy(state->output + state->output_size, bytes, length);
    state->output_size = needed;
}

static void png_flush_nothing(png_structp png) { (void)png; }

static hae_status png_encode_guarded(png_encode_state *state, const uint8_t *pixels, uint32_t width,
                                     uint32_t height, int channels, int compression_level, size_t row_bytes) {
    if (setjmp(png_jmpbuf(state->png))) return HAE_UNSUPPORTED;

    png_set_write_fn(state->png, state, png_write_to_memory, png_flush_nothing);
    // The default write limits are 1,000,000 per side; allow everything PNG can express.
    png_set_user_limits(state->png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_compression_level(state->png, compression_level);
    png_set_IHDR(state->png, state->info, width, height, 8,
                 channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(state->png, state->info);
    // Row by row: no row-pointer table, and the caller's const pixels are never written.
    for (uint32_t y = 0; y < height; y++) png_write_row(state->png, pixels + (size_t)y * row_bytes);
    png_write_end(state->png, NULL);
    return HAE_OK;
}

hae_status hae_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                          int compression_level, uint8_t **out_data, size_t *out_size,
                          char *message, size_t message_capacity) {
    hae_set_message(message, message_capacity, "%s", "");
    if (out_data == NULL || out_size == NULL) return HAE_INVALID_ARGUMENT;
    *out_data = NULL;
    *out_size = 0;
    if (pixels == NULL || (channels != 1 && channels != 3)) {
        hae_set_message(message, message_capacity, "need pixels and 1 or 3 channels (got %d)", channels);
        return HAE_INVALID_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX) {
        hae_set_message(message, message_capacity, "PNG dimensions must be 1...%u, got %ux%u",
                        (unsigned)PNG_UINT_31_MAX, width, height);
        return HAE_INVALID_ARGUMENT;
    }
    size_t row_bytes = 0, total_bytes = 0;
    if (!hae_mul_size(width, (size_t)channels, &row_bytes) || !hae_mul_size(row_bytes, height, &total_bytes)) {
        hae_set_message(message, message_capacity, "%ux%u image size overflows size_t", width, height);
        return HAE_OUT_OF_MEMORY;
    }
    if (compression_level < 0) compression_level = 0;
    if (compression_level > 9) compression_level = 9;

    png_encode_state state = {.message = message, .message_capacity = message_capacity};
    state.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_encode_error, png_encode_ignore_warning);
    if (state.png == NULL) {
        hae_set_message(message, message_capacity, "png_create_write_struct failed");
        return HAE_OUT_OF_MEMORY;
    }
    state.info = png_create_info_struct(state.png);
    hae_status status = HAE_OUT_OF_MEMORY;
    if (state.info == NULL) {
        hae_set_message(message, message_capacity, "png_create_info_struct failed");
    } else {
        status = png_encode_guarded(&state, pixels, width, height, channels, compression_level, row_bytes);
    }
    png_destroy_write_struct(&state.png, &state.info);

    if (status == HAE_OK) {
        *out_data = state.output;
        *out_size = state.output_size;
    } else {
        free(state.output);
    }
    return status;
}
