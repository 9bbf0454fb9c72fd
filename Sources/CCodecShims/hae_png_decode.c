// PNG → 8-bit RGB with libpng's low-level read API over an in-memory cursor.
//
// setjmp discipline: libpng's error callback longjmps back to the setjmp in
// png_decode_guarded(). Everything that must survive that jump (library handles,
// buffers to free) lives in a png_decode_state owned by the *caller's* frame and is
// only touched through a pointer, so it is never one of the "non-volatile automatic
// variables modified between setjmp and longjmp" whose value C11 §7.13.2.1 leaves
// indeterminate. Cleanup therefore happens in one place, after the guarded call.
#include "hae_codecs.h"
#include "hae_internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct png_decode_state {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size;
    size_t offset;
    uint8_t *pixels;  // RGBA while libpng fills it, compacted in place to RGB
    png_bytep *rows;
    char *message;
    size_t message_capacity;
} png_decode_state;

static void png_error_to_message(png_structp png, png_const_charp text) {
    png_decode_state *state = png_get_error_ptr(png);
    hae_set_message(state->message, state->message_capacity, "%s", text);
    png_longjmp(png, 1);
}

// Warnings (bad ancillary-chunk CRCs, unknown chunks…) are survivable: stay quiet rather
// than writing to a server's stderr.
static void png_ignore_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_from_memory(png_structp png, png_bytep destination, size_t length) {
    png_decode_state *state = png_get_io_ptr(png);
    if (length > state->size - state->offset) {
        png_error(png, "unexpected end of data (file is truncated)");
    }
    memcpy(destination, state->data + state->offset, length);
    state->offset += length;
}

static uint32_t read_be32(const uint8_t *bytes) {
    return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) | bytes[3];
}

// Reads width/height straight from the IHDR bytes (signature, length, "IHDR", w, h) so an
// over-limit image is reported as HAE_TOO_LARGE even when its width alone would trip
// libpng's user limits first (which would surface as a generic libpng error).
static bool peek_ihdr_size(const uint8_t *data, size_t size, uint32_t *width, uint32_t *height) {
    if (size < 24 || png_sig_cmp(data, 0, 8) != 0 || memcmp(data + 12, "IHDR", 4) != 0) return false;
    *width = read_be32(data + 16);
    *height = read_be32(data + 20);
    return true;
}

// out = (c*a + 255*(255-a) + 127) / 255: "over white", rounded, exact in integers.
// In place: pixel i is read (4i..4i+3) before its RGB is written to 3i..3i+2 ≤ 4i+2.
static void composite_rgba_on_white_in_place(uint8_t *pixels, size_t pixel_count) {
    for (size_t i = 0; i < pixel_count; i++) {
        const uint8_t *src = pixels + 4 * i;
        const unsigned r = src[0], g = src[1], b = src[2], a = src[3];
        const unsigned white = 255u * (255u - a) + 127u;
        uint8_t *dst = pixels + 3 * i;
        dst[0] = (uint8_t)((r * a + white) / 255u);
        dst[1] = (uint8_t)((g * a + white) / 255u);
        dst[2] = (uint8_t)((b * a + white) / 255u);
    }
}

