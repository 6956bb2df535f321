package waldur

import (
	"encoding/hex"
	"fmt"

	"github.com/google/uuid"
)

// UUID identifies a Waldur object. Waldur writes UUIDs as 32 lowercase hex
// digits, sometimes hyphenated; compare them as values, never as strings.
type UUID = uuid.UUID

// ParseUUID parses a UUID in Waldur's 32-hex-digit form or the hyphenated
// form, in either case.
func ParseUUID(s string) (UUID, error) {
	if len(s) != 32 && len(s) != 36 {
		return UUID{}, fmt.Errorf("waldur: invalid UUID %q: want 32 hex digits or the hyphenated form", truncate(s, 40))
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return UUID{}, fmt.Errorf("waldur: invalid UUID %q: %w", s, err)
	}
	return u, nil
}

// Hex renders u as 32 lowercase hex digits without hyphens, the form Waldur
// uses in queue names, RabbitMQ vhosts and usernames.
func Hex(u UUID) string {
	return hex.EncodeToString(u[:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
