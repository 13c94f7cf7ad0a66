/*
 * harness/report/report_sources.c - #machines: the input folders of a
 * merged results folder (harness/store/merge.c) and the runs each one ran,
 * with the warnings of the merge as notes.  Read-only over struct report;
 * single-threaded like the rest of the renderer.
 */
#include <stdio.h>
#include <string.h>

#include "harness/report/report_sources.h"
#include "harness/report/report_envelope.h"

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

void rp_sources_notes(struct report *rp)
{
	size_t i;
	json_t *w;

	json_array_foreach(rp_j(rp->manifest, "merge.warnings"), i, w)
		if (json_is_string(w))
			rp_note(rp, "%s", json_string_value(w));
}

/* One source's cells: "host | commit | build | shard | runs". */
struct src_row {
	char cell[6][700];
};

static void source_row(const struct report *rp, json_t *s, size_t idx,
		       struct src_row *r)
{
	const char *commit = rp_jstr(s, "git.commit");
	json_t *sh = json_object_get(s, "shard");
	size_t used = 0, nr = 0;

	snprintf(r->cell[0], sizeof(r->cell[0]), "%s (%s)",
		 rp_jstr(s, "run_id") ? rp_jstr(s, "run_id") : "?",
		 rp_jstr(s, "dir") ? rp_jstr(s, "dir") : "?");
	snprintf(r->cell[1], sizeof(r->cell[1]), "%s; %.0f cores",
		 rp_jstr(s, "machine.host") ? rp_jstr(s, "machine.host") : "?",
		 rp_jnum(s, "machine.cores"));
	snprintf(r->cell[2], sizeof(r->cell[2]), "%.12s%s",
		 commit ? commit : "?",
		 json_is_true(rp_j(s, "git.dirty")) ? " + changes" : "");
	snprintf(r->cell[3], sizeof(r->cell[3]), "%s, %s",
		 rp_jstr(s, "build.type") ? rp_jstr(s, "build.type") : "?",
		 rp_jstr(s, "build.cc") ? rp_jstr(s, "build.cc") : "?");
	if (sh)
		snprintf(r->cell[4], sizeof(r->cell[4]), "%.0f/%.0f",
			 rp_jnum(sh, "index"), rp_jnum(sh, "count"));
	else
		snprintf(r->cell[4], sizeof(r->cell[4]), "—");
	r->cell[5][0] = '\0';
	for (size_t i = 0; i < rp->nruns; i++) {
		const struct rp_run *run = &rp->runs[i];

		if (!run->rec || run->v.source_index != (double)idx)
			continue;
		nr++;
		if (used < sizeof(r->cell[5]) - 8)
			used += (size_t)snprintf(r->cell[5] + used,
						 sizeof(r->cell[5]) - used, "%s%s",
						 used ? ", " : "", run->base);
	}
	if (used >= sizeof(r->cell[5]) - 8)
		strcpy(r->cell[5] + sizeof(r->cell[5]) - 8, " …");
	{
		char head[32];

		snprintf(head, sizeof(head), "%zu: ", nr);
		memmove(r->cell[5] + strlen(head), r->cell[5],
			sizeof(r->cell[5]) - strlen(head) - 1);
		memcpy(r->cell[5], head, strlen(head));
		r->cell[5][sizeof(r->cell[5]) - 1] = '\0';
	}
}

static const char *const shead[6] = {"folder", "machine", "commit", "build",
				      "shard", "runs"};

static void sources_html(const struct report *rp, FILE *f)
{
	json_t *srcs = json_object_get(rp->manifest, "sources"), *s;
	struct src_row r;
	size_t i;

	fputs("<section id=\"machines\">\n<h2>Which machine ran what</h2>\n<p>"
	      "This folder merges the folders below (<code>maplab report DIR1 "
	      "DIR2 …</code>); each run record keeps its folder's manifest "
	      "(<code>source</code>), and the citation hash covers the SHA-256 "
	      "of every input folder (manifest <code>sources</code>).</p>\n"
	      "<table id=\"machines-table\">\n<tr>", f);
	for (size_t j = 0; j < 6; j++)
		fprintf(f, "<th>%s</th>", shead[j]);
	fputs("</tr>\n", f);
	json_array_foreach(srcs, i, s) {
		source_row(rp, s, i, &r);
		fputs("<tr>", f);
		for (size_t j = 0; j < 6; j++) {
			fputs("<td>", f);
			esc(f, r.cell[j]);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n</section>\n", f);
}

static void sources_md(const struct report *rp, FILE *f)
{
	json_t *srcs = json_object_get(rp->manifest, "sources"), *s;
	struct src_row r;
	size_t i;

	fputs("<a id=\"machines\"></a>\n\n## Which machine ran what\n\n|", f);
	for (size_t j = 0; j < 6; j++)
		fprintf(f, " %s |", shead[j]);
	fputs("\n| --- | --- | --- | --- | --- | --- |\n", f);
	json_array_foreach(srcs, i, s) {
		source_row(rp, s, i, &r);
		fputs("|", f);
		for (size_t j = 0; j < 6; j++) {
			fputs(" ", f);
			for (const char *c = r.cell[j]; *c; c++)
				fputs(*c == '|' ? "\\|" : (char[2]){*c, 0}, f);
			fputs(" |", f);
		}
		fputs("\n", f);
	}
	fputs("\n", f);
}

void rp_extra_nav(const struct report *rp, FILE *f)
{
	if (json_is_array(json_object_get(rp->manifest, "sources")))
		fputs("<li><a href=\"#machines\">Which machine ran what</a></li>\n", f);
	if (json_is_object(json_object_get(rp->manifest, "envelope")))
		fputs("<li><a href=\"#envelope\">Capacity envelope</a></li>\n", f);
}

void rp_extra_html(const struct report *rp, FILE *f)
{
	if (json_is_array(json_object_get(rp->manifest, "sources")))
		sources_html(rp, f);
	if (json_is_object(json_object_get(rp->manifest, "envelope")))
		rp_envelope_html(rp, f);
}

void rp_extra_md(const struct report *rp, FILE *f)
{
	if (json_is_array(json_object_get(rp->manifest, "sources")))
		sources_md(rp, f);
	if (json_is_object(json_object_get(rp->manifest, "envelope")))
		rp_envelope_md(rp, f);
}
