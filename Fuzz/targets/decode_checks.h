// What every hae_*_decode_rgb8 result must satisfy, whatever the input bytes were.
// Shared by the png and jpeg fuzz targets; a violated rule aborts, which libFuzzer reports as a crash.
//
//   hae_image image;
//   char message[HAE_MESSAGE_CAPACITY];
//   const hae_decode_limits *limits = fuzz_limits();
//   hae_status status = hae_png_decode_rgb8(data, size, limits, &image, message, sizeof message);
//   fuzz_check_decode(status, &image, message, sizeof message, limits);
#pragma once
#include "hae_codecs.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_REQUIRE(condition, why) \
    do { if (!(condition)) { fprintf(stderr, "fuzz invariant broken: %s\n", why); abort(); } } while (0)

/// The limits under test. The server's by default (PatchEndpoints: exactly 150×150, DecodeLimits' defaults
/// otherwise); HAE_FUZZ_LIMITS=cli gives the CLI's (any size up to 4096², histoae score/reconstruct).
static const hae_decode_limits *fuzz_limits(void) {
    static hae_decode_limits limits;
    static int ready = 0;
    if (!ready) {
        const char *mode = getenv("HAE_FUZZ_LIMITS");
        const int cli = mode != NULL && strcmp(mode, "cli") == 0;
        limits = (hae_decode_limits){
            .max_pixels = 4096u * 4096u,
            .required_width = cli ? 0 : 150,
            .required_height = cli ? 0 : 150,
            .max_scans = 32,  // DecodeLimits.defaultMaxJPEGScans
        };
        ready = 1;
    }
    return &limits;
}

static void fuzz_check_decode(hae_status status, const hae_image *image, const char *message, size_t capacity,
                              const hae_decode_limits *limits) {
    const uint64_t max_pixels = limits->max_pixels;
    const int size_required = limits->required_width != 0 || limits->required_height != 0;
    const int required_size = image->width == limits->required_width && image->height == limits->required_height;
    FUZZ_REQUIRE(memchr(message, '\0', capacity) != NULL, "message is not NUL-terminated within its capacity");
    const uint64_t pixels = (uint64_t)image->width * image->height;
    switch (status) {
    case HAE_OK: {
        FUZZ_REQUIRE(image->pixels != NULL, "HAE_OK without pixels");
        FUZZ_REQUIRE(pixels > 0 && pixels <= max_pixels, "HAE_OK with a size outside (0, max_pixels]");
        FUZZ_REQUIRE(!size_required || required_size, "HAE_OK with a size other than the required one");
        // Touch every byte the header promises: ASan reports a buffer shorter than width*height*3.
        unsigned checksum = 0;
        for (uint64_t i = 0; i < pixels * 3; i++) checksum += image->pixels[i];
        volatile unsigned sink = checksum;
        (void)sink;
        break;
    }
    case HAE_TOO_LARGE:
        FUZZ_REQUIRE(image->pixels == NULL, "HAE_TOO_LARGE with pixels");
        FUZZ_REQUIRE(pixels > max_pixels, "HAE_TOO_LARGE for an image within the limit");
        break;
    case HAE_WRONG_SIZE:
        FUZZ_REQUIRE(image->pixels == NULL, "HAE_WRONG_SIZE with pixels");
        FUZZ_REQUIRE(size_required && !required_size, "HAE_WRONG_SIZE without a size requirement or at the required size");
        break;
    case HAE_CORRUPT:
    case HAE_UNSUPPORTED:
    case HAE_OUT_OF_MEMORY:
        FUZZ_REQUIRE(image->pixels == NULL, "an error status with pixels");
        FUZZ_REQUIRE(image->width == 0 && image->height == 0, "an error status with a size");
        FUZZ_REQUIRE(message[0] != '\0', "an error status without a message");
        break;
    default:
        FUZZ_REQUIRE(0, "a status the header does not list");
    }
}
