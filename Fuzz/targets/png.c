// libFuzzer target: hae_png_decode_rgb8 (Sources/CCodecShims) on arbitrary bytes, under the server's decode
// limits (HAE_FUZZ_LIMITS=cli: the CLI's). Built and run by scripts/fuzz.sh; see Fuzz/README.md.
//
//   scripts/fuzz.sh run png 600
#include "decode_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hae_image image;
    char message[HAE_MESSAGE_CAPACITY];
    const hae_decode_limits *limits = fuzz_limits();
    const hae_status status = hae_png_decode_rgb8(data, size, limits, &image, message, sizeof message);
    fuzz_check_decode(status, &image, message, sizeof message, limits);
    hae_free(image.pixels);
    return 0;
}
