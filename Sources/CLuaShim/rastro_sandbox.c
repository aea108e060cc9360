/*
 * The sandbox policy, as data, and the environments built from it.
 *
 * Debian's Lua is the setup behind CVE-2022-0543 (a `package` library left
 * reachable from scripts), so nothing here calls luaL_openlibs: each library
 * and each global is listed below with the reason it is, or is not, there.
 *
 * Every script runs with its own empty environment table whose metatable reads
 * from one shared table of safe globals and raises on unknown names and on
 * writes. Library tables reach scripts only as read-only proxies; `rawset` is
 * not offered, so neither a proxy nor an environment can be written, and one
 * script (or one call) cannot change what another sees.
 */
#include <string.h>
#include "rastro_internal.h"

typedef enum { ALLOW, DENY, WRAP } policy_action;

typedef struct policy_entry {
    const char *name;
    policy_action action;
    const char *why;
} policy_entry;

/* Globals from the base library. */
static const policy_entry BASE_POLICY[] = {
    {"assert", ALLOW, "pure"},
    {"error", ALLOW, "raises inside the script's own protected call"},
    {"getmetatable", ALLOW, "string, library and xml node metatables carry __metatable, hiding the real tables"},
    {"ipairs", ALLOW, "pure"},
    {"next", ALLOW, "pure"},
    {"pairs", ALLOW, "pure; proxies answer through __pairs"},
    {"pcall", ALLOW, "the limit hook stays tripped, so pcall cannot swallow a deadline"},
    {"xpcall", WRAP, "the handler runs after unwinding: Lua runs message handlers for errors raised in hooks with hooks off, so a looping handler would escape the deadline"},
    {"rawequal", ALLOW, "pure"},
    {"rawget", ALLOW, "reads only; proxies are empty so it finds nothing behind them"},
    {"rawlen", ALLOW, "pure"},
    {"select", ALLOW, "pure"},
    {"tonumber", ALLOW, "pure"},
    {"tostring", ALLOW, "pure"},
    {"type", ALLOW, "pure"},
    {"_VERSION", ALLOW, "a string"},
    {"setmetatable", WRAP, "refuses __gc: a finalizer would run later, outside any call's limits"},
    {"load", WRAP, "text chunks only, compiled into a fresh sandbox environment"},
    {"rawset", DENY, "would write through read-only proxies and environments"},
    {"collectgarbage", DENY, "could stop the collector and defeat the memory cap, or burn CPU in full collections"},
    {"dofile", DENY, "reads files"},
    {"loadfile", DENY, "reads files"},
    {"print", DENY, "stdout belongs to the host; scripts have log"},
    {"require", DENY, "loads native code from disk (CVE-2022-0543)"},
    {"_G", DENY, "the host's globals are not the script's"},
    {NULL, DENY, NULL},
};

typedef struct library_entry {
    const char *name;
    lua_CFunction open; /* NULL = never opened */
    const char *why;
} library_entry;

static const library_entry LIBRARIES[] = {
    {"string", luaopen_string, "text handling; pattern functions are replaced by deadline-bounded ones, dump removed"},
    {"table", luaopen_table, "pure"},
    {"math", luaopen_math, "pure"},
    {"utf8", luaopen_utf8, "pure"},
    {"coroutine", luaopen_coroutine, "new threads inherit the limit hook"},
    {"io", NULL, "files and processes"},
    {"os", NULL, "clock, environment, processes, files; scripts get the pure time helpers instead"},
    {"debug", NULL, "reaches any local, upvalue and metatable, and can remove the limit hook"},
    {"package", NULL, "loads native code from disk (CVE-2022-0543)"},
    {NULL, NULL, NULL},
};

/* Functions removed from opened libraries. */
static const policy_entry LIBRARY_DENY[] = {
    {"string.dump", DENY, "produces bytecode; loading bytecode can crash the VM"},
    {NULL, DENY, NULL},
};

/* ---- read-only proxies --------------------------------------------------- */

static int readonly_newindex(lua_State *L) {
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "attempt to modify read-only table (field '%s')", key);
}

static int proxy_pairs(lua_State *L) {
    lua_getglobal(L, "next");
    lua_getmetatable(L, 1); /* the C API reads past __metatable */
    lua_getfield(L, -1, "__index");
    lua_remove(L, -2);
    lua_pushnil(L);
    return 3;
}

/* Pushes a proxy for the table at idx: empty, reads through, refuses writes. */
static void push_proxy(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_newtable(L);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, idx);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, readonly_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, proxy_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
}

/* ---- script environments ------------------------------------------------- */

static int env_index(lua_State *L) {
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    if (lua_isnil(L, -1)) {
        if (lua_type(L, 2) == LUA_TSTRING)
            return luaL_error(L, "unknown global '%s'", lua_tostring(L, 2));
        return luaL_error(L, "unknown global");
    }
    return 1;
}

static int env_newindex(lua_State *L) {
    const char *key = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "?";
    return luaL_error(L, "assignment to global '%s' (globals are read-only; declare it local)", key);
}

void rastro_sandbox_new_env(lua_State *L, rastro_vm *vm) {
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->env_meta);
    lua_setmetatable(L, -2);
}

/* ---- wrapped base functions ---------------------------------------------- */

