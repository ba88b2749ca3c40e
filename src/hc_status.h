/*
 * hc_status.h — the status engine: a person's colour as a function of
 * evidence, region policy and time. Pure C, no PostgreSQL header, so the
 * rules are unit-tested and fuzzed on their own (test/unit, test/fuzz).
 *
 * The engine turns one person's evidence (events) and the policy versions
 * that govern the person's region into a timeline: consecutive segments
 * [from, until) from a given instant to +infinity, each with a colour, the
 * "vaccinated" mark and the reasons (the events that decide the colour).
 * The timeline is exact for every later instant as long as the evidence
 * does not change, so the database stores it once and any read time gets
 * the right colour without a background job.
 *
 * Times are microseconds since 2000-01-01 00:00 UTC (PostgreSQL's
 * TimestampTz), INT64_MIN/INT64_MAX standing for -/+infinity. Calendar days
 * are China Standard Time days (UTC+8, no daylight saving since 1991).
 *
 * Rules (every number comes from the policy in force at the instant judged):
 *   windowed triggers: active from the event for lookback_days, or until
 *   released earlier (see below) —
 *     stay in a high-risk area ........................ red
 *     close contact of a case ......................... red
 *     stay in a medium-risk area ...................... yellow
 *     secondary contact ............................... yellow
 *     contact with a case declared by the person ...... yellow
 *     audit finding (declaration contradicted) ........ yellow
 *   open-ended triggers: active from the event until released —
 *     positive test (sampled at) ...................... red
 *     declared symptoms, a temperature at or above
 *     fever_tenths, an abnormal check-in .............. yellow (if symptoms_yellow)
 *   a purchase of fever, cough, antiviral or antibiotic medicine
 *     ................ yellow until a negative test sampled after it
 *                      (if medicine_purchase_yellow; off by default)
 *   required periodic test overdue (periodic_testing): yellow from the end
 *     of the last negative test's validity (or of the grace period after
 *     registration) until the next negative test.
 *   release of a red trigger: quarantine_days_red consecutive normal daily
 *     check-ins on or after its day, and red_release_negative_tests
 *     negative tests sampled after it, each at least 24 h after the one
 *     before; released at the later of the two.
 *   release of a yellow trigger: quarantine_days_yellow consecutive normal
 *     daily check-ins on or after its day, or (if
 *     two_negatives_release_yellow) two negative tests after it taken at
 *     least 24 h and at most 72 h apart (calendar mode: on different days
 *     at most two days apart); released at the earlier of the two.
 *   red pushed by another region: red over [at, until) as that region
 *     says (its own release ends it there); only a manual release here
 *     ends it sooner.
 *   manual release (medical release, appeal upheld) at T: ends every
 *     trigger that started before T (not the periodic-test requirement).
 *   manual override: colour C over [at, until), whatever the triggers say;
 *     of overlapping overrides the one starting later wins.
 *   the colour of an instant is the override's, else the highest colour of
 *   the active triggers, else green; the reasons are the override, else the
 *   active triggers of that colour (one per rule and place: the latest).
 *   retention: evidence of a kind that expires (every kind but overrides,
 *     releases, doses, pushed reds and the registration) counts at an
 *     instant only within the evidence_kept_days of the national version
 *     in force then (regional versions cannot change it): a trigger ends
 *     that many days after its event at the latest, and a negative test
 *     no longer stands for the last test (periodic testing falls back on
 *     the registration). So evidence older than that, once deleted, was
 *     already changing nothing: retention never changes a colour.
 *   vaccinated: at least vaccinated_min_doses distinct doses given.
 *   a negative test counts for negative_test_valid_hours; in calendar mode
 *   through the end of the day that many whole days after sampling.
 */
#ifndef HC_STATUS_H
#define HC_STATUS_H

#include "hc_core.h"

#define HC_TIME_NEG_INF   INT64_MIN
#define HC_TIME_POS_INF   INT64_MAX
/* Finite times lie within +/- this (about 146,000 years around 2000), so
 * that the difference of any two never overflows. */
