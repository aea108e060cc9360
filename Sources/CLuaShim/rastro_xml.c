/*
 * The tree behind xml.parse, built in C with libexpat.
 *
 * Building the node tables from Lua callbacks (lua-expat) was most of an XML
 * carrier's parse time. Here expat's callbacks never touch Lua: they record
 * elements, attributes and text in a flat arena, and only once expat is done
 * (and freed) are the arena's nodes turned into tables. So no Lua error ever
 * unwinds through expat, and a raise while the tables are made (memory cap,
 * deadline) finds the arena in a to-be-closed box that frees it.
 *
 * Memory: expat and the arena allocate through the state's own allocator, so
 * they count against its memory cap like any table (expat's newer releases
 * cap their own allocations; 2.5 does not), and a parse that leaked would
 * show in the state's count. When an allocation is refused the parse stops,
 * everything is freed, and like Lua itself we collect and try once more
 * before raising the state's own memory error.
 *
 * Work: the count hook cannot interrupt C, so every bound is explicit: the
 * input size, the nesting depth, expat's billion-laughs protection (set here,
 * not left to defaults), no external entity or DTD is ever read (expat does no
 * I/O of its own and no handler asks it to), and the deadline is checked every
 * few thousand callbacks and nodes.
 *
 * The prelude (HostPrelude.swift) reaches this as the globals xml_tree and
 * xml_trim, which sealing removes; scripts see only xml.parse and the nodes'
 * methods.
 */
#define XML_DTD /* expat.h declares the billion-laughs settings only under XML_DTD; Debian's libexpat has them */
#include <expat.h>
#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include "rastro_internal.h"

#if XML_MAJOR_VERSION < 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION < 4)
#error "expat 2.4 or later is needed: its billion-laughs protection is part of the sandbox"
#endif

/* ---- limits, each with its reason ----------------------------------------- */

/* The transport's cap on a response body; a string a script builds gets no more. */
#define XML_MAX_INPUT ((size_t)8 << 20)
/* Far deeper than any carrier's document (the corpus reaches 9); bounds the
 * open-element stack, and a nesting bomb stops with a clear message. */
#define XML_MAX_DEPTH 256
/* Entity expansion may not produce more than this many times the input... */
#define XML_MAX_AMPLIFICATION 10.0f
/* ...once it has produced this much (expat's own default is 100x after 8 MiB;
 * carrier bodies declare no entities, so ours is stricter). */
#define XML_AMPLIFICATION_FROM (1ull << 20)
/* Expat expands an entity that refers to another one by recursing on the C
 * stack, and a long enough chain overflows it (CVE-2024-8176; Debian's 2.5.0
 * at deb12u1 crashes on a 50,000-link chain). The chain can be no longer than
 * the entities declared, so their number is capped. */
#define XML_MAX_ENTITIES 64
/* Callbacks (and nodes built) between two looks at the call's deadline. */
#define XML_DEADLINE_EVERY 4096u

/* Expat's namespace separator: element and attribute names arrive as
 * "uri\1local". \1 cannot occur in an XML 1.0 name or URI. */
#define XML_NS_SEP '\1'

#define NO_NS UINT32_MAX
#define STR_(x) #x
#define STR(x) STR_(x)
static const XML_Char NS_SEPARATOR[] = {XML_NS_SEP, '\0'};

/* ---- the arena ------------------------------------------------------------ */

typedef struct xml_node {
    uint32_t name, name_len; /* local name, in the pool */
    uint32_t ns, ns_len;     /* namespace URI, in the pool; ns_len == NO_NS: none */
    uint32_t attr, attrs;    /* first attribute in the attribute list, and how many */
    uint32_t text, text_len; /* its own character data, untrimmed, in the pool */
    uint32_t children;
    uint32_t depth;          /* 0 for the root */
} xml_node;

typedef struct xml_attr {
    uint32_t name, name_len; /* local name (the namespace is dropped) */
    uint32_t value, value_len;
} xml_attr;

enum xml_failure { XML_FAIL_NONE = 0, XML_FAIL_MEMORY, XML_FAIL_LIMITS, XML_FAIL_DEPTH, XML_FAIL_ENTITIES, XML_FAIL_DEADLINE };

