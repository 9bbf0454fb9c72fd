// hae_codecs.h — C shims around libpng and libjpeg(-turbo) for the ImageCodecs Swift module.
//
// Both libraries report fatal errors by calling an error callback that must not return;
// the default callbacks print to stderr and exit() (libjpeg) or longjmp to a jmp_buf the
// caller must own (libpng). Swift cannot own a setjmp, so these functions do: every
// failure — corrupt, truncated or hostile input, out of memory — comes back as a
// hae_status plus a NUL-terminated message, never as exit(), abort() or a crash.
//
// Ownership: pixel / encoded buffers returned through out-parameters are malloc'd and
// belong to the caller, who releases them with hae_free(). On any non-HAE_OK status no
// buffer is returned (the out-pointer is NULL) and nothing needs freeing.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Suggested capacity for the message buffers below (libjpeg's JMSG_LENGTH_MAX is 200).
#define HAE_MESSAGE_CAPACITY 256

typedef enum hae_status {
    HAE_OK = 0,
    /// The library rejected the data (bad CRC, truncated, bad header…); message says why.
    HAE_CORRUPT = 1,
    /// width*height from the header exceeds max_pixels; hae_image.width/height are set,
    /// and no pixel memory was allocated.
    HAE_TOO_LARGE = 2,
    /// Well-formed but refused (e.g. a JPEG colour space we do not convert); message says why.
    HAE_UNSUPPORTED = 3,
    /// malloc failed or a size computation would overflow size_t.
    HAE_OUT_OF_MEMORY = 4,
    /// A NULL pointer or out-of-range argument from the caller.
    HAE_INVALID_ARGUMENT = 5,
    /// The header's width/height differ from hae_decode_limits' required size;
    /// hae_image.width/height are set, and no pixel memory was allocated.
    HAE_WRONG_SIZE = 6,
} hae_status;

/// What a decode may cost, all checked from the header before any pixel memory is
/// allocated or any JPEG scan is decoded.
typedef struct hae_decode_limits {
    /// Largest accepted width*height (HAE_TOO_LARGE above it); 0 refuses every image.
    uint64_t max_pixels;
    /// The only accepted width / height (HAE_WRONG_SIZE otherwise); 0 accepts any.
    uint32_t required_width;
    uint32_t required_height;
    /// JPEG: most scans accepted (HAE_CORRUPT "more than N scans" beyond); 0 refuses every JPEG.
    /// Each progressive scan re-walks the whole coefficient buffer (a CPU bomb); real
    /// encoders emit about 10, and libjpeg-turbo's djpeg caps this too (-maxscans).
    uint32_t max_scans;
} hae_decode_limits;

/// A decoded image: (height, width, 3) interleaved 8-bit RGB, row-major, no padding.
typedef struct hae_image {
    uint32_t width;
    uint32_t height;
    /// width*height*3 bytes, owned by the caller (hae_free); NULL unless HAE_OK.
    uint8_t *pixels;
    /// PNG only (0 for JPEG): the most memory libpng itself held at once during the decode,
    /// the returned pixels excluded. Set whatever the status; 0 when libpng was never started.
    size_t library_peak_bytes;
} hae_image;

/// Decodes a PNG held in memory to 8-bit RGB.
/// 16-bit samples are scaled with rounding, (v*255 + 32767) / 65535; palettes, low bit
/// depths and gray are expanded; alpha and tRNS are composited on white with
/// (c*a + 255*(255-a) + 127) / 255; Adam7 is de-interlaced; gAMA/sBIT are ignored.
/// Every ancillary chunk but tRNS (text, iCCP, eXIf, unknown…) is skipped unread: a
/// patch needs none of them, and compressed text is a zlib bomb per chunk. libpng's
/// own working memory is capped (HAE_OUT_OF_MEMORY beyond it).
/// Refuses with HAE_WRONG_SIZE / HAE_TOO_LARGE from the IHDR, before libpng starts.
hae_status hae_png_decode_rgb8(const uint8_t *data, size_t size, const hae_decode_limits *limits,
                               hae_image *out, char *message, size_t message_capacity);

/// Decodes a JPEG held in memory to 8-bit RGB (baseline, progressive, gray, RGB,
/// YCbCr, CMYK and YCCK). A truncated stream ("Premature end of JPEG file") is
/// HAE_CORRUPT rather than a grey-padded image. libjpeg warnings are not printed.
/// Refuses with HAE_WRONG_SIZE / HAE_TOO_LARGE right after the header (no scan decoded),
/// and with HAE_CORRUPT once a file starts scan limits->max_scans + 1.
hae_status hae_jpeg_decode_rgb8(const uint8_t *data, size_t size, const hae_decode_limits *limits,
                                hae_image *out, char *message, size_t message_capacity);

/// Encodes 8-bit pixels as a non-interlaced PNG. channels is 1 (gray) or 3 (RGB);
/// pixels holds width*height*channels bytes, row-major. compression_level is clamped
/// to zlib's 0...9. On HAE_OK, *out_data (caller frees with hae_free) holds *out_size bytes.
hae_status hae_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                          int compression_level, uint8_t **out_data, size_t *out_size,
                          char *message, size_t message_capacity);

/// Releases a buffer returned by the functions above. NULL is a no-op.
void hae_free(void *pointer);

#ifdef __cplusplus
}
#endif