#define HC_TIME_LIMIT     (INT64_C(1) << 62)
#define HC_USECS_PER_SEC  INT64_C(1000000)
#define HC_USECS_PER_HOUR (INT64_C(3600) * HC_USECS_PER_SEC)
#define HC_USECS_PER_DAY  (INT64_C(24) * HC_USECS_PER_HOUR)
/* China Standard Time: the offset of every calendar-day computation. */
#define HC_LOCAL_OFFSET   (INT64_C(8) * HC_USECS_PER_HOUR)

/* Evidence, one event each. The numbers are stored in packed inputs (a
 * kind's byte): never renumber one. What each kind does is in the table
 * of kinds below (hc_event_kind_get). */
typedef enum hc_event_kind
{
	HC_EV_STAY_HIGH = 1,		/* at: stay; place */
	HC_EV_STAY_MEDIUM,			/* at: stay; place */
	HC_EV_CLOSE_CONTACT,		/* at: exposure */
	HC_EV_SECONDARY_CONTACT,	/* at: exposure */
	HC_EV_DECLARED_CONTACT,		/* at: declaration */
	HC_EV_POSITIVE_TEST,		/* at: sampled */
	HC_EV_NEGATIVE_TEST,		/* at: sampled */
	HC_EV_SYMPTOMS,				/* at: declaration with symptoms */
	HC_EV_TEMPERATURE,			/* at: measured; value: tenths of a degree C */
	HC_EV_CHECKIN,				/* at: check-in; value: temperature tenths or 0 */
	HC_EV_CHECKIN_SYMPTOMS,		/* at: check-in reporting symptoms */
	HC_EV_FINDING,				/* at: audit finding (open or confirmed) */
	HC_EV_OVERRIDE,				/* [at, until): colour value (0..2) */
	HC_EV_RELEASE,				/* at: medical release or appeal upheld */
	HC_EV_VACCINATION,			/* at: dose given; value: dose number */
	HC_EV_PUSHED_RED,			/* [at, until): red decided by another region */
	HC_EV_REGISTERED,			/* at: the person was registered */
	HC_EV_MEDICINE_PURCHASE,	/* at: bought; value: the medicine
								 * (hc_medicine); place: the pharmacy's */
	HC_EV_PUSHED_YELLOW,		/* [at, until): yellow another region's
								 * system shares (healthcode_peer) */
	HC_EV_KIND_MAX = HC_EV_PUSHED_YELLOW
} hc_event_kind;

typedef struct hc_event
{
	int32_t		kind;			/* hc_event_kind */
	int32_t		value;
	int64_t		place;			/* place code (hc_place_parse) or -1 */
	int64_t		at;
	int64_t		until;			/* overrides only */
	int64_t		ref;			/* the source row's id, carried to the reasons */
} hc_event;

/* Why a segment has its colour; each names the event that decided it. */
typedef enum hc_rule
{
	HC_RULE_STAY_HIGH = 1,
	HC_RULE_STAY_MEDIUM,
	HC_RULE_CLOSE_CONTACT,
	HC_RULE_SECONDARY_CONTACT,
	HC_RULE_DECLARED_CONTACT,
	HC_RULE_POSITIVE_TEST,
	HC_RULE_PUSHED_RED,
	HC_RULE_SYMPTOMS,
	HC_RULE_FEVER,
	HC_RULE_ABNORMAL_CHECKIN,
	HC_RULE_AUDIT_FINDING,
	HC_RULE_TEST_OVERDUE,
	HC_RULE_OVERRIDE,
	HC_RULE_MEDICINE_PURCHASE,
	HC_RULE_PUSHED_YELLOW,
	HC_RULE_MAX = HC_RULE_PUSHED_YELLOW
} hc_rule;

/*
 * What an evidence kind does to the colour: the class of rule it follows.
 * The engine dispatches on the class; a kind of a trigger class (the
 * first five, HC_CLASS_TRIGGER to HC_CLASS_PUSHED) needs no code of its
 * own, only its row in the table of kinds.
 */
