// libpq (Debian libpq-dev, PostgreSQL 15).
#include <libpq-fe.h>
