// librdkafka (Debian librdkafka-dev 2.0.2) and its mock cluster API.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