typedef enum hc_kind_class
{
	HC_CLASS_TRIGGER = 1,		/* its colour from at, for lookback_days if
								 * windowed (else open-ended), until released */
	HC_CLASS_SYMPTOM,			/* a trigger where the policy's symptoms_yellow */
	HC_CLASS_FEVER,				/* a symptom when value >= fever_tenths */
	HC_CLASS_CHECKIN,			/* a daily check-in: counts towards releases;
								 * a symptom when abnormal */
	HC_CLASS_PUSHED,			/* its colour over [at, until) as another region
								 * says; only a manual release ends it sooner */
	HC_CLASS_OVERRIDE,			/* the colour in value over [at, until), whatever
								 * the triggers say; its place is its order of
								 * recording (the later recorded of two starting
								 * at once wins) */
	HC_CLASS_RELEASE,			/* ends every trigger that started before it */
	HC_CLASS_NEGATIVE_TEST,		/* releases triggers; the periodic-test
								 * requirement counts from it */
	HC_CLASS_VACCINATION,		/* a dose: the vaccinated mark */
	HC_CLASS_REGISTERED,		/* the periodic-test requirement's grace period
								 * counts from it */
	HC_CLASS_PURCHASE			/* a trigger where the policy's
								 * medicine_purchase_yellow, released by one
								 * negative test sampled after it */
} hc_kind_class;

/* What an event's value holds, by its kind (checked on input). */
typedef enum hc_kind_value
{
	HC_VALUE_NONE = 0,			/* nothing (ignored) */
	HC_VALUE_TENTHS,			/* a temperature in tenths of a degree C, 0-1000;
								 * 0: none taken */
	HC_VALUE_COLOUR,			/* an hc_colour, 0-2 */
	HC_VALUE_DOSE,				/* a dose number, 1-10 */
	HC_VALUE_MEDICINE			/* an hc_medicine, 1-4 */
} hc_kind_value;

/* The medicines pharmacies register (药品登记), as a purchase's value. */
typedef enum hc_medicine
{
	HC_MEDICINE_ANTIPYRETIC = 1,	/* fever (退烧药) */
	HC_MEDICINE_COUGH,			/* cough (止咳药) */
	HC_MEDICINE_ANTIVIRAL,		/* antiviral (抗病毒药) */
	HC_MEDICINE_ANTIBIOTIC,		/* antibiotic (抗生素) */
	HC_MEDICINE_MAX = HC_MEDICINE_ANTIBIOTIC
} hc_medicine;

/* The colour of a kind that triggers none of its own. */
#define HC_COLOUR_NONE (-1)

/* One evidence kind: a row of the table of kinds. */
typedef struct hc_event_kind_info
{
	hc_event_kind kind;
	const char *name;			/* its SQL name: the kind column of _evidence */
	hc_kind_class kind_class;
	int8_t		colour;			/* the hc_colour it triggers, or HC_COLOUR_NONE */
	hc_rule		rule;			/* the rule its reasons report, or 0: none */
	bool		windowed;		/* counts for lookback_days only (see
								 * hc_event_windowed) */
	bool		expires;		/* counts for the national evidence_kept_days
								 * only (see hc_event_expires) */
	hc_kind_value value;
} hc_event_kind_info;

/* The row of a kind; NULL for a number that is no kind. */
const hc_event_kind_info *hc_event_kind_get(int32_t kind);
/* The kind of an SQL name of len bytes (no NUL needed); 0 when unknown. */
hc_event_kind hc_event_kind_from_name(const char *name, size_t len);

/* One version of a region's policy. rank is how specific its region is
 * (0 national, 1 province, 2 city, 3 county): at any instant the most
 * specific version in force wins, then the one starting latest. Every
 * field has its row in hc_policy_fields below. */
