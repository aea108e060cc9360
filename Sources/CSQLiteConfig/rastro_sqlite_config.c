// sqlite3_config is variadic, which Swift cannot call; this is its one use in rastro.
#include <sqlite3.h>
#include "rastro_sqlite_config.h"

// With memory statistics on (the default), every sqlite3_malloc and sqlite3_free takes one
// process-wide mutex to count bytes. Under a push load the readers and the writer then queue
// on that mutex (about an eighth of the server's context switches were there). rastro never
// reads those statistics.
int rastro_sqlite_disable_memstatus(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
