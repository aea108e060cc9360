/*
 * base64, hex and URL escaping for scripts. Plain C over Lua buffers: these
 * run inside the script's protected call, so raising is fine here.
 */
#include <string.h>
#include "rastro_internal.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64_encode_with(lua_State *L, const char *alphabet, int pad) {
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
        char out[4] = {alphabet[v >> 18], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], alphabet[v & 63]};
        luaL_addlstring(&b, out, 4);
    }
    if (i < n) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0);
        luaL_addchar(&b, alphabet[v >> 18]);
        luaL_addchar(&b, alphabet[(v >> 12) & 63]);
        if (i + 1 < n) luaL_addchar(&b, alphabet[(v >> 6) & 63]);
        else if (pad) luaL_addchar(&b, '=');
        if (pad) luaL_addchar(&b, '=');
    }
    luaL_pushresult(&b);
    return 1;
}

static int b64_encode(lua_State *L) { return b64_encode_with(L, B64, 1); }
static int b64_encode_url(lua_State *L) { return b64_encode_with(L, B64URL, 0); }

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Accepts standard and URL alphabets, padded or not, ignoring whitespace.
 * Returns nil, message on malformed input. */
static int b64_decode(lua_State *L) {
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    unsigned acc = 0;
    int bits = 0;
    size_t pads = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
        if (c == '=') { pads++; continue; }
        int v = b64_value(c);
        if (v < 0 || pads) {
            lua_pushnil(L);
            lua_pushfstring(L, "base64: invalid character at position %d", (int)i + 1);
            return 2;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            luaL_addchar(&b, (char)((acc >> bits) & 0xff));
        }
    }
    if (bits >= 6 || pads > 2) {
        lua_pushnil(L);
        lua_pushliteral(L, "base64: truncated input");
        return 2;
    }
    luaL_pushresult(&b);
    return 1;
}

static int hex_encode(lua_State *L) {
    static const char digits[] = "0123456789abcdef";
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, n * 2);
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[s[i] >> 4];
        out[2 * i + 1] = digits[s[i] & 15];
    }
    luaL_pushresultsize(&b, n * 2);
    return 1;
}

static int hex_digit(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex_decode(lua_State *L) {
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    if (n % 2) {
        lua_pushnil(L);
        lua_pushliteral(L, "hex: odd number of digits");
        return 2;
    }
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, n / 2);
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "hex: invalid digit at position %d", (int)(hi < 0 ? i + 1 : i + 2));
            return 2;
        }
        out[i / 2] = (char)(hi << 4 | lo);
    }
    luaL_pushresultsize(&b, n / 2);
    return 1;
}

/* RFC 3986: everything but unreserved characters is percent-encoded. */
static int url_escape(lua_State *L) {
    static const char digits[] = "0123456789ABCDEF";
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            luaL_addchar(&b, (char)c);
        } else {
            luaL_addchar(&b, '%');
            luaL_addchar(&b, digits[c >> 4]);
            luaL_addchar(&b, digits[c & 15]);
        }
    }
    luaL_pushresult(&b);
    return 1;
}

/* Decodes %XX and, as forms do, '+' as a space. */
static int url_unescape(lua_State *L) {
    size_t n;
    const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n &&
            hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            luaL_addchar(&b, (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2])));
            i += 2;
        } else if (s[i] == '+') {
            luaL_addchar(&b, ' ');
        } else {
            luaL_addchar(&b, (char)s[i]);
        }
    }
    luaL_pushresult(&b);
    return 1;
}

void rastro_codecs_install(lua_State *L, rastro_vm *vm) {
    static const struct { const char *ns, *name; lua_CFunction fn; } fns[] = {
        {"base64", "encode", b64_encode}, {"base64", "encode_url", b64_encode_url}, {"base64", "decode", b64_decode},
        {"hex", "encode", hex_encode}, {"hex", "decode", hex_decode},
        {"url", "escape", url_escape}, {"url", "unescape", url_unescape},
        {NULL, NULL, NULL},
    };
    for (int i = 0; fns[i].ns; i++) {
        lua_pushcfunction(L, fns[i].fn);
        rastro_sandbox_publish(L, vm, fns[i].ns, -1, fns[i].name);
        lua_pop(L, 1);
    }
}