typedef struct hc_policy
{
	int32_t		rank;
	int64_t		valid_from;		/* may be -infinity */
	int64_t		valid_until;	/* may be +infinity */
	int32_t		lookback_days;
	int32_t		quarantine_days_red;
	int32_t		quarantine_days_yellow;
	int32_t		red_release_negative_tests;
	int32_t		negative_test_valid_hours;
	int32_t		fever_tenths;
	int32_t		vaccinated_min_doses;
	bool		symptoms_yellow;
	bool		periodic_testing;
	bool		calendar_days;
	bool		two_negatives_release_yellow;
	int32_t		evidence_kept_days;	/* read from national versions only */
	bool		medicine_purchase_yellow;
} hc_policy;

/*
 * The fields of hc_policy, one row each: the table the database reads a
 * policy version by (attribute by attribute, by these names: the SQL
 * composite type engine_policy has one attribute of each name) and that
 * gives each field its default and valid range. Adding a policy field is
 * a member of hc_policy, a row here and an attribute of engine_policy.
 */
typedef enum hc_policy_type
{
	HC_POLICY_INT = 1,			/* int32_t; SQL integer */
	HC_POLICY_TIME,				/* int64_t, the engine's time; SQL timestamptz */
	HC_POLICY_BOOL				/* bool; SQL boolean */
} hc_policy_type;

typedef struct hc_policy_field
{
	const char *name;			/* the member's name and the SQL attribute's */
	size_t		offset;			/* offsetof(hc_policy, member) */
	hc_policy_type type;
	int64_t		dflt;			/* the built-in default (DESIGN.md "Status
								 * rules") */
	int32_t		min;			/* HC_POLICY_INT: the valid range */
	int32_t		max;
} hc_policy_field;

#define HC_POLICY_N_FIELDS 16
extern const hc_policy_field hc_policy_fields[HC_POLICY_N_FIELDS];

/* A field's value, widened to int64_t (a bool as 0 or 1), and setting it;
 * an int field takes the value cut to int32_t's range. */
int64_t		hc_policy_get(const hc_policy *p, const hc_policy_field *f);
void		hc_policy_set(hc_policy *p, const hc_policy_field *f, int64_t v);

/* The built-in defaults, used wherever no version is in force. */
void		hc_policy_default(hc_policy *out);
/* Checks every field's range; false with a detail naming the field. A
 * time is finite and in range, or its default's infinity; valid_from
 * comes before valid_until. */
bool		hc_policy_valid(const hc_policy *p, char *detail, size_t detail_len);

/* A national policy version as the evidence horizon weighs it: when it is
 * in force, and the days it asks for (of window, or of evidence kept). */
typedef struct hc_national_days
{
	int64_t		id;				/* its row: of two starting together, the later wins */
	int64_t		valid_from;		/* may be -infinity */
	int64_t		valid_until;	/* +infinity: open */
	int32_t		days;
} hc_national_days;

/* The most days asked for by a national version in force at some instant
 * from at on: at at itself (when finite) and at every instant after it
 * where a version starts or ends, the version in force there that starts
 * latest; and, for ever after the last of them, the open version that
 * starts latest. fallback where no version is in force at any of them. */
int32_t		hc_national_days_from(const hc_national_days *v, size_t n, int64_t at, int32_t fallback);

typedef struct hc_reason
{
	hc_rule		rule;
	int32_t		event;			/* index into the caller's event array */
} hc_reason;

typedef struct hc_segment
{
	int64_t		from;
	int64_t		until;			/* +infinity for the last segment */
	hc_colour	colour;
	bool		vaccinated;
	int32_t		first_reason;	/* into hc_timeline.reasons */
	int32_t		n_reasons;
} hc_segment;

typedef struct hc_timeline
{
	hc_segment *segments;
	int32_t		n_segments;
	hc_reason  *reasons;
	int32_t		n_reasons;
} hc_timeline;

/* Most events one person may have: far above any real person (a stay
 * record every ten minutes for the longest window), and it bounds the
 * engine's quadratic worst case. */