typedef struct xml_tree {
    lua_State *L;       /* for the deadline check only: nothing here raises */
    lua_Alloc alloc;    /* the state's allocator (the memory cap) */
    void *alloc_ud;
    XML_Parser parser;
    xml_node *nodes;    /* document order: a node's parent comes before it */
    size_t nodes_len, nodes_cap;
    xml_attr *attrs;
    size_t attrs_len, attrs_cap;
    char *pool;         /* names, attribute values and finished text */
    size_t pool_len, pool_cap;
    char *text;         /* text of the open elements, innermost last */
    size_t text_len, text_cap;
    uint32_t open[XML_MAX_DEPTH];      /* open elements, outermost first */
    size_t text_from[XML_MAX_DEPTH];   /* where each one's text starts in `text` */
    uint32_t depth;
    uint32_t entities;  /* declared so far */
    uint32_t events;
    enum xml_failure failed;
    XML_Size line, column;             /* where our own refusal happened */
} xml_tree;

static int grow(xml_tree *t, void *pp, size_t *cap, size_t need, size_t elem) {
    void **p = pp;
    if (need <= *cap) return 1;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    /* Offsets are 32-bit; the memory cap is hit long before this, but make sure. */
    if (n > UINT32_MAX / elem) n = UINT32_MAX / elem;
    if (n < need) { t->failed = XML_FAIL_MEMORY; return 0; }
    void *q = t->alloc(t->alloc_ud, *p, *p ? *cap * elem : 0, n * elem);
    if (!q) { t->failed = XML_FAIL_MEMORY; return 0; }
    *p = q;
    *cap = n;
    return 1;
}

/* Copies bytes into the pool; returns their offset, or UINT32_MAX on failure. */
static uint32_t pool_put(xml_tree *t, const char *s, size_t len) {
    if (!grow(t, &t->pool, &t->pool_cap, t->pool_len + len, 1)) return UINT32_MAX;
    uint32_t at = (uint32_t)t->pool_len;
    memcpy(t->pool + at, s, len);
    t->pool_len += len;
    return at;
}

/* Splits expat's "uri\1local" (or "local") into the pool. */
static int put_name(xml_tree *t, const char *qname, uint32_t *name, uint32_t *name_len,
                    uint32_t *ns, uint32_t *ns_len) {
    size_t len = strlen(qname);
    const char *sep = memchr(qname, XML_NS_SEP, len);
    const char *local = sep ? sep + 1 : qname;
    size_t local_len = len - (size_t)(local - qname);
    if ((*name = pool_put(t, local, local_len)) == UINT32_MAX) return 0;
    *name_len = (uint32_t)local_len;
    if (!ns) return 1;
    if (!sep) { *ns = 0; *ns_len = NO_NS; return 1; }
    if ((*ns = pool_put(t, qname, (size_t)(sep - qname))) == UINT32_MAX) return 0;
    *ns_len = (uint32_t)(sep - qname);
    return 1;
}

/* ---- expat's allocations: through the state's allocator -------------------- */

/* Expat's memory functions take no context, so the tree whose allocator they
 * use is named here while expat runs (create, parse, free). A Lua state runs
 * on one thread at a time and expat never calls back into Lua, so the name is
 * always the right one. */
static _Thread_local xml_tree *expat_owner;

/* Expat does not say how big a block it frees; the allocator needs to know. */
typedef union expat_header {
    size_t size;
    max_align_t align;
} expat_header;

static void *expat_malloc(size_t n) {
    xml_tree *t = expat_owner;
    if (n > SIZE_MAX - sizeof(expat_header)) return NULL;
    expat_header *h = t->alloc(t->alloc_ud, NULL, 0, n + sizeof *h);
    if (!h) { t->failed = XML_FAIL_MEMORY; return NULL; }
    h->size = n;
    return h + 1;
}

static void *expat_realloc(void *p, size_t n) {
    if (!p) return expat_malloc(n);
    xml_tree *t = expat_owner;
    if (n > SIZE_MAX - sizeof(expat_header)) return NULL;
    expat_header *h = (expat_header *)p - 1;
    expat_header *q = t->alloc(t->alloc_ud, h, h->size + sizeof *h, n + sizeof *h);
    if (!q) { t->failed = XML_FAIL_MEMORY; return NULL; }
    q->size = n;
    return q + 1;
}

static void expat_free(void *p) {
    if (!p) return;
    xml_tree *t = expat_owner;
    expat_header *h = (expat_header *)p - 1;
    t->alloc(t->alloc_ud, h, h->size + sizeof *h, 0);
}

static const XML_Memory_Handling_Suite EXPAT_MEMORY = {expat_malloc, expat_realloc, expat_free};

