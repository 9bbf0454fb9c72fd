// JPEG → 8-bit RGB with libjpeg(-turbo), reading from memory (jpeg_mem_src).
//
// libjpeg's default error_exit prints and calls exit(); ours formats the message into
// the caller's buffer and longjmps back to jpeg_decode_guarded(). As in the PNG shim,
// all state that outlives the jump lives in a jpeg_decode_state owned by the caller's
// frame and reached through a pointer (no indeterminate locals after longjmp, C11
// §7.13.2.1), and jpeg_destroy_decompress() frees every libjpeg pool in one place.
#include "hae_codecs.h"
#include "hae_internal.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>  // jpeglib.h needs FILE
#include <jpeglib.h>
#include <jerror.h>
#include <stdlib.h>
#include <string.h>

typedef struct jpeg_escape_error {
    struct jpeg_error_mgr pub;  // first member: libjpeg hands callbacks cinfo->err
    jmp_buf escape;
    char *message;
    size_t message_capacity;
} jpeg_escape_error;

// Progressive JPEGs can declare thousands of tiny scans, each re-walking the whole
// coefficient buffer (a CPU bomb). libjpeg calls the progress monitor before each unit of
// input work, so counting scans there stops the file before scan max_scans + 1 is decoded,
// as djpeg -maxscans does.
typedef struct jpeg_scan_limit {
    struct jpeg_progress_mgr pub;  // first member: libjpeg hands the monitor cinfo->progress
    uint32_t max_scans;
} jpeg_scan_limit;

typedef struct jpeg_decode_state {
    struct jpeg_decompress_struct cinfo;
    jpeg_escape_error error;
    jpeg_scan_limit scan_limit;
    uint8_t *pixels;
} jpeg_decode_state;

static void jpeg_escape_with_text(j_common_ptr cinfo, const char *text) {
    jpeg_escape_error *error = (jpeg_escape_error *)cinfo->err;
    hae_set_message(error->message, error->message_capacity, "%s", text);
    longjmp(error->escape, 1);
}

static void jpeg_escape_with_library_message(j_common_ptr cinfo) {
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    jpeg_escape_with_text(cinfo, text);
}

// msg_level -1 is a warning, >= 0 a trace message. Everything is kept off stderr.
// libjpeg answers a truncated stream by warning JWRN_JPEG_EOF and padding the rest of
// the image with grey; we make that one warning fatal so truncation is an error.
static void jpeg_emit_quietly(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0) return;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_escape_with_library_message(cinfo);
    cinfo->err->num_warnings++;
}

static void jpeg_output_nothing(j_common_ptr cinfo) { (void)cinfo; }

static void jpeg_limit_scans(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor || cinfo->progress == NULL) return;
    const uint32_t max_scans = ((jpeg_scan_limit *)cinfo->progress)->max_scans;
    const int scan = ((j_decompress_ptr)cinfo)->input_scan_number;
    if (scan > 0 && (uint32_t)scan > max_scans) {
        char text[64];
        snprintf(text, sizeof text, "JPEG has more than %u scans", (unsigned)max_scans);
        jpeg_escape_with_text(cinfo, text);
    }
}

// Adobe CMYK/YCCK JPEGs (Photoshop, and Pillow's writer) store *inverted* CMYK. Pillow
// reads them as "CMYK;I" and converts with R = 255-K' - round(C'*(255-K')/255) on the
// un-inverted C' = 255-c, K' = 255-k, which equals round(c*k/255) on the stored values;
// (x + 127) / 255 is that rounding exactly (x/255 never ends in .5). Like Pillow we assume
// the Adobe convention for every 4-channel JPEG.
static void inverted_cmyk_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t width) {
    for (size_t x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        const unsigned k = cmyk[3];
        rgb[0] = (uint8_t)((cmyk[0] * k + 127u) / 255u);
        rgb[1] = (uint8_t)((cmyk[1] * k + 127u) / 255u);
        rgb[2] = (uint8_t)((cmyk[2] * k + 127u) / 255u);
    }
}

// The gray row was decoded into the first `width` bytes of its RGB row; spread it out
// right-to-left so no sample is overwritten before it is read (3x >= x).
static void replicate_gray_in_place(uint8_t *row, size_t width) {
    for (size_t x = width; x-- > 0;) {
        const uint8_t v = row[x];
        row[3 * x] = row[3 * x + 1] = row[3 * x + 2] = v;
    }
}

