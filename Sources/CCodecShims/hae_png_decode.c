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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

// libpng's own working memory (row buffers, zlib state, chunk buffers; not our pixels)
// for any image up to 4096² is well under 1 MiB; the cap only stops what slips past the
// chunk filtering below.
#define HAE_PNG_LIBRARY_MEMORY_MAX ((size_t)16 << 20)
// Largest chunk (or decompressed chunk) libpng may buffer. With every ancillary chunk but
// tRNS skipped unread, only PLTE (768 bytes) and tRNS (256) are buffered; IDAT streams.
#define HAE_PNG_CHUNK_MALLOC_MAX ((png_alloc_size_t)64 << 10)
// Chunks libpng may keep in memory at once; we keep none, this is belt and braces.
#define HAE_PNG_CHUNK_CACHE_MAX 8
// Every allocation is prefixed by its size so free can account for it; 16 keeps malloc's alignment.
#define HAE_PNG_ALLOCATION_HEADER 16

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
    size_t memory_in_use;  // by libpng, through png_counted_malloc
    size_t memory_peak;
    bool memory_exhausted;  // a png_counted_malloc refused: report HAE_OUT_OF_MEMORY
} png_decode_state;

_Static_assert(HAE_PNG_ALLOCATION_HEADER >= sizeof(size_t) && HAE_PNG_ALLOCATION_HEADER % _Alignof(max_align_t) == 0,
               "allocation header must hold a size_t and keep malloc's alignment");

static png_voidp png_counted_malloc(png_structp png, png_alloc_size_t size) {
    png_decode_state *state = png_get_mem_ptr(png);
    size_t total = 0;
    if (size > HAE_PNG_LIBRARY_MEMORY_MAX - state->memory_in_use
        || __builtin_add_overflow(size, (size_t)HAE_PNG_ALLOCATION_HEADER, &total)) {
        state->memory_exhausted = true;
        return NULL;  // libpng turns this into png_error("Out of Memory") or a skipped chunk
    }
    uint8_t *block = malloc(total);
    if (block == NULL) return NULL;
    memcpy(block, &size, sizeof size);
    state->memory_in_use += size;
    if (state->memory_in_use > state->memory_peak) state->memory_peak = state->memory_in_use;
    return block + HAE_PNG_ALLOCATION_HEADER;
}

static void png_counted_free(png_structp png, png_voidp pointer) {
    if (pointer == NULL) return;
    png_decode_state *state = png_get_mem_ptr(png);
    uint8_t *block = (uint8_t *)pointer - HAE_PNG_ALLOCATION_HEADER;
    size_t size = 0;
    memcpy(&size, block, sizeof size);
    state->memory_in_use -= size;
    free(block);
}

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

// libpng's user limits, in 1...PNG_UINT_31_MAX: the required size when there is one, else max_pixels.
static png_uint_32 dimension_limit(uint32_t required, uint64_t max_pixels) {
    const uint64_t limit = required != 0 ? required : max_pixels;
    return limit == 0 ? 1 : (limit > PNG_UINT_31_MAX ? PNG_UINT_31_MAX : (png_uint_32)limit);
}

static hae_status png_decode_guarded(png_decode_state *state, const hae_decode_limits *limits, hae_image *out) {
    if (setjmp(png_jmpbuf(state->png))) return state->memory_exhausted ? HAE_OUT_OF_MEMORY : HAE_CORRUPT;

    png_set_read_fn(state->png, state, png_read_from_memory);
    // Defence in depth: libpng refuses dimensions above these before sizing any row.
    png_set_user_limits(state->png, dimension_limit(limits->required_width, limits->max_pixels),
                        dimension_limit(limits->required_height, limits->max_pixels));
    // A patch needs IHDR, PLTE, tRNS, IDAT and IEND only. Everything else is skipped with a
    // CRC check and never inflated or kept: each zTXt/iTXt/iCCP could otherwise inflate to
    // chunk_malloc_max and be held until the decoder is destroyed (hundreds of MiB per upload).
    png_set_keep_unknown_chunks(state->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    png_set_chunk_cache_max(state->png, HAE_PNG_CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(state->png, HAE_PNG_CHUNK_MALLOC_MAX);

    png_read_info(state->png, state->info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(state->png, state->info, &width, &height, &bit_depth, &color_type, NULL, NULL, NULL);
    out->width = width;
    out->height = height;
    const hae_status size_status = hae_check_dimensions(limits, width, height);
    if (size_status != HAE_OK) return size_status;

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

    const size_t pixel_count = total_bytes / 4;
    composite_rgba_on_white_in_place(state->pixels, pixel_count);
    uint8_t *shrunk = realloc(state->pixels, pixel_count * 3);
    if (shrunk != NULL) state->pixels = shrunk;  // on failure the larger block is still valid
    return HAE_OK;
}

hae_status hae_png_decode_rgb8(const uint8_t *data, size_t size, const hae_decode_limits *limits,
                               hae_image *out, char *message, size_t message_capacity) {
    hae_set_message(message, message_capacity, "%s", "");
    if (out == NULL || limits == NULL) return HAE_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (data == NULL || size == 0) {
        hae_set_message(message, message_capacity, "no data");
        return HAE_CORRUPT;
    }
    uint32_t peek_width = 0, peek_height = 0;
    if (peek_ihdr_size(data, size, &peek_width, &peek_height)) {
        const hae_status size_status = hae_check_dimensions(limits, peek_width, peek_height);
        if (size_status != HAE_OK) {  // refused before libpng allocates anything
            out->width = peek_width;
            out->height = peek_height;
            return size_status;
        }
    }

    png_decode_state state = {
        .data = data, .size = size, .message = message, .message_capacity = message_capacity,
    };
    state.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &state, png_error_to_message, png_ignore_warning,
                                         &state, png_counted_malloc, png_counted_free);
    if (state.png == NULL) {
        hae_set_message(message, message_capacity, "png_create_read_struct failed");
        return HAE_OUT_OF_MEMORY;
    }
    state.info = png_create_info_struct(state.png);
    hae_status status = HAE_OUT_OF_MEMORY;
    if (state.info == NULL) {
        hae_set_message(message, message_capacity, "png_create_info_struct failed");
    } else {
        status = png_decode_guarded(&state, limits, out);
    }
    if (state.memory_exhausted && status != HAE_OK) {
        hae_set_message(message, message_capacity, "libpng needs more than %zu MiB of working memory",
                        HAE_PNG_LIBRARY_MEMORY_MAX >> 20);
    }

    png_destroy_read_struct(&state.png, &state.info, NULL);
    out->library_peak_bytes = state.memory_peak;
    free(state.rows);
    if (status == HAE_OK) {
        out->pixels = state.pixels;
    } else {
        free(state.pixels);
        if (status != HAE_TOO_LARGE && status != HAE_WRONG_SIZE) out->width = out->height = 0;
    }
    return status;
}
