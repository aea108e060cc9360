/*
 * The Lua state: a capped allocator, a limit hook that stays tripped, and the
 * protected entry points Swift calls. Every Lua API that can raise runs inside
 * a function started by lua_pcall; the functions Swift calls only use the
 * non-raising part of the API around that pcall.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "rastro_internal.h"

uint64_t rastro_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char *dup_message(const char *msg) {
    size_t n = strlen(msg);
    char *copy = malloc(n + 1);
    if (copy) memcpy(copy, msg, n + 1);
    return copy;
}

static void set_error(char **error, const char *msg) {
    if (error) *error = dup_message(msg);
}

/* ---- allocator: the memory cap --------------------------------------- */

static void *rastro_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    rastro_vm *vm = ud;
    size_t old = ptr ? osize : 0; /* with ptr == NULL, osize encodes a type, not a size */
    if (nsize == 0) {
        free(ptr);
        vm->used -= old;
        return NULL;
    }
    /* Shrinking always succeeds so the collector can make progress at the cap. */
    if (nsize > old && vm->used - old + nsize > vm->limit) return NULL;
    void *p = realloc(ptr, nsize);
    if (!p) return NULL;
    vm->used = vm->used - old + nsize;
    return p;
}

/* ---- the limit hook ----------------------------------------------------- */

static const char *trip_message(int trip) {
    return trip == TRIP_TIMEOUT ? "script exceeded its time limit" : "script exceeded its instruction limit";
}

static void rastro_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    rastro_vm *vm = rastro_vm_of(L);
    if (!vm->tripped) {
        int every = lua_gethookcount(L);
        vm->instructions += (uint64_t)every;
        if (vm->instructions > vm->max_instructions) vm->tripped = TRIP_INSTRUCTIONS;
        else if (rastro_now_ns() > vm->deadline_ns) vm->tripped = TRIP_TIMEOUT;
        else {
            /* A coroutine left tripped by an earlier call goes back to the normal cadence. */
            if (every != RASTRO_HOOK_EVERY) lua_sethook(L, rastro_hook, LUA_MASKCOUNT, RASTRO_HOOK_EVERY);
            return;
        }
    }
    /* Stay tripped: every following instruction of this thread raises again,
     * so a pcall that catches this error cannot make progress. */
    lua_sethook(L, rastro_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "%s", trip_message(vm->tripped));
}

void rastro_check_deadline(lua_State *L) {
    rastro_vm *vm = rastro_vm_of(L);
    if (!vm->in_call) return;
    if (!vm->tripped && rastro_now_ns() > vm->deadline_ns) vm->tripped = TRIP_TIMEOUT;
    if (vm->tripped) {
        lua_sethook(L, rastro_hook, LUA_MASKCOUNT, 1);
        luaL_error(L, "%s", trip_message(vm->tripped));
    }
}

int rastro_deadline_passed(lua_State *L) {
    rastro_vm *vm = rastro_vm_of(L);
    if (!vm->in_call) return 0;
    if (!vm->tripped && rastro_now_ns() > vm->deadline_ns) vm->tripped = TRIP_TIMEOUT;
    return vm->tripped != TRIP_NONE;
}

void rastro_raise_memory_error(lua_State *L) {
    /* The C API has no way to raise LUA_ERRMEM, so ask Lua for a block the cap
     * can never grant: Lua collects, retries and raises its own memory error,
     * exactly as when one of its allocations is refused. */
    rastro_vm *vm = rastro_vm_of(L);
    if (vm->limit < (size_t)LUA_MAXINTEGER / 2) lua_newuserdatauv(L, vm->limit + 1, 0);
    luaL_error(L, "not enough memory"); /* only with no usable cap */
}

static void begin_call(rastro_vm *vm, rastro_limits limits) {
    vm->instructions = 0;
    vm->max_instructions = limits.max_instructions ? limits.max_instructions : UINT64_MAX;
    uint64_t now = rastro_now_ns();
    vm->deadline_ns = limits.timeout_ns ? now + limits.timeout_ns : UINT64_MAX;
    vm->tripped = TRIP_NONE;
    vm->in_call = 1;
    lua_sethook(vm->L, rastro_hook, LUA_MASKCOUNT, RASTRO_HOOK_EVERY);
}

/* Turns the status of a finished pcall into ours and takes the error message.
 * Only non-raising APIs here: the error value is read only if it already is a string. */
