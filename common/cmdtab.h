/*
 * cmdtab: the command language, declared once.  Each command is one entry
 * of cmd_table: its words, its grammar (an array of struct cmd_arg: the
 * positional arguments, the options with their values, the choices), a
 * line of help and an example.  From that one entry come
 *
 *   - the parser (cmdparse.c): a command line becomes a struct cmd, the
 *     command's typed arguments, which dnsrouted executes;
 *   - the formatter, its inverse: export and the replace report print
 *     commands from the same structs;
 *   - usage, help, completion and abbreviation, for dnsrouted and
 *     dnsroutectl alike.
 *
 * Nothing else compares strings against command or option words.  Adding a
 * command is an entry here (and its struct, when it needs new fields) plus
 * a handler in the daemon.
 */
#ifndef CMDTAB_H
#define CMDTAB_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "tokenize.h"

enum cmd_id {
	CMD_BACKEND_ADD, CMD_BACKEND_SET, CMD_BACKEND_DEL, CMD_BACKEND_DRAIN,
	CMD_BACKEND_UNDRAIN, CMD_BACKEND_ENABLE, CMD_BACKEND_DISABLE,
	CMD_BACKEND_READD,
	CMD_POOL_ADD, CMD_POOL_SET, CMD_POOL_DEL,
	CMD_ROUTE_ADD, CMD_ROUTE_SET, CMD_ROUTE_DEL, CMD_ROUTE_MOVE,
	CMD_ROUTE_TEST, CMD_ROUTE_LOOKUP, CMD_ZONE_SPLIT, CMD_ZONE_CHECK,
	CMD_SHOW_ROUTES, CMD_SHOW_BACKENDS, CMD_SHOW_POOLS, CMD_SHOW_STATS,
	CMD_SHOW_SETTINGS, CMD_SHOW_HEALTH, CMD_SHOW_AUDIT, CMD_SHOW_RECENT,
	CMD_SHOW_FLEET, CMD_KEY_ADD, CMD_KEY_SET, CMD_KEY_DEL, CMD_SHOW_KEYS,
	CMD_TRACE, CMD_SET, CMD_EXPORT, CMD_REPLACE, CMD_FLEET_JOIN,
	CMD_FLEET_LEAVE, CMD_HELP,
	CMD_BEGIN, CMD_COMMIT, CMD_ABORT, CMD_QUIT,
	CMD__COUNT
};

#define CMD_F_MUTATES	0x01	/* changes state: audited, transactional */
#define CMD_F_STREAM	0x02	/* streams until done or the client leaves */
#define CMD_F_CTLONLY	0x04	/* run by dnsroutectl itself (quit, zone) */
#define CMD_F_BODY	0x08	/* takes the request's data (ctlproto.h) */
#define CMD_F_IDS	0x10	/* names route ids, which only one store knows */
#define CMD_F_LIVE	0x20	/* acts on the running daemon, not the store;
				   audited all the same */
#define CMD_F_TXN	0x40	/* begin, commit, abort */
#define CMD_F_FLEET	0x80	/* joins or leaves a fleet: this router's own
				   standing, not state; a transaction of its
				   own, never in a replace input */

/*
 * The grammar.  After the command words come the positional arguments in
 * order (A_POS), then options in any order: a keyword with its values
 * (A_OPT, continued by A_MORE for a second or third value), a keyword alone
 * (A_FLAG), or a choice of one word of a word table (A_CHOICE; the word
 * numbered valfor takes the value the next A_MORE describes).  A_INCLUDE
 * splices a shared list (the backend options).  Every value has a kind
 * (what it must be: parsed, checked, completed, formatted by kind) and a
 * place in the command's struct (off, size, store).
 */
enum arg_form { A_END = 0, A_POS, A_OPT, A_MORE, A_CHOICE, A_FLAG, A_INCLUDE };
enum arg_kind {
	K_NONE = 0,
	K_NAME,		/* a new name: 1-63 of letters, digits, . _ - */
	K_BACKEND,	/* an existing backend's name */
	K_POOL,		/* an existing pool's name */
	K_ROUTE,	/* a route id */
	K_INT,		/* an integer in [min, max] */
	K_SECONDS,	/* a duration, a bare number in seconds ("0.5", "200ms") */
	K_MS,		/* a duration, a bare number in milliseconds */
	K_ADDR,		/* ADDR[:PORT], stored normalised (port min by default) */
	K_CLIENT,	/* ADDR[:PORT] of a client, as given */
	K_QNAME,	/* a domain name */
	K_QTYPE,	/* a DNS type */
	K_QFILTER,	/* a type a route filters on (AXFR and IXFR too) */
	K_QCLASS,	/* a DNS class */
	K_RCODE,	/* an rcode, or "any" (-1) */
	K_REGEX,	/* a PCRE2 pattern (checked by the daemon, cmd_checks) */
	K_TEXT,		/* any text */
	K_WORD,		/* a word of a word table */
	K_WORDSET,	/* words of a word table, "a,b": bits (1 << value) */
	K_SETTING,	/* a setting's name */
	K_COMMAND,	/* command words (help) */
	K_PATH,		/* a file's name (zone) */
	K_KEY,		/* a TSIG key's name: a domain name, stored lowercase
			   with its final dot */
	K_SECRET	/* a TSIG secret: base64 of 1 to CONF_SECRET_MAX
			   octets; never printed back (cmd_format: "-") */
};
/* Where a value goes: a pointer to the word, a copy, a number, a vector
 * of pointers and its count, or (ARG_F_REST) the words left in place. */
