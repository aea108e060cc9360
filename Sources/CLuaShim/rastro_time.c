/*
 * time.parse(text, format, zone) -> "YYYY-MM-DDTHH:MM:SSZ" | nil, message
 *
 * Carriers print local wall times ("26/12/2016 15:22", Brasília time, no zone).
 * Scripts say how to read them and in which zone they are; the host turns them
 * into UTC. Zone rules (IANA names) come from the host through zone_fn, which
 * is a plain C callback: it never sees or re-enters Lua.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "rastro_internal.h"

typedef struct fields {
    int year, month, day, hour, minute, second;
    int pm; /* -1 none, 0 AM, 1 PM */
    int has_offset;
    long offset; /* seconds east of UTC */
    int has_date;
} fields;

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[m - 1];
}

static int read_int(const char **s, const char *end, int min_digits, int max_digits, int *out) {
    int n = 0, v = 0;
    while (*s < end && n < max_digits && isdigit((unsigned char)**s)) {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    if (n < min_digits) return 0;
    *out = v;
    return 1;
}

static const char *const MONTHS[] = {"january", "february", "march", "april", "may", "june", "july",
                                     "august", "september", "october", "november", "december"};
static const char *const WEEKDAYS[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

/* Matches a full English name or its 3-letter abbreviation, case-insensitively. */
static int read_name(const char **s, const char *end, const char *const *names, int count, int *out) {
    for (int i = 0; i < count; i++) {
        size_t full = strlen(names[i]);
        if ((size_t)(end - *s) >= full && strncasecmp(*s, names[i], full) == 0) { *s += full; *out = i; return 1; }
    }
    for (int i = 0; i < count; i++) {
        if (end - *s >= 3 && strncasecmp(*s, names[i], 3) == 0) {
            *s += 3;
            if (*s < end && **s == '.') (*s)++;
            *out = i;
            return 1;
        }
    }
    return 0;
}

/* Z | UTC | GMT | +hh | +hhmm | +hh:mm */
static int read_offset(const char **s, const char *end, long *out) {
    const char *p = *s;
    if (p < end && (*p == 'Z' || *p == 'z')) { *s = p + 1; *out = 0; return 1; }
    if (end - p >= 3 && (strncasecmp(p, "UTC", 3) == 0 || strncasecmp(p, "GMT", 3) == 0)) {
        p += 3;
        if (p == end || (*p != '+' && *p != '-')) { *s = p; *out = 0; return 1; }
    }
    if (p >= end || (*p != '+' && *p != '-')) return 0;
    int sign = *p == '-' ? -1 : 1;
    p++;
    int hh, mm = 0;
    if (!read_int(&p, end, 2, 2, &hh)) return 0;
    if (p < end && *p == ':') p++;
    if (p < end && isdigit((unsigned char)*p) && !read_int(&p, end, 2, 2, &mm)) return 0;
    if (hh > 23 || mm > 59) return 0;
    *out = sign * (hh * 3600L + mm * 60L);
    *s = p;
    return 1;
}

static int skip_fraction(const char **s, const char *end) {
    if (*s < end && (**s == '.' || **s == ',')) {
        (*s)++;
        int n = 0;
        while (*s < end && isdigit((unsigned char)**s)) { (*s)++; n++; }
        return n > 0;
    }
    return 1;
}

static const char *parse_iso(const char *s, const char *end, fields *f) {
    if (!read_int(&s, end, 4, 4, &f->year) || s >= end || *s++ != '-') return "expected YYYY-MM-DD";
    if (!read_int(&s, end, 2, 2, &f->month) || s >= end || *s++ != '-') return "expected YYYY-MM-DD";
    if (!read_int(&s, end, 2, 2, &f->day)) return "expected YYYY-MM-DD";
    f->has_date = 1;
    if (s == end) return NULL;
    if (*s != 'T' && *s != 't' && *s != ' ') return "expected 'T' after the date";
    s++;
    if (!read_int(&s, end, 2, 2, &f->hour) || s >= end || *s++ != ':') return "expected hh:mm";
    if (!read_int(&s, end, 2, 2, &f->minute)) return "expected hh:mm";
    if (s < end && *s == ':') {
        s++;
        if (!read_int(&s, end, 2, 2, &f->second)) return "expected seconds";
        if (!skip_fraction(&s, end)) return "expected digits after the decimal point";
    }
    if (s < end && read_offset(&s, end, &f->offset)) f->has_offset = 1;
    while (s < end && isspace((unsigned char)*s)) s++;
    return s == end ? NULL : "unexpected text after the time";
}

static const char *parse_format(const char *s, const char *end, const char *fmt, fields *f) {
    int dummy;
    for (const char *p = fmt; *p; p++) {
        if (*p == ' ') {
            while (p[1] == ' ') p++;
            if (s >= end || !isspace((unsigned char)*s)) return "expected a space";
            while (s < end && isspace((unsigned char)*s)) s++;
            continue;
        }
        if (*p != '%') {
            if (s >= end || *s != *p) return "text does not match the format";
            s++;
            continue;
        }
        p++;
        switch (*p) {
        case 'Y': if (!read_int(&s, end, 4, 4, &f->year)) return "expected a 4-digit year (%Y)"; f->has_date = 1; break;
        case 'y':
            if (!read_int(&s, end, 2, 2, &f->year)) return "expected a 2-digit year (%y)";
            f->year += f->year < 70 ? 2000 : 1900;
            f->has_date = 1;
            break;
        case 'm': if (!read_int(&s, end, 1, 2, &f->month)) return "expected a month (%m)"; break;
        case 'd': case 'e':
            while (*p == 'e' && s < end && *s == ' ') s++;
            if (!read_int(&s, end, 1, 2, &f->day)) return "expected a day (%d)";
            break;
        case 'H': if (!read_int(&s, end, 1, 2, &f->hour)) return "expected an hour (%H)"; break;
        case 'I': if (!read_int(&s, end, 1, 2, &f->hour)) return "expected an hour (%I)"; if (f->pm < 0) f->pm = -2; break;
        case 'M': if (!read_int(&s, end, 1, 2, &f->minute)) return "expected minutes (%M)"; break;
        case 'S': if (!read_int(&s, end, 1, 2, &f->second)) return "expected seconds (%S)"; break;
        case 'f': if (!read_int(&s, end, 1, 9, &dummy)) return "expected fractional seconds (%f)"; break;
        case 'T':
            if (!read_int(&s, end, 1, 2, &f->hour) || s >= end || *s++ != ':' ||
                !read_int(&s, end, 2, 2, &f->minute) || s >= end || *s++ != ':' ||
                !read_int(&s, end, 2, 2, &f->second)) return "expected hh:mm:ss (%T)";
            break;
        case 'p':
            if (end - s >= 2 && strncasecmp(s, "AM", 2) == 0) { f->pm = 0; s += 2; }
            else if (end - s >= 2 && strncasecmp(s, "PM", 2) == 0) { f->pm = 1; s += 2; }
            else if (end - s >= 4 && strncasecmp(s, "A.M.", 4) == 0) { f->pm = 0; s += 4; }
            else if (end - s >= 4 && strncasecmp(s, "P.M.", 4) == 0) { f->pm = 1; s += 4; }
            else return "expected AM or PM (%p)";
            break;
        case 'b': case 'B': case 'h':
            if (!read_name(&s, end, MONTHS, 12, &f->month)) return "expected a month name (%b)";
            f->month += 1;
            break;
        case 'a': case 'A':
            if (!read_name(&s, end, WEEKDAYS, 7, &dummy)) return "expected a weekday name (%a)";
            break;
        case 'z':
            if (!read_offset(&s, end, &f->offset)) return "expected a UTC offset (%z)";
            f->has_offset = 1;
            break;
        case '%': if (s >= end || *s++ != '%') return "expected '%'"; break;
        default: return "unknown directive in the format";
        }
    }
    while (s < end && isspace((unsigned char)*s)) s++;
    return s == end ? NULL : "unexpected text after the time";
}

static int fixed_zone(const char *zone, long *offset) {
    const char *s = zone, *end = zone + strlen(zone);
    if (strcasecmp(zone, "UTC") == 0 || strcasecmp(zone, "GMT") == 0 || strcmp(zone, "Z") == 0) { *offset = 0; return 1; }
    if (read_offset(&s, end, offset) && s == end) return 1;
    return 0;
}

static int time_parse(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *fmt = luaL_optstring(L, 2, "iso");
    const char *zone = luaL_optstring(L, 3, NULL);
    const char *s = text, *end = text + len;
    while (s < end && isspace((unsigned char)*s)) s++;
    fields f = {1970, 1, 1, 0, 0, 0, -1, 0, 0, 0};
    const char *err = strcmp(fmt, "iso") == 0 ? parse_iso(s, end, &f) : parse_format(s, end, fmt, &f);
    if (!err) {
        if (f.pm == -2) err = "%I needs %p";
        else if (f.pm >= 0) {
            if (f.hour < 1 || f.hour > 12) err = "hour out of range for AM/PM";
            else f.hour = (f.hour % 12) + (f.pm ? 12 : 0);
        }
    }
    if (!err && (f.month < 1 || f.month > 12)) err = "month out of range";
    if (!err && (f.day < 1 || f.day > days_in_month(f.year, f.month))) err = "day out of range";
    if (!err && (f.hour > 23 || f.minute > 59 || f.second > 60)) err = "time out of range";
    if (err) {
        lua_pushnil(L);
        lua_pushfstring(L, "time.parse: cannot read '%s' as '%s': %s", text, fmt, err);
        return 2;
    }
    int64_t local = days_from_civil(f.year, (unsigned)f.month, (unsigned)f.day) * 86400 +
                    f.hour * 3600 + f.minute * 60 + (f.second == 60 ? 59 : f.second);
    long offset = 0;
    if (f.has_offset) offset = f.offset;
    else if (zone && !fixed_zone(zone, &offset)) {
        rastro_vm *vm = rastro_vm_of(L);
        int64_t off = 0;
        if (!vm->zone_fn || vm->zone_fn(vm->host, zone, strlen(zone), local, &off) != 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "time.parse: unknown time zone '%s'", zone);
            return 2;
        }
        offset = (long)off;
    }
    int64_t utc = local - offset;
    int64_t days = utc >= 0 ? utc / 86400 : -((-utc + 86399) / 86400);
    int64_t secs = utc - days * 86400;
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    char out[40];
    snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    lua_pushstring(L, out);
    return 1;
}

void rastro_time_install(lua_State *L, rastro_vm *vm) {
    lua_pushcfunction(L, time_parse);
    rastro_sandbox_publish(L, vm, "time", -1, "parse");
    lua_pop(L, 1);
}