static rastro_status end_call(rastro_vm *vm, int status, char **error) {
    lua_State *L = vm->L;
    int trip = vm->tripped;
    vm->in_call = 0;
    vm->tripped = TRIP_NONE;
    lua_sethook(L, rastro_hook, LUA_MASKCOUNT, RASTRO_HOOK_EVERY);
    if (status == LUA_OK) return RASTRO_OK;
    const char *msg = NULL;
    if (lua_type(L, -1) == LUA_TSTRING) msg = lua_tostring(L, -1);
    rastro_status result;
    if (trip) {
        result = trip == TRIP_TIMEOUT ? RASTRO_ERR_TIMEOUT : RASTRO_ERR_INSTRUCTIONS;
        /* The script may have replaced the message while unwinding; say what happened. */
        set_error(error, trip_message(trip));
    } else if (status == LUA_ERRMEM) {
        result = RASTRO_ERR_MEMORY;
        set_error(error, "script exceeded its memory limit");
    } else {
        result = RASTRO_ERR_RUNTIME;
        if (msg) set_error(error, msg);
        else {
            char buf[96];
            snprintf(buf, sizeof buf, "script raised a non-string error (a %s value)",
                     lua_typename(L, lua_type(L, -1)));
            set_error(error, buf);
        }
    }
    lua_pop(L, 1);
    if (result == RASTRO_ERR_MEMORY) lua_gc(L, LUA_GCCOLLECT);
    return result;
}

/* ---- creating the state ------------------------------------------------- */

struct open_args {
    rastro_vm *vm;
};

static int open_entry(lua_State *L) {
    struct open_args *a = lua_touserdata(L, 1);
    rastro_sandbox_open(L, a->vm);
    return 0;
}

rastro_vm *rastro_vm_new(size_t memory_limit, void *host, rastro_host_fn host_fn,
                         rastro_zone_fn zone_fn, char **error) {
    rastro_vm *vm = calloc(1, sizeof *vm);
    if (!vm) { set_error(error, "out of memory"); return NULL; }
    vm->limit = memory_limit;
    vm->host = host;
    vm->host_fn = host_fn;
    vm->zone_fn = zone_fn;
    vm->safe_globals = vm->env_meta = vm->namespaces = LUA_NOREF;
    lua_State *L = lua_newstate(rastro_alloc, vm);
    if (!L) { free(vm); set_error(error, "cannot create a Lua state within the memory limit"); return NULL; }
    vm->L = L;
    *(rastro_vm **)lua_getextraspace(L) = vm;
    /* Setting up runs without a deadline but inside a pcall, like everything else. */
    rastro_limits none = {0, 0};
    begin_call(vm, none);
    struct open_args a = {vm};
    lua_pushcfunction(L, open_entry);
    lua_pushlightuserdata(L, &a);
    int st = lua_pcall(L, 1, 0, 0);
    if (end_call(vm, st, error) != RASTRO_OK) {
        lua_close(L);
        free(vm);
        return NULL;
    }
    return vm;
}

void rastro_vm_free(rastro_vm *vm) {
    if (!vm) return;
    lua_close(vm->L);
    free(vm);
}

size_t rastro_vm_memory_used(const rastro_vm *vm) { return vm->used; }
size_t rastro_vm_memory_limit(const rastro_vm *vm) { return vm->limit; }

void rastro_vm_collect(rastro_vm *vm) { lua_gc(vm->L, LUA_GCCOLLECT); }

void rastro_bytes_free(rastro_bytes *bytes) {
    if (!bytes) return;
    free(bytes->data);
    bytes->data = NULL;
    bytes->len = 0;
}

/* ---- host functions: the trampoline ------------------------------------- */

/* Buffers that cross into Swift live in a box with a finalizer, so a raise
 * (memory, a cyclic argument) between malloc and free cannot leak them. */
typedef struct host_box {
    char *in;
    char *out;
} host_box;

static int host_box_gc(lua_State *L) {
    host_box *box = lua_touserdata(L, 1);
    free(box->in); box->in = NULL;
    free(box->out); box->out = NULL;
    return 0;
}

