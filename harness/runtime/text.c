/*
 * harness/runtime/text.c - This file contains the one cleaner of text that
 * comes from a run (log lines, stderr): valid UTF-8, control characters
 * escaped, cut on a character boundary.  It sits in runtime because the
 * context (ictx.c) cleans log lines as they are logged; the store and the
 * report use it too.  No state; safe from any thread.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "harness/runtime/text.h"

/* Length of the valid UTF-8 character at s (1-4), or 0 when invalid. */
static size_t utf8_char(const unsigned char *s)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2
		     : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len && g_utf8_validate((const char *)s, (gssize)len, NULL)
		       ? len : 0;
}

static void clean_utf8(char *dst, size_t n, const char *src, bool lines);

void text_one_line(char *dst, size_t n, const char *src)
{
	clean_utf8(dst, n, src, false);
}

void text_clean(char *dst, size_t n, const char *src)
{
	clean_utf8(dst, n, src, true);
}

/* lines: keep newlines and tabs as they are. */
static void clean_utf8(char *dst, size_t n, const char *src, bool lines)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t o = 0;

	if (!n)
		return;
	while (*p) {
		char esc[8];
		size_t len = utf8_char(p), w;

		if (len == 1 && lines && (*p == '\n' || *p == '\t'))
			w = 1;
		else if (len == 1 && (*p < 0x20 || *p == 0x7f))
			w = (size_t)snprintf(esc, sizeof(esc), *p == '\n' ? "\\n"
					     : *p == '\t' ? "\\t" : "\\x%02x", *p);
		else if (len == 0)
			w = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", *p);
		else
			w = len;
		if (o + w >= n)
			break;
		memcpy(dst + o, len && w == len ? (const char *)p : esc, w);
		o += w;
		p += len ? len : 1;
	}
	dst[o] = '\0';
}
