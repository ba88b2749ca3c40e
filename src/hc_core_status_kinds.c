/*
 * hc_core_status_kinds.c — the table of evidence kinds: for each kind its
 * SQL name, the class of rule it follows, the colour and rule it
 * triggers, whether it is windowed and what its value holds. The engine,
 * the input checks, the packed inputs and the database's names all read
 * this one table. Pure C: no PostgreSQL header.
 *
 * A kind of a trigger class (HC_CLASS_TRIGGER, or a symptom) needs only
 * its row here, its number in hc_event_kind and its rule in hc_rule; the
 * other classes have code of their own in the engine.
 */
#include "hc_status_internal.h"

#include <string.h>

#define NONE HC_COLOUR_NONE

/* Indexed by kind; row 0 is no kind. */
const hc_event_kind_info hc_event_kinds[HC_EV_KIND_MAX + 1] = {
	/* kind, SQL name, class, colour, rule, windowed, expires, value */
	[HC_EV_STAY_HIGH] = {HC_EV_STAY_HIGH, "stay_high", HC_CLASS_TRIGGER, HC_RED, HC_RULE_STAY_HIGH, true, true, HC_VALUE_NONE},
	[HC_EV_STAY_MEDIUM] = {HC_EV_STAY_MEDIUM, "stay_medium", HC_CLASS_TRIGGER, HC_YELLOW, HC_RULE_STAY_MEDIUM, true, true, HC_VALUE_NONE},
	[HC_EV_CLOSE_CONTACT] = {HC_EV_CLOSE_CONTACT, "close_contact", HC_CLASS_TRIGGER, HC_RED, HC_RULE_CLOSE_CONTACT, true, true, HC_VALUE_NONE},
	[HC_EV_SECONDARY_CONTACT] = {HC_EV_SECONDARY_CONTACT, "secondary_contact", HC_CLASS_TRIGGER, HC_YELLOW, HC_RULE_SECONDARY_CONTACT, true, true, HC_VALUE_NONE},
	[HC_EV_DECLARED_CONTACT] = {HC_EV_DECLARED_CONTACT, "declared_contact", HC_CLASS_TRIGGER, HC_YELLOW, HC_RULE_DECLARED_CONTACT, true, true, HC_VALUE_NONE},
	[HC_EV_POSITIVE_TEST] = {HC_EV_POSITIVE_TEST, "positive_test", HC_CLASS_TRIGGER, HC_RED, HC_RULE_POSITIVE_TEST, false, true, HC_VALUE_NONE},
	/* (periodic testing) yellow once its validity ends, until the next test */
	[HC_EV_NEGATIVE_TEST] = {HC_EV_NEGATIVE_TEST, "negative_test", HC_CLASS_NEGATIVE_TEST, HC_YELLOW, HC_RULE_TEST_OVERDUE, false, true, HC_VALUE_NONE},
	[HC_EV_SYMPTOMS] = {HC_EV_SYMPTOMS, "symptoms", HC_CLASS_SYMPTOM, HC_YELLOW, HC_RULE_SYMPTOMS, false, true, HC_VALUE_NONE},
	[HC_EV_TEMPERATURE] = {HC_EV_TEMPERATURE, "temperature", HC_CLASS_FEVER, HC_YELLOW, HC_RULE_FEVER, false, true, HC_VALUE_TENTHS},
	[HC_EV_CHECKIN] = {HC_EV_CHECKIN, "checkin", HC_CLASS_CHECKIN, HC_YELLOW, HC_RULE_ABNORMAL_CHECKIN, false, true, HC_VALUE_TENTHS},
	/* always abnormal: no temperature is read */
	[HC_EV_CHECKIN_SYMPTOMS] = {HC_EV_CHECKIN_SYMPTOMS, "checkin_symptoms", HC_CLASS_CHECKIN, HC_YELLOW, HC_RULE_ABNORMAL_CHECKIN, false, true, HC_VALUE_NONE},
	[HC_EV_FINDING] = {HC_EV_FINDING, "finding", HC_CLASS_TRIGGER, HC_YELLOW, HC_RULE_AUDIT_FINDING, true, true, HC_VALUE_NONE},
	/* the colour is the event's value */
	[HC_EV_OVERRIDE] = {HC_EV_OVERRIDE, "override", HC_CLASS_OVERRIDE, NONE, HC_RULE_OVERRIDE, false, false, HC_VALUE_COLOUR},
	[HC_EV_RELEASE] = {HC_EV_RELEASE, "release", HC_CLASS_RELEASE, NONE, 0, false, false, HC_VALUE_NONE},
	[HC_EV_VACCINATION] = {HC_EV_VACCINATION, "vaccination", HC_CLASS_VACCINATION, NONE, 0, false, false, HC_VALUE_DOSE},
	[HC_EV_PUSHED_RED] = {HC_EV_PUSHED_RED, "pushed_red", HC_CLASS_PUSHED, HC_RED, HC_RULE_PUSHED_RED, false, false, HC_VALUE_NONE},
	/* (periodic testing) yellow once the grace period ends, until a test */
	[HC_EV_REGISTERED] = {HC_EV_REGISTERED, "registered", HC_CLASS_REGISTERED, HC_YELLOW, HC_RULE_TEST_OVERDUE, false, false, HC_VALUE_NONE},
	/* (药品登记) yellow until a negative test, if the policy says so */
	[HC_EV_MEDICINE_PURCHASE] = {HC_EV_MEDICINE_PURCHASE, "medicine_purchase", HC_CLASS_PURCHASE, HC_YELLOW, HC_RULE_MEDICINE_PURCHASE, true, true, HC_VALUE_MEDICINE},
	/* (mode 1) yellow over the span another region's system shares */
	[HC_EV_PUSHED_YELLOW] = {HC_EV_PUSHED_YELLOW, "pushed_yellow", HC_CLASS_PUSHED, HC_YELLOW, HC_RULE_PUSHED_YELLOW, false, false, HC_VALUE_NONE},
};

#undef NONE

const hc_event_kind_info *
hc_event_kind_get(int32_t kind)
{
	if (kind < HC_EV_STAY_HIGH || kind > HC_EV_KIND_MAX)
		return NULL;
	return &hc_event_kinds[kind];
}

hc_event_kind
hc_event_kind_from_name(const char *name, size_t len)
{
	int			k;

	for (k = HC_EV_STAY_HIGH; k <= HC_EV_KIND_MAX; k++)
		if (strlen(hc_event_kinds[k].name) == len && memcmp(hc_event_kinds[k].name, name, len) == 0)
			return (hc_event_kind) k;
	return 0;
}

bool
hc_event_expires(int32_t kind)
{
	const hc_event_kind_info *k = hc_event_kind_get(kind);

	return k != NULL && k->expires;
}

bool
hc_event_windowed(int32_t kind)
{
	const hc_event_kind_info *k = hc_event_kind_get(kind);

	return k != NULL && k->windowed;
}