void rastro_vm_open_trampolines(lua_State *L) {
    luaL_newmetatable(L, "rastro.host_box");
    lua_pushcfunction(L, host_box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

static int trampoline(lua_State *L) {
    rastro_vm *vm = rastro_vm_of(L);
    int fn_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    int nargs = lua_gettop(L);
    host_box *box = lua_newuserdatauv(L, sizeof *box, 0);
    box->in = box->out = NULL;
    luaL_setmetatable(L, "rastro.host_box");
    rastro_buf in = {0};
    in.owner = &box->in; /* every realloc updates the box */
    rastro_wire_put_u32(L, &in, (uint32_t)nargs);
    for (int i = 1; i <= nargs; i++) rastro_wire_put_value(L, &in, i, 0);
    rastro_bytes out = {0};
    char *err = NULL;
    /* Swift runs here, with no Lua frame able to unwind through it. */
    int failed = vm->host_fn(vm->host, fn_id, in.data, in.len, &out, &err);
    free(in.data);
    box->in = NULL;
    box->out = out.data;
    if (failed) {
        /* Raise only now that Swift has returned. */
        lua_pushstring(L, err ? err : "host function failed");
        free(err);
        return lua_error(L);
    }
    free(err);
    int n = rastro_wire_push_list(L, out.data, out.len);
    free(out.data);
    box->out = NULL;
    return n;
}

struct register_args {
    rastro_vm *vm;
    const char *ns, *name;
    int fn_id;
};

static int register_entry(lua_State *L) {
    struct register_args *a = lua_touserdata(L, 1);
    lua_pushinteger(L, a->fn_id);
    lua_pushcclosure(L, trampoline, 1);
    rastro_sandbox_publish(L, a->vm, a->ns, lua_gettop(L), a->name);
    return 0;
}

rastro_status rastro_vm_register(rastro_vm *vm, const char *ns, const char *name, int fn_id, char **error) {
    if (vm->sealed) { set_error(error, "the environment is sealed"); return RASTRO_ERR_USAGE; }
    struct register_args a = {vm, ns, name, fn_id};
    rastro_limits none = {0, 0};
    begin_call(vm, none);
    lua_pushcfunction(vm->L, register_entry);
    lua_pushlightuserdata(vm->L, &a);
    return end_call(vm, lua_pcall(vm->L, 1, 0, 0), error);
}

/* ---- prelude and sealing ------------------------------------------------- */

struct seal_args {
    rastro_vm *vm;
    const char *src;
    size_t len;
};

static int seal_entry(lua_State *L) {
    struct seal_args *a = lua_touserdata(L, 1);
    if (luaL_loadbufferx(L, a->src, a->len, "=prelude", "t") != LUA_OK) return lua_error(L);
    /* The prelude runs with the host's globals, the raw helper modules, and
     * `host`: the namespaces published so far (C helpers, Swift functions). */
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->vm->namespaces);
    lua_setglobal(L, "host");
    lua_call(L, 0, 1);
    luaL_checktype(L, -1, LUA_TTABLE);
    int exports = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, exports)) {               /* ns -> table of functions/values */
        if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TTABLE) {
            const char *ns = lua_tostring(L, -2);
            int fields = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, fields)) {
                if (lua_type(L, -2) == LUA_TSTRING) {
                    const char *name = lua_tostring(L, -2);
                    rastro_sandbox_publish(L, a->vm, ns, lua_gettop(L), name);
                }
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    /* The raw modules stay reachable only through the prelude's closures. */
    lua_pushnil(L); lua_setglobal(L, "cjson");
    lua_pushnil(L); lua_setglobal(L, "xml_tree");
    lua_pushnil(L); lua_setglobal(L, "xml_trim");
    lua_pushnil(L); lua_setglobal(L, "host");
    lua_pushnil(L); lua_setglobal(L, "sandbox_load");
    return 0;
}

rastro_status rastro_vm_seal(rastro_vm *vm, const char *prelude, size_t len, rastro_limits limits, char **error) {
    if (vm->sealed) { set_error(error, "the environment is already sealed"); return RASTRO_ERR_USAGE; }
    struct seal_args a = {vm, prelude, len};
    begin_call(vm, limits);
    lua_pushcfunction(vm->L, seal_entry);
    lua_pushlightuserdata(vm->L, &a);
    rastro_status st = end_call(vm, lua_pcall(vm->L, 1, 0, 0), error);
    if (st == RASTRO_OK) vm->sealed = 1;
    return st;
}

/* ---- loading and calling scripts ---------------------------------------- */

struct run_args {
    rastro_vm *vm;
    const char *chunkname, *src, *field;
    size_t len;
    int ref;
    const char *args;
    size_t args_len;
    int script_ref;
    int syntax_error;
    rastro_buf out;
};

static void encode_results(lua_State *L, struct run_args *a, int first) {
    int top = lua_gettop(L);
    rastro_wire_put_u32(L, &a->out, (uint32_t)(top - first + 1));
    for (int i = first; i <= top; i++) rastro_wire_put_value(L, &a->out, i, 0);
}