enum arg_store { S_NONE = 0, S_PTR, S_STR, S_INT, S_I64, S_PTRV, S_WORDS };

#define ARG_F_OPT	0x01	/* a positional or A_MORE value may be left out */
#define ARG_F_REQ	0x02	/* an option or choice must be given */
#define ARG_F_REPEAT	0x04	/* an option may repeat: values into a vector */
#define ARG_F_DASH	0x08	/* "-" is a value: none (count 0, qtype 0) */
#define ARG_F_REST	0x10	/* a positional that takes every word left */

struct words;
struct cmd;

struct cmd_arg {
	unsigned char		 form, kind, store, flags;
	const char		*key;	/* option keyword */
	const char		*meta;	/* how usage shows the value: "NAME" */
	const struct words	*words;	/* K_WORD, K_WORDSET and A_CHOICE */
	const char		*alt;	/* a literal word taken as well: "all" */
	int			 min, max;	/* K_INT range; K_ADDR port */
	int			 def;	/* an int's default */
	const char		*defs;	/* a string's default */
	int			 valfor;	/* A_CHOICE: the word with a value */
	size_t			 off, size;	/* where the value goes */
	size_t			 off2;	/* S_PTRV: where its count goes */
	const struct cmd_arg	*sub;	/* A_INCLUDE */
};

struct cmd_spec {
	enum cmd_id		 id;
	const char		*words;		/* "backend add" */
	const struct cmd_arg	*args;		/* NULL: none */
	const char		*help;		/* one line */
	const char		*example;
	unsigned		 flags;
	/* What the grammar cannot say (set: the value fits the setting). */
	int			(*check)(struct cmd *, char *err, size_t errlen);
};

extern const struct cmd_spec cmd_table[];
extern const size_t cmd_table_len;

/* ---- the typed arguments ---- */

struct cmd_backend {		/* backend add, backend set */
	const char		*name;
	const char		*pools[CONF_POOLS_MAX];
	int			 npools;
	struct backend_conf	 conf;
};
struct cmd_name {		/* backend del|drain|...|readd, pool del */
	const char		*name;
};
struct cmd_pool {		/* pool add, pool set */
	const char		*name;
	struct pool_conf	 conf;
};
struct cmd_route {		/* route add, set, del, move */
	int64_t			 id;
	const char		*pattern;
	int			 qtype;		/* 0: any */
	int			 opcode;	/* enum route_opcode */
	int			 tsig;		/* enum route_tsig (UPDATE) */
	int			 action;	/* enum route_action */
	const char		*pool;
	const char		*comment;
	int			 position;	/* add: 0 = the end */
};
struct cmd_route_test {
	const char		*qname;
	int			 qtype;
};
struct cmd_show {		/* show health, audit, recent */
	const char		*name;
	const char		*regex;
	int			 n;
};
struct cmd_trace {
	const char		*regex;
	const char		*client;
	const char		*backend;
	int			 limit;
	int			 seconds;
};
struct cmd_set {
	const char		*key;
	const char		*value;
	char			 canon[256];	/* the value as stored */
};
struct cmd_words {		/* help COMMAND..., route lookup NAME... */
	char *const		*w;		/* into the command's words */
	int			 n;
};
struct cmd_replace {		/* replace, fleet join */
	int			 dry_run;
};
struct cmd_begin {
	int			 batch;		/* stop at the first failure */
};
struct cmd_key {		/* key add, key set, key del */
	char			 name[CONF_KEY_MAX];
	int			 alg;		/* enum tsig_alg */
	const char		*secret;	/* base64 */
};
struct cmd_export {
	int			 secrets;	/* the keys' secrets too */
};
struct cmd_zone {		/* zone split, zone check (dnsroutectl) */
	const char		*file;
	const char		*dir;		/* split */
	const char		*origin;
	int			 assume;	/* split: enum zone_assume */
	int			 query;		/* check */
	int			 rate;		/* check: queries a second */
	int			 timeout_ms;	/* check */
};