/* ---- releasing: on success, on a refusal, and from __close/__gc after a raise */

static void release_block(xml_tree *t, void *pp, size_t *cap, size_t *len, size_t elem) {
    void **p = pp;
    if (*p) t->alloc(t->alloc_ud, *p, *cap * elem, 0);
    *p = NULL;
    *cap = *len = 0;
}

static void release_parser(xml_tree *t) {
    if (!t->parser) return;
    xml_tree *outer = expat_owner;
    expat_owner = t;
    XML_ParserFree(t->parser);
    expat_owner = outer;
    t->parser = NULL;
}

static void tree_release(xml_tree *t) {
    if (!t->alloc) return; /* raised before it held anything */
    release_parser(t);
    release_block(t, &t->nodes, &t->nodes_cap, &t->nodes_len, sizeof *t->nodes);
    release_block(t, &t->attrs, &t->attrs_cap, &t->attrs_len, sizeof *t->attrs);
    release_block(t, &t->pool, &t->pool_cap, &t->pool_len, 1);
    release_block(t, &t->text, &t->text_cap, &t->text_len, 1);
}

static int tree_close(lua_State *L) {
    tree_release(lua_touserdata(L, 1));
    return 0;
}

/* ---- expat's callbacks: record, never raise ------------------------------- */

static void stop(xml_tree *t, enum xml_failure why) {
    if (!t->failed) t->failed = why;
    XML_StopParser(t->parser, XML_FALSE);
}

static int tick(xml_tree *t) {
    if (++t->events % XML_DEADLINE_EVERY == 0 && rastro_deadline_passed(t->L)) {
        stop(t, XML_FAIL_DEADLINE);
        return 0;
    }
    return 1;
}

/* Positions as lua-expat gave them: the line as is, the column counted from 1. */
static void refuse_here(xml_tree *t, enum xml_failure why) {
    t->line = XML_GetCurrentLineNumber(t->parser);
    t->column = XML_GetCurrentColumnNumber(t->parser) + 1;
    stop(t, why);
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_parameter, const XML_Char *value,
                              int value_len, const XML_Char *base, const XML_Char *system_id,
                              const XML_Char *public_id, const XML_Char *notation) {
    xml_tree *t = ud;
    if (!t->failed && ++t->entities > XML_MAX_ENTITIES) refuse_here(t, XML_FAIL_ENTITIES);
}

static void XMLCALL on_start(void *ud, const XML_Char *qname, const XML_Char **atts) {
    xml_tree *t = ud;
    if (t->failed || !tick(t)) return;
    if (t->depth == XML_MAX_DEPTH) {
        refuse_here(t, XML_FAIL_DEPTH);
        return;
    }
    if (!grow(t, &t->nodes, &t->nodes_cap, t->nodes_len + 1, sizeof *t->nodes)) goto oom;
    xml_node node = {0};
    if (!put_name(t, qname, &node.name, &node.name_len, &node.ns, &node.ns_len)) goto oom;
    node.attr = (uint32_t)t->attrs_len;
    for (const XML_Char **a = atts; a[0]; a += 2) {
        if (!grow(t, &t->attrs, &t->attrs_cap, t->attrs_len + 1, sizeof *t->attrs)) goto oom;
        xml_attr at;
        if (!put_name(t, a[0], &at.name, &at.name_len, NULL, NULL)) goto oom;
        size_t vlen = strlen(a[1]);
        if ((at.value = pool_put(t, a[1], vlen)) == UINT32_MAX) goto oom;
        at.value_len = (uint32_t)vlen;
        t->attrs[t->attrs_len++] = at;
        node.attrs++;
    }
    node.depth = t->depth;
    uint32_t index = (uint32_t)t->nodes_len;
    t->nodes[t->nodes_len++] = node;
    if (t->depth > 0) t->nodes[t->open[t->depth - 1]].children++;
    t->open[t->depth] = index;
    t->text_from[t->depth] = t->text_len;
    t->depth++;
    return;
oom:
    stop(t, XML_FAIL_MEMORY);
}