static int load_entry(lua_State *L) {
    struct run_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    /* Mode "t": binary chunks are refused; precompiled bytecode can crash the VM. */
    if (luaL_loadbufferx(L, a->src, a->len, a->chunkname, "t") != LUA_OK) {
        a->syntax_error = 1;
        return lua_error(L);
    }
    rastro_sandbox_new_env(L, a->vm);
    if (!lua_setupvalue(L, 1, 1)) lua_pop(L, 1);
    lua_call(L, 0, LUA_MULTRET);
    if (lua_gettop(L) >= 1 && lua_type(L, 1) == LUA_TTABLE) {
        lua_pushvalue(L, 1);
        a->script_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    encode_results(L, a, 1);
    return 0;
}

static rastro_status finish_run(rastro_vm *vm, int status, struct run_args *a, rastro_bytes *results, char **error) {
    rastro_status st = end_call(vm, status, error);
    if (st == RASTRO_ERR_RUNTIME && a->syntax_error) st = RASTRO_ERR_SYNTAX;
    if (st == RASTRO_OK && results) {
        results->data = a->out.data;
        results->len = a->out.len;
    } else {
        rastro_buf_free(&a->out);
    }
    return st;
}

rastro_status rastro_vm_load(rastro_vm *vm, const char *chunkname, const char *src, size_t len,
                             rastro_limits limits, int *script_ref, rastro_bytes *results, char **error) {
    if (script_ref) *script_ref = -1;
    if (!vm->sealed) { set_error(error, "the environment is not sealed yet"); return RASTRO_ERR_USAGE; }
    if (!lua_checkstack(vm->L, 8)) { set_error(error, "Lua stack exhausted"); return RASTRO_ERR_MEMORY; }
    struct run_args a = {0};
    a.vm = vm; a.chunkname = chunkname; a.src = src; a.len = len; a.script_ref = LUA_NOREF;
    begin_call(vm, limits);
    lua_pushcfunction(vm->L, load_entry);
    lua_pushlightuserdata(vm->L, &a);
    rastro_status st = finish_run(vm, lua_pcall(vm->L, 1, 0, 0), &a, results, error);
    lua_settop(vm->L, 0);
    if (st == RASTRO_OK) {
        if (script_ref) *script_ref = a.script_ref;
    } else if (a.script_ref != LUA_NOREF) {
        luaL_unref(vm->L, LUA_REGISTRYINDEX, a.script_ref);
    }
    return st;
}

void rastro_vm_unload(rastro_vm *vm, int script_ref) {
    if (script_ref >= 0) luaL_unref(vm->L, LUA_REGISTRYINDEX, script_ref);
}

static int call_entry(lua_State *L) {
    struct run_args *a = lua_touserdata(L, 1);
    lua_settop(L, 0);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
    if (lua_type(L, 1) != LUA_TTABLE) return luaL_error(L, "script is not loaded");
    lua_pushstring(L, a->field);
    lua_rawget(L, 1);
    if (lua_type(L, 2) != LUA_TFUNCTION)
        return luaL_error(L, "field '%s' is not a function (a %s value)", a->field, luaL_typename(L, 2));
    int nargs = rastro_wire_push_list(L, a->args, a->args_len);
    lua_call(L, nargs, LUA_MULTRET);
    encode_results(L, a, 2);
    return 0;
}

rastro_status rastro_vm_call(rastro_vm *vm, int script_ref, const char *field,
                             const char *args, size_t args_len, rastro_limits limits,
                             rastro_bytes *results, char **error) {
    if (!lua_checkstack(vm->L, 8)) { set_error(error, "Lua stack exhausted"); return RASTRO_ERR_MEMORY; }
    struct run_args a = {0};
    a.vm = vm; a.ref = script_ref; a.field = field; a.args = args; a.args_len = args_len;
    begin_call(vm, limits);
    lua_pushcfunction(vm->L, call_entry);
    lua_pushlightuserdata(vm->L, &a);
    rastro_status st = finish_run(vm, lua_pcall(vm->L, 1, 0, 0), &a, results, error);
    lua_settop(vm->L, 0);
    return st;
}

int rastro_vm_has_function(rastro_vm *vm, int script_ref, const char *field) {
    lua_State *L = vm->L;
    if (!lua_checkstack(L, 2)) return 0;
    /* rawgeti and rawget never raise; the field name goes through a pushed
     * string, which can raise only on memory exhaustion, so look it up by
     * iterating instead of interning a new string. */
    if (lua_rawgeti(L, LUA_REGISTRYINDEX, script_ref) != LUA_TTABLE) { lua_pop(L, 1); return 0; }
    int found = 0;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), field) == 0) {
            found = lua_type(L, -1) == LUA_TFUNCTION;
            lua_pop(L, 2);
            break;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return found;
}
