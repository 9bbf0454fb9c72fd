#include <stdint.h>
#include <openslide/openslide.h>