static void XMLCALL on_end(void *ud, const XML_Char *qname) {
    (void)qname;
    xml_tree *t = ud;
    if (t->failed || t->depth == 0) return;
    t->depth--;
    xml_node *node = &t->nodes[t->open[t->depth]];
    size_t from = t->text_from[t->depth];
    size_t len = t->text_len - from;
    if (len > 0) {
        uint32_t at = pool_put(t, t->text + from, len);
        if (at == UINT32_MAX) { stop(t, XML_FAIL_MEMORY); return; }
        node = &t->nodes[t->open[t->depth]];
        node->text = at;
        node->text_len = (uint32_t)len;
    }
    t->text_len = from;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len) {
    xml_tree *t = ud;
    if (t->failed || t->depth == 0 || len <= 0 || !tick(t)) return;
    if (!grow(t, &t->text, &t->text_cap, t->text_len + (size_t)len, 1)) { stop(t, XML_FAIL_MEMORY); return; }
    memcpy(t->text + t->text_len, s, (size_t)len);
    t->text_len += (size_t)len;
}

/* ---- xml_tree(text, node_meta) -> root | nil, message[, line, column] ------ */

static int refuse(lua_State *L, xml_tree *t, const char *msg, XML_Size line, XML_Size column) {
    tree_release(t);
    lua_pushnil(L);
    lua_pushstring(L, msg);
    lua_pushinteger(L, (lua_Integer)line);
    lua_pushinteger(L, (lua_Integer)column);
    return 4;
}

/* Turns the arena into tables: one pass in document order, the open ancestors
 * on the Lua stack (so no C recursion), every table made at its final size. */
static void build(lua_State *L, xml_tree *t, int meta) {
    uint32_t appended[XML_MAX_DEPTH];
    luaL_checkstack(L, XML_MAX_DEPTH + 8, "xml.parse");
    static const char *const KEYS[] = {"name", "ns", "attr", "value"};
    int keys = lua_gettop(L) + 1;
    for (int k = 0; k < 4; k++) lua_pushstring(L, KEYS[k]);
    int base = lua_gettop(L);
    for (size_t i = 0; i < t->nodes_len; i++) {
        const xml_node *n = &t->nodes[i];
        lua_settop(L, base + (int)n->depth); /* the parent is now on top */
        lua_createtable(L, (int)n->children, n->ns_len == NO_NS ? 3 : 4);
        lua_pushvalue(L, keys);
        lua_pushlstring(L, t->pool + n->name, n->name_len);
        lua_rawset(L, -3);
        if (n->ns_len != NO_NS) {
            lua_pushvalue(L, keys + 1);
            lua_pushlstring(L, t->pool + n->ns, n->ns_len);
            lua_rawset(L, -3);
        }
        lua_pushvalue(L, keys + 2);
        lua_createtable(L, 0, (int)n->attrs);
        /* Last to first: of two attributes with one local name (in different
         * namespaces) the first one stays. (Over lua-expat it depended on the
         * order a Lua table happened to iterate in.) */
        for (uint32_t a = n->attr + n->attrs; a-- > n->attr;) {
            const xml_attr *at = &t->attrs[a];
            lua_pushlstring(L, t->pool + at->name, at->name_len);
            lua_pushlstring(L, t->pool + at->value, at->value_len);
            lua_rawset(L, -3);
        }
        lua_rawset(L, -3);
        lua_pushvalue(L, keys + 3);
        lua_pushlstring(L, t->pool + n->text, n->text_len);
        lua_rawset(L, -3);
        lua_pushvalue(L, meta);
        lua_setmetatable(L, -2);
        if (n->depth > 0) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, -3, ++appended[n->depth - 1]);
        }
        appended[n->depth] = 0;
        if ((i + 1) % XML_DEADLINE_EVERY == 0) rastro_check_deadline(L);
    }
    lua_settop(L, base + 1); /* the root */
}

/* Phase one: expat over the whole text into the arena. Returns whether expat
 * accepted the document; t->failed says whether we stopped it. One XML_Parse
 * over all of the text, then the end (like lua-expat): fed in small pieces,
 * expat 2.5 would reparse a large token again for every piece. */
