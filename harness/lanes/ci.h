/* harness/lanes/ci.h - the `maplab ci` subcommand. */
#ifndef MAPLAB_CI_H
#define MAPLAB_CI_H

#include <stddef.h>

#include <jansson.h>

int ci_main(int argc, char **argv);

/* --variant narrowed (variants, a comma list): into buf, the variants
 * plus the reference variants the expectation rules' time ratios need in
 * the same run, for the incidents selected (all when NULL); says on
 * stderr which it added, and lists them in added (alen bytes).  The ci
 * and tsan lanes both use it and judge none of the added cells. */
void ci_with_refs(const json_t *exp, const char *incidents,
		  const char *variants, char *buf, size_t len, char *added,
		  size_t alen);

/* Record in dir's manifest the variants (refs, a comma list) a lane
 * added only as references ("ci_references"): neither ci nor tsan judges
 * a cell of theirs.  0 or -errno (said on stderr, as `maplab cmd`). */
int ci_mark_references(const char *cmd, const char *dir, const char *refs);

#endif