union cmd_args {
	struct cmd_backend	 backend;
	struct cmd_name		 name;
	struct cmd_pool		 pool;
	struct cmd_route	 route;
	struct cmd_route_test	 test;
	struct cmd_show		 show;
	struct cmd_trace	 trace;
	struct cmd_set		 set;
	struct cmd_words	 words;
	struct cmd_replace	 replace;
	struct cmd_begin	 begin;
	struct cmd_key		 key;
	struct cmd_export	 export;
	struct cmd_zone		 zone;
};

/* One parsed command.  The string pointers in a point into tok. */
struct cmd {
	const struct cmd_spec	*spec;
	uint64_t		 given;		/* values seen, by grammar index */
	struct tok_line		 tok;
	union cmd_args		 a;
};

/* Values the parser cannot judge alone, judged by the daemon. */
struct cmd_checks {
	int	(*regex)(void *arg, const char *pattern, char *err,
		    size_t errlen);
	void	*arg;
};

/* ---- looking up, parsing, formatting (cmdparse.c) ---- */

/* Find the command argv starts with, allowing a unique abbreviation of
 * each word ("sh ro" for "show routes").  Sets *nwords to how many words
 * were command words.  NULL with a message in err when none or several
 * match. */
const struct cmd_spec *cmd_lookup(int argc, char *const argv[], int *nwords,
	    char *err, size_t errlen);
/* The n-th command word of spec into out: 0, or -1 past the last. */
int	cmd_word(const struct cmd_spec *, int n, char *out, size_t outlen);
int	cmd_nwords(const struct cmd_spec *);
/* Does argv[0..n) abbreviate the first n command words of spec? */
int	cmd_abbreviates(const struct cmd_spec *, int n, char *const argv[]);
const struct cmd_spec *cmd_spec_of(enum cmd_id);

/* Parse a command line into c: 0; 1 for a line with no command (blank or
 * a comment; c is then empty); -1 with the error in err: one line saying
 * what is wrong and, for a mistake of grammar, the usage on the lines
 * after it.  *code is set to the reply code that fits (ctlproto.h).  On 0
 * the caller releases c with cmd_free(). */
int	cmd_parse(const char *line, struct cmd *c, const struct cmd_checks *,
	    int *code, char *err, size_t errlen);
void	cmd_free(struct cmd *);
/* An empty command of spec with every default set, for building one. */
void	cmd_init(struct cmd *, enum cmd_id);

#define CMD_ALL		(~(uint64_t)0)
/* The command as a line that parses back to it: the command words, then
 * the values whose grammar index is in mask (CMD_ALL: all of them; an
 * option is printed when its bit is set).  -1 when out is too small. */
int	cmd_format(const struct cmd *, uint64_t mask, char *out, size_t outlen);
/* The same with every secret shown as "(secret)": for the audit, the
 * log and reports, which must never hold one. */
int	cmd_format_safe(const struct cmd *, uint64_t mask, char *out,
	    size_t outlen);
/* Does a command of spec take a secret (key add, key set)? */
int	cmd_has_secret(const struct cmd_spec *);
/* The grammar index of option key of spec, as a bit (0 when none). */
uint64_t cmd_bit(const struct cmd_spec *, const char *key);
/* Copy into dst the values of src whose bits are in mask (backend set). */
void	cmd_merge(const struct cmd_spec *, void *dst, const void *src,
	    uint64_t mask);
/* The bits of the values in which a and b differ (one option: all its
 * values' bits). */
uint64_t cmd_diff(const struct cmd_spec *, const void *a, const void *b);

/* The backend options' and the pool options' defaults (one place: the
 * grammar). */
void	backend_conf_defaults(struct backend_conf *);
void	pool_conf_defaults(struct pool_conf *);

/* ---- usage, help, completion (cmdhelp.c) ---- */

/* The usage of spec: lines of at most about 80 columns, joined by '\n',
 * continuation lines indented under the first argument and by indent
 * more (the length of a prefix such as "usage: " on the first). */
void	cmd_usage(const struct cmd_spec *, int indent, char *out,
	    size_t outlen);
/* help [WORDS...]: every line of the answer to emit().  0, or -1 with
 * err for words that name no command. */
int	cmd_help_lines(int argc, char *const argv[],
	    void (*emit)(void *, const char *line), void *arg, char *err,
	    size_t errlen);
/* Completion: every word that may stand after the nprior words of argv,
 * beginning with prefix, to add().  Names of backends, pools and routes
 * come from names(show_cmd), a NULL-terminated list of the first column of
 * that command's rows ("show pools"). */
void	cmd_complete(int nprior, char *const argv[], const char *prefix,
	    void (*add)(void *, const char *word),
	    const char *const *(*names)(void *, const char *show_cmd),
	    void *arg);

#endif
