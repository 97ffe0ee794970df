// liblz4 (Debian liblz4-dev).
#include <lz4.h>
#include <lz4frame.h>