static int safe_setmetatable(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    int t = lua_type(L, 2);
    luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
    if (t == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) return luaL_error(L, "setmetatable: __gc metamethods are not allowed in scripts");
        lua_pop(L, 1);
    }
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return luaL_error(L, "cannot change a protected metatable");
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}

static int safe_xpcall(lua_State *L) {
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_insert(L, 1);   /* msgh, f, msgh, args... */
    lua_remove(L, 3);   /* msgh, f, args... */
    if (lua_pcall(L, n - 2, LUA_MULTRET, 0) == LUA_OK) {
        lua_pushboolean(L, 1);
        lua_replace(L, 1);
        return lua_gettop(L);
    }
    lua_pushvalue(L, 1);
    lua_insert(L, -2);  /* msgh, msgh, err */
    lua_pcall(L, 1, 1, 0);
    lua_pushboolean(L, 0);
    lua_insert(L, -2);
    return 2;
}

static int safe_load(lua_State *L) {
    size_t len;
    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushliteral(L, "load: only text chunks given as strings are allowed");
        return 2;
    }
    const char *s = lua_tolstring(L, 1, &len);
    const char *name = luaL_optstring(L, 2, "=(load)");
    const char *mode = luaL_optstring(L, 3, "t");
    if (strcmp(mode, "t") != 0) {
        lua_pushnil(L);
        lua_pushliteral(L, "load: binary chunks are not allowed (mode must be \"t\")");
        return 2;
    }
    int has_env = !lua_isnone(L, 4);
    if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env) lua_pushvalue(L, 4);
    else rastro_sandbox_new_env(L, rastro_vm_of(L));
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    return 1;
}

/* ---- building the sandbox ------------------------------------------------ */

static int ns_backing(lua_State *L, rastro_vm *vm, const char *ns) {
    /* Returns (pushes) the backing table of namespace ns, creating it and its
     * proxy in the safe globals the first time. */
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->namespaces);
    if (lua_getfield(L, -1, ns) == LUA_TTABLE) {
        lua_remove(L, -2);
        return lua_gettop(L);
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, ns);
    lua_remove(L, -2);
    int backing = lua_gettop(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, vm->safe_globals);
    push_proxy(L, backing);
    lua_setfield(L, -2, ns);
    lua_pop(L, 1);
    return backing;
}

void rastro_sandbox_publish(lua_State *L, rastro_vm *vm, const char *ns, int value_idx, const char *name) {
    value_idx = lua_absindex(L, value_idx);
    ns_backing(L, vm, ns);
    lua_pushvalue(L, value_idx);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void rastro_sandbox_open(lua_State *L, rastro_vm *vm) {
    rastro_vm_open_trampolines(L);

    /* Base library into the host's own globals (never shown to scripts). */
    luaL_requiref(L, "_G", luaopen_base, 1);
    lua_pop(L, 1);

    lua_newtable(L);
    int safe = lua_gettop(L);
    lua_newtable(L);
    vm->namespaces = luaL_ref(L, LUA_REGISTRYINDEX);

    for (const policy_entry *e = BASE_POLICY; e->name; e++) {
        if (e->action != ALLOW) continue;
        lua_getglobal(L, e->name);
        lua_setfield(L, safe, e->name);
    }
    lua_pushcfunction(L, safe_setmetatable);
    lua_setfield(L, safe, "setmetatable");
    lua_pushcfunction(L, safe_load);
    lua_setfield(L, safe, "load");
    /* The prelude builds carriers.library on it; seal removes it from the host globals. */
    lua_pushcfunction(L, safe_load);
    lua_setglobal(L, "sandbox_load");
    lua_pushcfunction(L, safe_xpcall);
    lua_setfield(L, safe, "xpcall");

    for (const library_entry *lib = LIBRARIES; lib->name; lib++) {
        if (!lib->open) continue;
        luaL_requiref(L, lib->name, lib->open, 1); /* the host's globals keep the raw table */
        int raw = lua_gettop(L);
        if (strcmp(lib->name, "string") == 0) rastro_patterns_install(L, raw);
        for (const policy_entry *d = LIBRARY_DENY; d->name; d++) {
            size_t n = strlen(lib->name);
            if (strncmp(d->name, lib->name, n) == 0 && d->name[n] == '.') {
                lua_pushnil(L);
                lua_setfield(L, raw, d->name + n + 1);
            }
        }
        push_proxy(L, raw);
        lua_setfield(L, safe, lib->name);
        lua_pop(L, 1);
    }

    /* Lock the string metatable: its __index is the real string table. */
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    /* The environment metatable shared by every script. */
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, safe);
    lua_pushcclosure(L, env_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, env_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    vm->env_meta = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_pushvalue(L, safe);
    vm->safe_globals = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);

    /* Host-side helpers in C. */
    rastro_codecs_install(L, vm);
    rastro_time_install(L, vm);

    /* Raw helpers for the prelude only; seal removes them from the host globals:
     * lua-cjson, and xml_tree/xml_trim (rastro_xml.c) under xml.parse and node:text. */
    extern int luaopen_cjson_safe(lua_State *L);
    luaopen_cjson_safe(L);
    lua_setglobal(L, "cjson");
    rastro_xml_install(L);

    /* The host's globals lose what no code in this state should ever call. */
    static const char *const host_drop[] = {"dofile", "loadfile", "collectgarbage", "require", NULL};
    for (const char *const *n = host_drop; *n; n++) {
        lua_pushnil(L);
        lua_setglobal(L, *n);
    }
}
