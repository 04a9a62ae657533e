/* readahead.c - see readahead.h */
#include "config.h"
#include "fs/readahead.h"

#include <string.h>

/* A read this far before or after a stream's expected offset still
 * belongs to it: the kernel splits and reorders large reads, and several
 * threads of one reader may overlap slightly. */
#define SLACK ((uint64_t)1 << 20)

void fs_ra_init(struct fs_readahead *ra, uint64_t max)
{
	memset(ra, 0, sizeof(*ra));
	ra->max = max;
}

void fs_ra_reset(struct fs_readahead *ra)
{
	fs_ra_init(ra, ra->max);
}

static struct fs_ra_stream *find(struct fs_readahead *ra, uint64_t off)
{
	for (int i = 0; i < FS_RA_STREAMS; i++) {
		struct fs_ra_stream *s = &ra->s[i];
		uint64_t lo = s->next > SLACK ? s->next - SLACK : 0;

		if (s->last_use && off >= lo && off <= s->next + SLACK + s->window)
			return s;
	}
	return NULL;
}

/* The least recently used slot (an unused one first). */
static struct fs_ra_stream *victim(struct fs_readahead *ra)
{
	struct fs_ra_stream *v = &ra->s[0];

	for (int i = 0; i < FS_RA_STREAMS; i++) {
		if (!ra->s[i].last_use)
			return &ra->s[i];
		if (ra->s[i].last_use < v->last_use)
			v = &ra->s[i];
	}
	return v;
}

static bool issue(struct fs_readahead *ra, struct fs_ra_stream *s,
		  uint64_t *pf_off, uint64_t *pf_len)
{
	uint64_t target = s->next + s->window;

	if (s->ahead < s->next)
		s->ahead = s->next;
	/* Refill only when at least half a window is missing: fewer, larger
	 * fetches. */
	if (target <= s->ahead || target - s->ahead < s->window / 2)
		return false;
	*pf_off = s->ahead;
	*pf_len = target - s->ahead;
	s->ahead = target;
	return true;
}

bool fs_ra_read(struct fs_readahead *ra, uint64_t off, uint64_t len,
		uint64_t *pf_off, uint64_t *pf_len)
{
	struct fs_ra_stream *s;
	uint64_t end = off + len;

	if (ra->max == 0 || len == 0)
		return false;
	ra->tick++;
	s = find(ra, off);
	if (!s) {
		/* A new candidate: prefetch nothing until it proves sequential. */
		s = victim(ra);
		*s = (struct fs_ra_stream){ .next = end, .window = 0, .ahead = end,
					    .last_use = ra->tick };
		return false;
	}
	s->last_use = ra->tick;
	if (s->window == 0) {
		s->window = FS_RA_MIN < ra->max ? FS_RA_MIN : ra->max;
	} else if (end + s->window / 2 >= s->ahead && s->window < ra->max) {
		/* The reader is eating into the window: it is a real stream
		 * and the window was not large enough to stay ahead. */
		s->window *= 2;
		if (s->window > ra->max)
			s->window = ra->max;
	}
	if (end > s->next)
		s->next = end;
	return issue(ra, s, pf_off, pf_len);
}

void fs_ra_hint(struct fs_readahead *ra, uint64_t off)
{
	struct fs_ra_stream *s;

	if (ra->max == 0)
		return;
	ra->tick++;
	s = find(ra, off);
	if (!s)
		s = victim(ra);
	*s = (struct fs_ra_stream){ .next = off, .window = ra->max, .ahead = off,
				    .last_use = ra->tick };
}