#define HC_STATUS_MAX_EVENTS 100000
#define HC_STATUS_MAX_POLICIES 1000

/*
 * Computes the timeline from the instant `from` on. Events may come in any
 * order. Returns HC_OK, HC_ERR_ARGUMENT (a malformed event or policy,
 * explained in detail) or HC_ERR_NOMEM. On success the caller frees out
 * with hc_timeline_free.
 */
hc_status	hc_status_compute(const hc_event *events, size_t n_events,
							  const hc_policy *policies, size_t n_policies,
							  int64_t from, hc_timeline *out,
							  char *detail, size_t detail_len);
void		hc_timeline_free(hc_timeline *t);

const char *hc_rule_name(hc_rule r);

/* Writes an ISO 8601 time (…T10:00:00+08:00, microseconds when not
 * zero) into out; "infinity" / "-infinity" for the infinities. */
#define HC_TIME_TEXT_LEN 64
void		hc_format_time(int64_t t, char out[HC_TIME_TEXT_LEN]);

/* A reason's fields as text: what its JSON holds (below), for a writer
 * that builds another representation of the same values. */
typedef struct hc_reason_text
{
	const char *rule;
	const char *colour;
	char		at[HC_TIME_TEXT_LEN];
	char		place[HC_PLACE_MAX_DIGITS + 1];	/* the place code, "" when the event has none */
	int64_t		ref;
	char		text[160];			/* the human sentence */
} hc_reason_text;
void		hc_reason_describe(const hc_reason *r, const hc_event *events, hc_colour colour,
							   hc_reason_text *out);

/*
 * JSON of the timeline (the database builds the same values as jsonb
 * directly, from hc_reason_describe):
 *   current: the reasons of the first segment, a JSON array;
 *   next: the later segments, a JSON array of
 *     {"from": time, "colour": ..., "vaccinated": bool, "reasons": [...]}.
 * A reason is {"rule", "colour", "at", "place" (when known), "ref",
 * "text"}; "text" is the human sentence, e.g. "stayed in 330106 (high
 * risk) on 2022-04-02". Times are ISO 8601 in China Standard Time.
 */
bool		hc_timeline_json(const hc_timeline *t, const hc_event *events,
							 hc_buf *current, hc_buf *next);
/*
 * The engine's inputs as bytes, kept with a stored status so that a change
 * to one kind of evidence (a risk area's level) can recompute people from
 * the rest without reading every evidence table again. Layout, big-endian:
 * "HI", version 2, the count (u32); then per event its kind (u8), value
 * (i32), place, at, until and ref (i64). Events come in a canonical
 * order, so equal inputs are equal bytes. Version 1 (0.2.0, places of six
 * digits only) had the place as an i32 (HC_INPUTS_V1_EVENT_LEN a event);
 * it is still read.
 */
#define HC_INPUTS_VERSION     2
#define HC_INPUTS_HEADER_LEN  7
#define HC_INPUTS_EVENT_LEN   37
#define HC_INPUTS_V1_EVENT_LEN 33
/* Windowed kinds (the table of kinds says which): evidence older than a
 * window's start (the horizon) can no longer change any colour; the SQL
 * that gathers evidence leaves out the same kinds before the horizon, and
 * so does a recomputation from packed inputs. */
bool		hc_event_windowed(int32_t kind);
/* Kinds that count for the national evidence_kept_days only (the table of
 * kinds says which): evidence of them older than that changes no colour. */
bool		hc_event_expires(int32_t kind);
/* Appends the events, packed, to out. HC_ERR_ARGUMENT when there are more
 * than HC_STATUS_MAX_EVENTS. */
hc_status	hc_inputs_pack(const hc_event *events, size_t n_events, hc_buf *out);
/* What a recomputation after a risk-area change keeps of a person's
 * unpacked inputs: every event but the windowed ones before horizon, the
 * expiring ones before kept_from and the stays whose ref is among the
 * re-examined ones (sorted in place here). Writes them to out (room for
 * n_events) and returns how many. */