static hae_status png_decode_guarded(png_decode_state *state, uint64_t max_pixels, hae_image *out) {
    if (setjmp(png_jmpbuf(state->png))) return HAE_CORRUPT;

    png_set_read_fn(state->png, state, png_read_from_memory);
    // Defence in depth: libpng refuses dimensions above these before sizing any row.
    const png_uint_32 dimension_limit = max_pixels == 0 ? 1
        : (max_pixels > PNG_UINT_31_MAX ? PNG_UINT_31_MAX : (png_uint_32)max_pixels);
    png_set_user_limits(state->png, dimension_limit, dimension_limit);
    png_set_chunk_malloc_max(state->png, 8u * 1024u * 1024u);  // caps iCCP/zTXt/etc.

    png_read_info(state->png, state->info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(state->png, state->info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    out->width = width;
    out->height = height;
    if ((uint64_t)width * height > max_pixels) return HAE_TOO_LARGE;

    // Normalise every PNG flavour to 8-bit RGBA. No png_set_gamma: gAMA is ignored, like PIL.
    if (bit_depth == 16) png_set_scale_16(state->png);  // (v*255 + 32767) / 65535
    png_set_expand(state->png);  // palette → RGB, gray 1/2/4 → 8 bits, tRNS → alpha
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(state->png);
    png_set_add_alpha(state->png, 0xFF, PNG_FILLER_AFTER);  // only acts on alpha-less rows
    png_set_interlace_handling(state->png);  // Adam7: png_read_image runs all passes
    png_read_update_info(state->png, state->info);

    size_t row_bytes = 0, total_bytes = 0, row_table_bytes = 0;
    if (!hae_mul_size(width, 4, &row_bytes) || !hae_mul_size(row_bytes, height, &total_bytes)
        || !hae_mul_size(height, sizeof(png_bytep), &row_table_bytes)) {
        hae_set_message(state->message, state->message_capacity, "%ux%u RGBA buffer overflows size_t",
                        (unsigned)width, (unsigned)height);
        return HAE_OUT_OF_MEMORY;
    }
    if (png_get_rowbytes(state->png, state->info) != row_bytes) {
        hae_set_message(state->message, state->message_capacity,
                        "unexpected row layout after transforms (bit depth %d, colour type %d)",
                        bit_depth, color_type);
        return HAE_UNSUPPORTED;
    }
    state->pixels = malloc(total_bytes);
    state->rows = malloc(row_table_bytes);
    if (state->pixels == NULL || state->rows == NULL) {
        hae_set_message(state->message, state->message_capacity, "cannot allocate %zu bytes for %ux%u pixels",
                        total_bytes, (unsigned)width, (unsigned)height);
        return HAE_OUT_OF_MEMORY;
    }
    for (png_uint_32 y = 0; y < height; y++) state->rows[y] = state->pixels + (size_t)y * row_bytes;

    png_read_image(state->png, state->rows);
    // Reads through IEND, so a file cut after its last IDAT is still reported as truncated.
    png_read_end(state->png, NULL);

    const size_t pixel_count = (size_t)width * height;
    composite_rgba_on_white_in_place(state->pixels, pixel_count);
    uint8_t *shrunk = realloc(state->pixels, pixel_count * 3);
    if (shrunk != NULL) state->pixels = shrunk;  // on failure the larger block is still valid
    return HAE_OK;
}

hae_status hae_png_decode_rgb8(const uint8_t *data, size_t size, uint64_t max_pixels,
                               hae_image *out, char *message, size_t message_capacity) {
    hae_set_message(message, message_capacity, "%s", "");
    if (out == NULL) return HAE_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (data == NULL || size == 0) {
        hae_set_message(message, message_capacity, "no data");
        return HAE_CORRUPT;
    }
    uint32_t peek_width = 0, peek_height = 0;
    if (peek_ihdr_size(data, size, &peek_width, &peek_height)
        && (uint64_t)peek_width * peek_height > max_pixels) {
        out->width = peek_width;
        out->height = peek_height;
        return HAE_TOO_LARGE;
    }

    png_decode_state state = {
        .data = data, .size = size, .message = message, .message_capacity = message_capacity,
    };
    state.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_to_message, png_ignore_warning);
    if (state.png == NULL) {
        hae_set_message(message, message_capacity, "png_create_read_struct failed");
        return HAE_OUT_OF_MEMORY;
    }
    state.info = png_create_info_struct(state.png);
    hae_status status = HAE_OUT_OF_MEMORY;
    if (state.info == NULL) {
        hae_set_message(message, message_capacity, "png_create_info_struct failed");
    } else {
        status = png_decode_guarded(&state, max_pixels, out);
    }

    png_destroy_read_struct(&state.png, &state.info, NULL);
    free(state.rows);
    if (status == HAE_OK) {
        out->pixels = state.pixels;
    } else {
        free(state.pixels);
        if (status != HAE_TOO_LARGE) out->width = out->height = 0;
    }
    return status;
}