static hae_status jpeg_decode_guarded(jpeg_decode_state *state, const uint8_t *data, size_t size,
                                      const hae_decode_limits *limits, hae_image *out) {
    j_decompress_ptr cinfo = &state->cinfo;
    if (setjmp(state->error.escape)) return HAE_CORRUPT;

    jpeg_create_decompress(cinfo);
    state->scan_limit.pub.progress_monitor = jpeg_limit_scans;
    state->scan_limit.max_scans = limits->max_scans;
    cinfo->progress = &state->scan_limit.pub;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);  // markers up to the first scan's header: no scan or pixel memory yet

    out->width = cinfo->image_width;
    out->height = cinfo->image_height;
    const hae_status size_status = hae_check_dimensions(limits, cinfo->image_width, cinfo->image_height);
    if (size_status != HAE_OK) return size_status;
    jpeg_limit_scans((j_common_ptr)cinfo);  // max_scans 0 refuses even a baseline file

    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;  // libjpeg turns YCCK into CMYK
    default:
        hae_set_message(state->error.message, state->error.message_capacity,
                        "%d-component JPEG in an unknown colour space", cinfo->num_components);
        return HAE_UNSUPPORTED;
    }

    jpeg_start_decompress(cinfo);
    const size_t width = cinfo->output_width, height = cinfo->output_height;
    const int components = cinfo->output_components;
    if (width != cinfo->image_width || height != cinfo->image_height
        || (components != 1 && components != 3 && components != 4)) {
        hae_set_message(state->error.message, state->error.message_capacity,
                        "decoder produced an unexpected %zux%zu image with %d components",
                        width, height, components);
        return HAE_UNSUPPORTED;
    }
    size_t rgb_row_bytes = 0, total_bytes = 0;
    if (!hae_mul_size(width, 3, &rgb_row_bytes) || !hae_mul_size(rgb_row_bytes, height, &total_bytes)) {
        hae_set_message(state->error.message, state->error.message_capacity, "%zux%zu RGB buffer overflows size_t",
                        width, height);
        return HAE_OUT_OF_MEMORY;
    }
    state->pixels = malloc(total_bytes);
    if (state->pixels == NULL) {
        hae_set_message(state->error.message, state->error.message_capacity,
                        "cannot allocate %zu bytes for %zux%zu pixels", total_bytes, width, height);
        return HAE_OUT_OF_MEMORY;
    }
    // CMYK rows need a scratch row; libjpeg's image pool frees it in jpeg_destroy.
    JSAMPARRAY cmyk_row = NULL;
    if (components == 4) {
        cmyk_row = (*cinfo->mem->alloc_sarray)((j_common_ptr)cinfo, JPOOL_IMAGE, (JDIMENSION)(width * 4), 1);
    }

    while (cinfo->output_scanline < height) {
        uint8_t *rgb_row = state->pixels + (size_t)cinfo->output_scanline * rgb_row_bytes;
        JSAMPROW target = components == 4 ? cmyk_row[0] : rgb_row;
        if (jpeg_read_scanlines(cinfo, &target, 1) != 1) {
            // Cannot happen with a memory source (it never suspends); refuse rather than spin.
            jpeg_escape_with_text((j_common_ptr)cinfo, "JPEG decoder made no progress");
        }
        if (components == 1) replicate_gray_in_place(rgb_row, width);
        if (components == 4) inverted_cmyk_to_rgb(cmyk_row[0], rgb_row, width);
    }
    // Reads on to EOI, so a stream cut after the last scanline is still reported.
    jpeg_finish_decompress(cinfo);
    return HAE_OK;
}

hae_status hae_jpeg_decode_rgb8(const uint8_t *data, size_t size, const hae_decode_limits *limits,
                                hae_image *out, char *message, size_t message_capacity) {
    hae_set_message(message, message_capacity, "%s", "");
    if (out == NULL || limits == NULL) return HAE_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    if (data == NULL || size == 0) {
        hae_set_message(message, message_capacity, "no data");
        return HAE_CORRUPT;
    }
#if SIZE_MAX > ULONG_MAX
    if (size > ULONG_MAX) {  // jpeg_mem_src takes an unsigned long (32-bit on LLP64)
        hae_set_message(message, message_capacity, "input larger than %lu bytes", ULONG_MAX);
        return HAE_INVALID_ARGUMENT;
    }
#endif

    // Zeroed so jpeg_destroy_decompress is safe even if jpeg_create_decompress failed early.
    jpeg_decode_state *state = calloc(1, sizeof *state);
    if (state == NULL) {
        hae_set_message(message, message_capacity, "cannot allocate the JPEG decoder");
        return HAE_OUT_OF_MEMORY;
    }
    state->cinfo.err = jpeg_std_error(&state->error.pub);
    state->error.pub.error_exit = jpeg_escape_with_library_message;
    state->error.pub.emit_message = jpeg_emit_quietly;
    state->error.pub.output_message = jpeg_output_nothing;
    state->error.message = message;
    state->error.message_capacity = message_capacity;

    hae_status status = jpeg_decode_guarded(state, data, size, limits, out);

    jpeg_destroy_decompress(&state->cinfo);
    if (status == HAE_OK) {
        out->pixels = state->pixels;
    } else {
        free(state->pixels);
        if (status != HAE_TOO_LARGE && status != HAE_WRONG_SIZE) out->width = out->height = 0;
    }
    free(state);
    return status;
}