size_t		hc_inputs_keep(const hc_event *events, size_t n_events, int64_t horizon,
						   int64_t kept_from, int64_t *reexamined, size_t n_reexamined,
						   hc_event *out);
/* Whether any event is one hc_inputs_keep would leave out for its age:
 * windowed before horizon or expiring before kept_from (a check-in: before
 * the calendar day of kept_from, as it counts for releases from triggers
 * of its day); retention deletes by the same rule and looks for the
 * stored inputs that still hold such. */
bool		hc_inputs_hold_expired(const hc_event *events, size_t n_events, int64_t horizon,
								   int64_t kept_from);
/* Unpacks len bytes into a malloc'd array (*events, *n_events; free() it).
 * HC_ERR_LENGTH / HC_ERR_VERSION / HC_ERR_ARGUMENT, explained in detail,
 * for bytes that are not packed inputs; HC_ERR_NOMEM. */
hc_status	hc_inputs_unpack(const uint8_t *data, size_t len, hc_event **events, size_t *n_events,
							 char *detail, size_t detail_len);


/* ---- the risky-stay rule ----------------------------------------------------
 * A stay at place P (a place code: 6, 9 or 12 digits) at instant T is
 * covered by a medium- or high-risk designation in force at T (from <= T,
 * and T < until when it has one) of
 *   P itself, its township (the first 9 digits of a 12-digit code), its
 *   county (the first 6 of a longer code), its city (the first 4 digits and
 *   00) or its province (the first 2 and 0000), for a designation of an
 *   area (no venue); or
 *   the stay's venue, for a designation of a venue (its division is the
 *   venue's place, and must be P).
 * Its level is high when a covering designation is high, medium when only
 * medium ones cover it, none when none does. Anything but a place code is
 * in no area. The designations are packed once into a set (sorted by
 * division, so that a stay is judged by six binary searches); the set's
 * bytes are checked before use, never trusted.
 */
#define HC_DESIGNATION_DIVISION_MAX 12
#define HC_DESIGNATION_VENUE_MAX    20	/* a bigint in decimal */

typedef struct hc_designation
{
	const char *division;		/* a place code */
	size_t		division_len;
	const char *venue;			/* the venue's id in decimal; NULL: an area */
	size_t		venue_len;
	bool		high;			/* else medium */
	int64_t		from;
	bool		has_until;
	int64_t		until;
} hc_designation;

typedef enum hc_stay_level
{
	HC_STAY_NOT_RISKY = -1,
	HC_STAY_MEDIUM = 0,
	HC_STAY_HIGH = 1
} hc_stay_level;

/* Appends the designations, packed as a set, to out. HC_ERR_ARGUMENT (with
 * detail naming the designation) for a division that is not a place code
 * or a venue longer than HC_DESIGNATION_VENUE_MAX. */
hc_status	hc_designations_pack(const hc_designation *d, size_t n, hc_buf *out,
								 char *detail, size_t detail_len);
/* HC_OK when len bytes have a packed set's header and length (a set made
 * otherwise than by hc_designations_pack judges wrongly, never unsafely);
 * else HC_ERR_LENGTH / HC_ERR_VERSION. Constant time. */
hc_status	hc_designations_check(const uint8_t *set, size_t len);
/* The level of a stay (venue NULL: none) by a set (not risky by a set that
 * fails hc_designations_check: check it first to tell). */
hc_stay_level hc_stay_judge(const uint8_t *set, size_t len, const char *place, size_t place_len,
							const char *venue, size_t venue_len, int64_t at);

/* The calendar days (China Standard Time: days since 2000-01-01) of the
 * times, distinct and in order, written to days (room for n); returns how
 * many. Travel is partitioned by these days: a batch asks which of its
 * stays' days lost their partition. */
size_t		hc_stay_days(const int64_t *times, size_t n, int64_t *days);

#endif							/* HC_STATUS_H */
