/*
 * The wire format between Lua and Swift (see rastro_lua.h). Encoding and
 * decoding raise Lua errors, so both run only inside protected calls.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "rastro_internal.h"

/* Deep enough for any carrier response, shallow enough to catch cycles. */
#define WIRE_MAX_DEPTH 64
/* A script handing back more than this is broken, not busy. */
#define WIRE_MAX_BYTES (64u * 1024u * 1024u)

void rastro_buf_free(rastro_buf *b) {
    free(b->data);
    if (b->owner) *b->owner = NULL;
    b->data = NULL;
    b->len = b->cap = 0;
}

static void reserve(lua_State *L, rastro_buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    if (b->len + extra > WIRE_MAX_BYTES) luaL_error(L, "value too large to hand to the host (over %d MiB)", WIRE_MAX_BYTES >> 20);
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) luaL_error(L, "out of memory while encoding a value for the host");
    b->data = p;
    b->cap = cap;
    if (b->owner) *b->owner = p;
}

static void put_bytes(lua_State *L, rastro_buf *b, const void *p, size_t n) {
    reserve(L, b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_tag(lua_State *L, rastro_buf *b, unsigned char tag) { put_bytes(L, b, &tag, 1); }

void rastro_wire_put_u32(lua_State *L, rastro_buf *b, uint32_t v) {
    unsigned char le[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff};
    put_bytes(L, b, le, 4);
}

static void put_u64(lua_State *L, rastro_buf *b, uint64_t v) {
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (v >> (8 * i)) & 0xff;
    put_bytes(L, b, le, 8);
}

static void put_string(lua_State *L, rastro_buf *b, const char *s, size_t n) {
    if (n > UINT32_MAX) luaL_error(L, "string too long to hand to the host");
    rastro_wire_put_u32(L, b, (uint32_t)n);
    put_bytes(L, b, s, n);
}

/* Table keys become strings on the wire; other key types are dropped. */
static int key_text(lua_State *L, int idx, char *scratch, size_t scratch_len, const char **s, size_t *n) {
    switch (lua_type(L, idx)) {
    case LUA_TSTRING: *s = lua_tolstring(L, idx, n); return 1;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) snprintf(scratch, scratch_len, "%lld", (long long)lua_tointeger(L, idx));
        else snprintf(scratch, scratch_len, "%.14g", lua_tonumber(L, idx));
        *s = scratch; *n = strlen(scratch); return 1;
    case LUA_TBOOLEAN:
        *s = lua_toboolean(L, idx) ? "true" : "false"; *n = strlen(*s); return 1;
    default: return 0;
    }
}

void rastro_wire_put_value(lua_State *L, rastro_buf *b, int idx, int depth) {
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL: put_tag(L, b, RASTRO_WIRE_NIL); break;
    case LUA_TBOOLEAN: put_tag(L, b, lua_toboolean(L, idx) ? RASTRO_WIRE_TRUE : RASTRO_WIRE_FALSE); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) { put_tag(L, b, RASTRO_WIRE_INTEGER); put_u64(L, b, (uint64_t)lua_tointeger(L, idx)); }
        else { double d = lua_tonumber(L, idx); uint64_t u; memcpy(&u, &d, 8); put_tag(L, b, RASTRO_WIRE_NUMBER); put_u64(L, b, u); }
        break;
    case LUA_TSTRING: {
        size_t n; const char *s = lua_tolstring(L, idx, &n);
        put_tag(L, b, RASTRO_WIRE_STRING); put_string(L, b, s, n);
        break;
    }
    case LUA_TTABLE: {
        if (depth >= WIRE_MAX_DEPTH) luaL_error(L, "table nested deeper than %d levels (or cyclic)", WIRE_MAX_DEPTH);
        luaL_checkstack(L, 4, "encoding a table");
        lua_Unsigned narr = lua_rawlen(L, idx);
        if (narr > UINT32_MAX) luaL_error(L, "table too large");
        /* count the fields that are not part of the array 1..narr */
        uint32_t nfields = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pop(L, 1);
            if (lua_isinteger(L, -1)) { lua_Integer k = lua_tointeger(L, -1); if (k >= 1 && (lua_Unsigned)k <= narr) continue; }
            char scratch[48]; const char *ks; size_t kn;
            if (key_text(L, -1, scratch, sizeof scratch, &ks, &kn)) nfields++;
        }
        put_tag(L, b, RASTRO_WIRE_TABLE);
        rastro_wire_put_u32(L, b, (uint32_t)narr);
        rastro_wire_put_u32(L, b, nfields);
        for (lua_Unsigned i = 1; i <= narr; i++) {
            lua_rawgeti(L, idx, (lua_Integer)i);
            rastro_wire_put_value(L, b, -1, depth + 1);
            lua_pop(L, 1);
        }
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            int skip = 0;
            if (lua_isinteger(L, -2)) { lua_Integer k = lua_tointeger(L, -2); skip = k >= 1 && (lua_Unsigned)k <= narr; }
            char scratch[48]; const char *ks; size_t kn;
            if (!skip && key_text(L, -2, scratch, sizeof scratch, &ks, &kn)) {
                put_string(L, b, ks, kn);
                rastro_wire_put_value(L, b, -1, depth + 1);
            }
            lua_pop(L, 1);
        }
        break;
    }
    case LUA_TFUNCTION: put_tag(L, b, RASTRO_WIRE_FUNCTION); break;
    case LUA_TLIGHTUSERDATA:
        /* json.null is a NULL light userdata: it means "no value". */
        put_tag(L, b, lua_touserdata(L, idx) == NULL ? RASTRO_WIRE_NIL : RASTRO_WIRE_OTHER);
        break;
    default: put_tag(L, b, RASTRO_WIRE_OTHER); break;
    }
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct reader {
    const unsigned char *p, *end;
} reader;

