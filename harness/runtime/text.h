/*
 * harness/runtime/text.h - text from a run made safe to store and show
 * (text.c).  Included by runtime, store and report.
 */
#ifndef MAPLAB_HARNESS_TEXT_H
#define MAPLAB_HARNESS_TEXT_H

#include <stddef.h>

/* Copy src into dst (n bytes, NUL included) as one line of valid UTF-8:
 * control characters become \n, \t or \xNN, bytes that are not UTF-8
 * become \xNN, and a cut never splits a character. */
void text_one_line(char *dst, size_t n, const char *src);
/* The same, keeping newlines and tabs (multi-line text, e.g. stderr). */
void text_clean(char *dst, size_t n, const char *src);

#endif
