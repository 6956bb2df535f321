package waldur

import (
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"
)

// Helpers turning option-struct zero values into the generated builders'
// "parameter absent" nil pointers.

func optUUID(u UUID) *UUID {
	if u == (UUID{}) {
		return nil
	}
	return &u
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func optUUIDs(u UUID) []UUID {
	if u == (UUID{}) {
		return nil
	}
	return []UUID{u}
}

// enums converts field names or states to the generated string type.
func enums[E ~string](ss []string) []E {
	if len(ss) == 0 {
		return nil
	}
	out := make([]E, len(ss))
	for i, s := range ss {
		out[i] = E(s)
	}
	return out
}

// firstOfMonth returns the billing period (a month) that t falls in, as the
// date of its first day.
func firstOfMonth(t time.Time) openapi_types.Date {
	return openapi_types.Date{Time: time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)}
}
