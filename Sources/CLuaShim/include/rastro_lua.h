#ifndef RASTRO_LUA_H
#define RASTRO_LUA_H
/*
 * The only door between Swift and Lua.
 *
 * Lua raises errors with longjmp. A longjmp through a Swift frame skips Swift's
 * cleanup and can crash the runtime, so Swift never touches a lua_State: every
 * function below enters Lua under lua_pcall in C and reports failures as a
 * status plus a malloc'd message. Values cross as a flat byte encoding (see
 * "Wire format") that C writes and reads under the same protection.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rastro_vm rastro_vm;

typedef enum rastro_status {
    RASTRO_OK = 0,
    RASTRO_ERR_RUNTIME = 1,      /* the script raised an error (or a host function it called threw) */
    RASTRO_ERR_SYNTAX = 2,       /* the chunk did not compile, or was not text */
    RASTRO_ERR_MEMORY = 3,       /* the state's memory cap was hit */
    RASTRO_ERR_TIMEOUT = 4,      /* the call's wall-clock deadline passed */
    RASTRO_ERR_INSTRUCTIONS = 5, /* the call's instruction budget ran out */
    RASTRO_ERR_USAGE = 6         /* the host asked for something impossible (missing field, sealed VM...) */
} rastro_status;

typedef struct rastro_limits {
    uint64_t max_instructions; /* VM instructions per call, counted by the count hook */
    uint64_t timeout_ns;       /* wall-clock budget per call, CLOCK_MONOTONIC */
} rastro_limits;

/* A malloc'd byte buffer handed across the boundary; free with rastro_bytes_free. */
typedef struct rastro_bytes {
    char *data;
    size_t len;
} rastro_bytes;

/*
 * Host functions are implemented in Swift and reached from Lua through a C
 * trampoline. The trampoline encodes the Lua arguments, calls this function,
 * and only after it has returned pushes the results or raises the error.
 * Return 0 and fill `out` (malloc'd wire-encoded value list), or non-zero and
 * set `*error` to a malloc'd message.
 */
typedef int (*rastro_host_fn)(void *host, int fn_id, const char *args, size_t args_len,
                              rastro_bytes *out, char **error);

/* Resolves the UTC offset (seconds east of UTC) that zone `zone` has at the
 * local wall time `local_seconds` (seconds since 1970 counted as if UTC).
 * Return 0 on success, non-zero for an unknown zone. Never re-enters Lua. */
typedef int (*rastro_zone_fn)(void *host, const char *zone, size_t zone_len,
                              int64_t local_seconds, int64_t *offset_out);

rastro_vm *rastro_vm_new(size_t memory_limit, void *host, rastro_host_fn host_fn,
                         rastro_zone_fn zone_fn, char **error);
void rastro_vm_free(rastro_vm *vm);

/* Bytes currently allocated by the state, and the cap. */
size_t rastro_vm_memory_used(const rastro_vm *vm);
size_t rastro_vm_memory_limit(const rastro_vm *vm);

/* Register a Swift host function as <ns>.<name> in the script environment. Before seal only. */
rastro_status rastro_vm_register(rastro_vm *vm, const char *ns, const char *name, int fn_id, char **error);

/* Run the trusted host prelude (it sees the raw libraries and returns a table of
 * namespaces to publish), then close the environment. Scripts load only after this. */
rastro_status rastro_vm_seal(rastro_vm *vm, const char *prelude, size_t len, rastro_limits limits, char **error);

/*
 * Compile `src` as text (binary chunks are refused) in a fresh read-only
 * environment and run it under `limits`. All returned values are encoded into
 * `results`. When the first returned value is a table it is kept in the
 * registry and `*script_ref` names it for rastro_vm_call; otherwise -1.
 */
rastro_status rastro_vm_load(rastro_vm *vm, const char *chunkname, const char *src, size_t len,
                             rastro_limits limits, int *script_ref, rastro_bytes *results, char **error);

/* Forget a script loaded by rastro_vm_load. */
void rastro_vm_unload(rastro_vm *vm, int script_ref);

/* Call script[field](args...) under `limits`; all results are encoded into `results`. */
rastro_status rastro_vm_call(rastro_vm *vm, int script_ref, const char *field,
                             const char *args, size_t args_len, rastro_limits limits,
                             rastro_bytes *results, char **error);

/* Does script[field] hold a function? (raw read, never raises) */
int rastro_vm_has_function(rastro_vm *vm, int script_ref, const char *field);

/* Full garbage collection, e.g. after a memory error. */
void rastro_vm_collect(rastro_vm *vm);

void rastro_bytes_free(rastro_bytes *bytes);

/*
 * Wire format: a value is one tag byte and its payload, little-endian.
 *   0 nil | 1 false | 2 true | 3 integer (int64) | 4 number (double)
 *   5 string: u32 length, bytes
 *   6 table: u32 array count, u32 field count, array values...,
 *            then per field: u32 key length, key bytes, value
 *   7 function | 8 other (userdata, thread)
 * A value list is a u32 count followed by the values.
 */
enum {
    RASTRO_WIRE_NIL = 0, RASTRO_WIRE_FALSE = 1, RASTRO_WIRE_TRUE = 2, RASTRO_WIRE_INTEGER = 3,
    RASTRO_WIRE_NUMBER = 4, RASTRO_WIRE_STRING = 5, RASTRO_WIRE_TABLE = 6, RASTRO_WIRE_FUNCTION = 7,
    RASTRO_WIRE_OTHER = 8
};

#ifdef __cplusplus
}
#endif
#endif