static int run_expat(xml_tree *t, const char *s, size_t len) {
    expat_owner = t;
    t->parser = XML_ParserCreate_MM(NULL, &EXPAT_MEMORY, NS_SEPARATOR);
    int ok = 0;
    if (!t->parser) t->failed = XML_FAIL_MEMORY;
    else if (!XML_SetParamEntityParsing(t->parser, XML_PARAM_ENTITY_PARSING_NEVER)
             || !XML_SetBillionLaughsAttackProtectionMaximumAmplification(t->parser, XML_MAX_AMPLIFICATION)
             || !XML_SetBillionLaughsAttackProtectionActivationThreshold(t->parser, XML_AMPLIFICATION_FROM))
        t->failed = XML_FAIL_LIMITS;
    else {
        XML_SetUserData(t->parser, t);
        XML_SetElementHandler(t->parser, on_start, on_end);
        XML_SetCharacterDataHandler(t->parser, on_text);
        XML_SetEntityDeclHandler(t->parser, on_entity);
        ok = XML_Parse(t->parser, s, (int)len, XML_FALSE) == XML_STATUS_OK
            && XML_Parse(t->parser, NULL, 0, XML_TRUE) == XML_STATUS_OK;
        if (!ok && XML_GetErrorCode(t->parser) == XML_ERROR_NO_MEMORY) t->failed = XML_FAIL_MEMORY;
    }
    expat_owner = NULL;
    return ok;
}

static int xml_tree_fn(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (len > XML_MAX_INPUT) {
        lua_pushnil(L);
        lua_pushfstring(L, "document is larger than %d bytes", (int)XML_MAX_INPUT);
        return 2;
    }

    xml_tree *t = lua_newuserdatauv(L, sizeof *t, 0);
    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, "rastro.xml_tree");
    lua_toclose(L, -1);
    t->L = L;
    t->alloc = lua_getallocf(L, &t->alloc_ud);

    int ok = run_expat(t, s, len);
    if (t->failed == XML_FAIL_MEMORY) {
        /* What Lua does when one of its own allocations is refused: collect
         * (the collector never saw the arena's allocations coming), try once more. */
        tree_release(t);
        memset(t, 0, sizeof *t);
        t->L = L;
        t->alloc = lua_getallocf(L, &t->alloc_ud);
        lua_gc(L, LUA_GCCOLLECT);
        ok = run_expat(t, s, len);
        if (t->failed == XML_FAIL_MEMORY) {
            tree_release(t);
            rastro_raise_memory_error(L);
        }
    }
    switch (t->failed) {
    case XML_FAIL_NONE:
    case XML_FAIL_MEMORY: /* handled above */
        break;
    case XML_FAIL_LIMITS:
        tree_release(t);
        return luaL_error(L, "xml.parse: expat refused its limits");
    case XML_FAIL_DEADLINE:
        tree_release(t);
        rastro_check_deadline(L);
        return luaL_error(L, "xml.parse: past the deadline");
    case XML_FAIL_DEPTH:
        return refuse(L, t, "elements nested deeper than " STR(XML_MAX_DEPTH), t->line, t->column);
    case XML_FAIL_ENTITIES:
        return refuse(L, t, "more than " STR(XML_MAX_ENTITIES) " entities declared", t->line, t->column);
    }
    if (!ok) {
        return refuse(L, t, XML_ErrorString(XML_GetErrorCode(t->parser)),
                      XML_GetCurrentLineNumber(t->parser), XML_GetCurrentColumnNumber(t->parser) + 1);
    }

    /* Expat and the text stack are done: free them before the tables take their place. */
    release_parser(t);
    release_block(t, &t->text, &t->text_cap, &t->text_len, 1);
    if (t->nodes_len == 0) {
        tree_release(t);
        lua_pushnil(L);
        lua_pushliteral(L, "no root element");
        return 2;
    }
    build(L, t, 2);
    tree_release(t);
    return 1;
}

/* xml_trim(s) -> s without leading and trailing whitespace: node:text(). The
 * same as gsub(s, "^%s+", "") then gsub(s, "%s+$", "") (%s is isspace, as
 * here), without two passes of the pattern matcher and two new strings. */
static int xml_trim_fn(lua_State *L) {
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    size_t from = 0, to = len;
    while (from < to && isspace((unsigned char)s[from])) from++;
    while (to > from && isspace((unsigned char)s[to - 1])) to--;
    if (from == 0 && to == len && lua_type(L, 1) == LUA_TSTRING) {
        lua_settop(L, 1);
        return 1;
    }
    lua_pushlstring(L, s + from, to - from);
    return 1;
}

void rastro_xml_install(lua_State *L) {
    luaL_newmetatable(L, "rastro.xml_tree");
    lua_pushcfunction(L, tree_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, tree_close); /* if the state closes with a parse in flight */
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, xml_tree_fn);
    lua_setglobal(L, "xml_tree");
    lua_pushcfunction(L, xml_trim_fn);
    lua_setglobal(L, "xml_trim");
}
