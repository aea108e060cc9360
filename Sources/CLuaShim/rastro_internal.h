#ifndef RASTRO_INTERNAL_H
#define RASTRO_INTERNAL_H
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdint.h>
#include <time.h>
#include "rastro_lua.h"

/* Instructions between two runs of the limit hook. Small enough that a
 * tripped deadline is noticed within microseconds, large enough to be free. */
#define RASTRO_HOOK_EVERY 1000

enum rastro_trip { TRIP_NONE = 0, TRIP_TIMEOUT = 1, TRIP_INSTRUCTIONS = 2 };

struct rastro_vm {
    lua_State *L;
    size_t used, limit;
    void *host;
    rastro_host_fn host_fn;
    rastro_zone_fn zone_fn;
    /* limits of the call in progress */
    uint64_t instructions, max_instructions;
    uint64_t deadline_ns;
    int tripped;
    int in_call;
    int sealed;
    /* registry references */
    int safe_globals;   /* name -> value every script can read */
    int env_meta;       /* metatable of every script environment */
    int proxy_meta_ref; /* unused slot kept for symmetry */
    int namespaces;     /* ns name -> backing table of its read-only proxy */
};

typedef struct rastro_buf {
    char *data;
    size_t len, cap;
    char **owner; /* when set, kept pointing at data across reallocs */
} rastro_buf;

static inline rastro_vm *rastro_vm_of(lua_State *L) { return *(rastro_vm **)lua_getextraspace(L); }

uint64_t rastro_now_ns(void);
/* Raises (and stays tripped) when the current call is past its deadline. For C
 * loops that run without executing Lua instructions. */
void rastro_check_deadline(lua_State *L);
/* The same check without raising, for C code that must not raise where it is
 * (inside expat's callbacks): non-zero when the call is past its deadline (and
 * then tripped, so rastro_check_deadline raises once that code has returned). */
int rastro_deadline_passed(lua_State *L);
/* Raises the state's own memory error (LUA_ERRMEM, reported as the memory
 * limit), for C code whose allocation through the state's allocator failed. */
void rastro_raise_memory_error(lua_State *L);

/* wire encoding (raise on error: call only inside a protected call) */
void rastro_wire_put_value(lua_State *L, rastro_buf *b, int idx, int depth);
void rastro_wire_put_u32(lua_State *L, rastro_buf *b, uint32_t v);
int rastro_wire_push_list(lua_State *L, const char *data, size_t len);
void rastro_buf_free(rastro_buf *b);

void rastro_vm_open_trampolines(lua_State *L);

/* sandbox */
void rastro_sandbox_open(lua_State *L, rastro_vm *vm);
void rastro_sandbox_new_env(lua_State *L, rastro_vm *vm);
void rastro_sandbox_publish(lua_State *L, rastro_vm *vm, const char *ns, int value_idx, const char *name);

/* libraries */
void rastro_patterns_install(lua_State *L, int string_table_idx);
void rastro_codecs_install(lua_State *L, rastro_vm *vm);
void rastro_time_install(lua_State *L, rastro_vm *vm);
void rastro_xml_install(lua_State *L);
#endif
