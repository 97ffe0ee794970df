// glibc's malloc tuning (mallopt, M_ARENA_MAX): part of libc, nothing to link.
#include <malloc.h>