static void need(lua_State *L, reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) luaL_error(L, "malformed value from the host (truncated)");
}

static uint32_t get_u32(lua_State *L, reader *r) {
    need(L, r, 4);
    uint32_t v = (uint32_t)r->p[0] | ((uint32_t)r->p[1] << 8) | ((uint32_t)r->p[2] << 16) | ((uint32_t)r->p[3] << 24);
    r->p += 4;
    return v;
}

static uint64_t get_u64(lua_State *L, reader *r) {
    need(L, r, 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)r->p[i] << (8 * i);
    r->p += 8;
    return v;
}

static void push_value(lua_State *L, reader *r, int depth) {
    if (depth >= WIRE_MAX_DEPTH) luaL_error(L, "value from the host nested too deeply");
    luaL_checkstack(L, 3, "decoding a value");
    need(L, r, 1);
    unsigned char tag = *r->p++;
    switch (tag) {
    case RASTRO_WIRE_NIL: lua_pushnil(L); break;
    case RASTRO_WIRE_FALSE: lua_pushboolean(L, 0); break;
    case RASTRO_WIRE_TRUE: lua_pushboolean(L, 1); break;
    case RASTRO_WIRE_INTEGER: lua_pushinteger(L, (lua_Integer)get_u64(L, r)); break;
    case RASTRO_WIRE_NUMBER: { uint64_t u = get_u64(L, r); double d; memcpy(&d, &u, 8); lua_pushnumber(L, d); break; }
    case RASTRO_WIRE_STRING: {
        uint32_t n = get_u32(L, r);
        need(L, r, n);
        lua_pushlstring(L, (const char *)r->p, n);
        r->p += n;
        break;
    }
    case RASTRO_WIRE_TABLE: {
        uint32_t narr = get_u32(L, r), nfields = get_u32(L, r);
        lua_createtable(L, narr > 1024 ? 1024 : (int)narr, nfields > 1024 ? 1024 : (int)nfields);
        for (uint32_t i = 1; i <= narr; i++) {
            push_value(L, r, depth + 1);
            lua_rawseti(L, -2, (lua_Integer)i);
        }
        for (uint32_t i = 0; i < nfields; i++) {
            uint32_t kn = get_u32(L, r);
            need(L, r, kn);
            lua_pushlstring(L, (const char *)r->p, kn);
            r->p += kn;
            push_value(L, r, depth + 1);
            lua_rawset(L, -3);
        }
        break;
    }
    default: luaL_error(L, "malformed value from the host (tag %d)", (int)tag);
    }
}

int rastro_wire_push_list(lua_State *L, const char *data, size_t len) {
    if (!data || len == 0) return 0;
    reader r = {(const unsigned char *)data, (const unsigned char *)data + len};
    uint32_t n = get_u32(L, &r);
    if (n > 250) luaL_error(L, "too many values from the host");
    luaL_checkstack(L, (int)n + 2, "values from the host");
    for (uint32_t i = 0; i < n; i++) push_value(L, &r, 0);
    return (int)n;
}
