/*
 * zone_read: a zone file, one record at a time (ldns_rr_new_frm_fp_l), so
 * a zone of any size costs one record's memory here.  $ORIGIN and $TTL are
 * followed; $INCLUDE is refused (the slices would silently miss what it
 * names).  The second pass reads the same file from the top and must see
 * the same file: size, modification time and inode are checked.
 */
#include <sys/stat.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "zone.h"

struct zread {
	FILE		*fp;
	char		*path;
	char		*origin_text;	/* NULL: none given */
	ldns_rdf	*origin, *prev;
	uint32_t	 ttl;
	int		 line;		/* where ldns reads next */
	int		 last;		/* where the last record began */
	struct stat	 st;
};

static int
start(struct zread *z, char *err, size_t errlen)
{
	ldns_rdf_deep_free(z->origin);
	ldns_rdf_deep_free(z->prev);
	z->origin = z->prev = NULL;
	z->ttl = LDNS_DEFAULT_TTL;
	z->line = 1;
	if (z->origin_text != NULL && ldns_str2rdf_dname(&z->origin,
	    z->origin_text) != LDNS_STATUS_OK) {
		snprintf(err, errlen, "bad origin \"%s\"", z->origin_text);
		return -1;
	}
	return 0;
}

struct zread *
zread_open(const char *path, const char *origin, char *err, size_t errlen)
{
	struct zread *z = xcalloc(1, sizeof(*z));

	/* ldns takes and frees buffers of tens of kilobytes for every
	 * record; with glibc's default trimming each one moved the heap's
	 * end (two brk calls a record, 60% of the time of a split).  Keep
	 * what was freed. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	z->path = xstrdup(path);
	if (origin != NULL)
		z->origin_text = xstrdup(origin);
	if ((z->fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		zread_close(z);
		return NULL;
	}
	if (fstat(fileno(z->fp), &z->st) == -1 || start(z, err, errlen) == -1) {
		if (errno != 0 && err[0] == '\0')
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		zread_close(z);
		return NULL;
	}
	return z;
}

int
zread_next(struct zread *z, ldns_rr **rr, char *err, size_t errlen)
{
	ldns_status s;
	int line;

	for (;;) {
		*rr = NULL;
		line = z->line;
		s = ldns_rr_new_frm_fp_l(rr, z->fp, &z->ttl, &z->origin,
		    &z->prev, &z->line);
		switch (s) {
		case LDNS_STATUS_OK:
			z->last = line;
			return 1;
		case LDNS_STATUS_SYNTAX_EMPTY:
		case LDNS_STATUS_SYNTAX_TTL:
		case LDNS_STATUS_SYNTAX_ORIGIN:
			if (feof(z->fp))
				goto end;
			continue;
		case LDNS_STATUS_SYNTAX_INCLUDE:
			snprintf(err, errlen, "%s:%d: $INCLUDE is not supported "
			    "(give the whole zone in one file)", z->path, line);
			return -1;
		default:
			if (feof(z->fp) && s == LDNS_STATUS_SYNTAX_ERR)
				goto end;
			snprintf(err, errlen, "%s:%d: %s", z->path, line,
			    ldns_get_errorstr_by_id(s));
			return -1;
		}
	}
end:
	if (ferror(z->fp)) {
		snprintf(err, errlen, "%s: read error", z->path);
		return -1;
	}
	return 0;
}

int
zread_rewind(struct zread *z, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fileno(z->fp), &st) == -1 || st.st_size != z->st.st_size ||
	    st.st_ino != z->st.st_ino ||
	    st.st_mtim.tv_sec != z->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != z->st.st_mtim.tv_nsec) {
		snprintf(err, errlen, "%s changed while it was read", z->path);
		return -1;
	}
	rewind(z->fp);
	return start(z, err, errlen);
}

unsigned
zread_line(const struct zread *z)
{
	return (unsigned)z->last;
}

void
zread_close(struct zread *z)
{
	if (z == NULL)
		return;
	if (z->fp != NULL)
		fclose(z->fp);
	ldns_rdf_deep_free(z->origin);
	ldns_rdf_deep_free(z->prev);
	free(z->path);
	free(z->origin_text);
	free(z);
}
