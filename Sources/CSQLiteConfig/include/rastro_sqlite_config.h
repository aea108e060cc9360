#ifndef RASTRO_SQLITE_CONFIG_H
#define RASTRO_SQLITE_CONFIG_H

/// Turns off SQLite's memory statistics. Returns an SQLite result code:
/// SQLITE_MISUSE when SQLite was already initialized (a connection was opened first).
int rastro_sqlite_disable_memstatus(void);

#endif
