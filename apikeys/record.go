package apikeys

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Binding ties a key to the Waldur objects it was issued for. Any field may be
// uuid.Nil when the key is not bound at that level.
type Binding struct {
	// CustomerUUID is the Waldur customer (organisation) that owns the project.
	CustomerUUID uuid.UUID
	// ProjectUUID is the Waldur project the key belongs to.
	ProjectUUID uuid.UUID
	// OfferingUUID is the marketplace offering the resource was ordered from.
	OfferingUUID uuid.UUID
	// ResourceUUID is the marketplace resource; usage is billed against it.
	ResourceUUID uuid.UUID
}

// RateLimit is a token bucket: PerSecond tokens are added each second up to
// Burst. The zero value means "use the configured default". A negative
// PerSecond means unlimited (see NoRateLimit).
type RateLimit struct {
	// PerSecond is the sustained request rate.
	PerSecond float64
	// Burst is the bucket size; 0 with a positive rate means 1.
	Burst int
}

// NoRateLimit returns a per-key override that disables rate limiting for the
// key even when the Manager has a default limit.
func NoRateLimit() RateLimit { return RateLimit{PerSecond: -1} }

// IsZero reports whether r is the zero value (inherit the default).
func (r RateLimit) IsZero() bool { return r.PerSecond == 0 && r.Burst == 0 }

// Unlimited reports whether r, as the effective limit of a key, lets every
// request through: a negative rate, or the zero value (no default configured).
func (r RateLimit) Unlimited() bool { return r.PerSecond < 0 || r.IsZero() }

// Record is what a Store keeps for one key: never the key itself, only its
// hash, and the metadata needed to verify, list, rotate and bill.
type Record struct {
	// ID is the key's public id (the part after the prefix); the primary key.
	ID string
	// Prefix is the key's type prefix, without the separating underscore.
	Prefix string
	// Hash is SHA-256 of the full key, or HMAC-SHA-256 with the Manager's
	// pepper when one is configured.
	Hash []byte
	// Name is a human label ("CI pipeline").
	Name string
	// ClientID is a free-form public label, e.g. Waldur's resource API key
	// client_id ("<resource_backend_id>-<n>"). Not unique: a key and its
	// successor during rotation share it.
	ClientID string
	// Binding ties the key to Waldur customer, project, offering and resource.
	Binding Binding
	// Scopes the key grants, such as "orders:read".
	Scopes []string
	// Metadata is free-form and opaque to this package.
	Metadata map[string]string
	// RateLimit overrides the Manager's default when non-zero.
	RateLimit RateLimit
	// CreatedAt is when the key was issued.
	CreatedAt time.Time
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
	// RevokedAt is when the key was revoked; zero means not revoked.
	RevokedAt time.Time
	// SuspendedAt is when the key was suspended (Manager.Suspend); zero
	// means not suspended. Unlike revocation it can be undone.
	SuspendedAt time.Time
	// LastUsedAt is when the key was last verified, updated in batches, so it
	// lags by up to the Manager's flush interval.
	LastUsedAt time.Time
	// RotatedFrom is the id of the key this one replaced.
	RotatedFrom string
	// ReplacedBy is the id of the key that replaced this one.
	ReplacedBy string
	// GraceUntil is, for a replaced key, the end of its overlap with its
	// successor; from then on it is revoked by rotation.
	GraceUntil time.Time
}

// Display returns the public form "prefix_id" shown in user interfaces.
func (r *Record) Display() string { return r.Prefix + "_" + r.ID }

// State returns ReasonValid, ReasonExpired, ReasonRevoked or
// ReasonSuspended for the record at the given time. Revocation (including
// the end of a rotation's grace period) wins over expiry, and expiry over
// suspension.
func (r *Record) State(now time.Time) Reason {
	switch {
	case !r.RevokedAt.IsZero() && !now.Before(r.RevokedAt):
		return ReasonRevoked
	case r.ReplacedBy != "" && !now.Before(r.GraceUntil):
		return ReasonRevoked
	case !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt):
		return ReasonExpired
	case !r.SuspendedAt.IsZero() && !now.Before(r.SuspendedAt):
		return ReasonSuspended
	}
	return ReasonValid
}

// clone returns a deep copy, so records handed out never alias store state.
func (r Record) clone() Record {
	r.Hash = slices.Clone(r.Hash)
	r.Scopes = slices.Clone(r.Scopes)
	if r.Metadata != nil {
		m := make(map[string]string, len(r.Metadata))
		for k, v := range r.Metadata {
			m[k] = v
		}
		r.Metadata = m
	}
	return r
}

// Identity is what a successful verification tells a handler about the
// caller. It is shared by all requests that use the same cached key: treat
// its slices and maps as read-only.
type Identity struct {
	// KeyID is the key's public id.
	KeyID string
	// Display is "prefix_id", safe to log.
	Display string
	// Name is the key's human label.
	Name string
	// ClientID is the key's free-form public label.
	ClientID string
	// Binding names the Waldur customer, project, offering and resource.
	Binding
	// Scopes the key grants.
	Scopes []string
	// Metadata of the key.
	Metadata map[string]string
	// ExpiresAt is when the key stops working; zero means never.
	ExpiresAt time.Time
}

func identityOf(r *Record) Identity {
	return Identity{
		KeyID:     r.ID,
		Display:   r.Display(),
		Name:      r.Name,
		ClientID:  r.ClientID,
		Binding:   r.Binding,
		Scopes:    r.Scopes,
		Metadata:  r.Metadata,
		ExpiresAt: r.ExpiresAt,
	}
}

// HasScopes reports whether the identity grants every one of the required
// scopes (see ScopeGrants).
func (id Identity) HasScopes(required ...string) bool {
	return hasScopes(id.Scopes, required)
}

// ScopeGrants reports whether a granted scope covers a required one: equal
// strings, "*" for everything, or "name:*" for every scope that starts with
// "name:" ("orders:*" grants "orders:read" and "orders:write").
func ScopeGrants(granted, required string) bool {
	if granted == required || granted == "*" {
		return true
	}
	if n := len(granted); n >= 2 && granted[n-2:] == ":*" {
		return strings.HasPrefix(required, granted[:n-1])
	}
	return false
}

func hasScopes(granted, required []string) bool {
outer:
	for _, r := range required {
		for _, g := range granted {
			if ScopeGrants(g, r) {
				continue outer
			}
		}
		return false
	}
	return true
}

// ValidateScope reports whether s is a usable scope: 1 to 100 printable ASCII
// characters without spaces.
func ValidateScope(s string) bool {
	if len(s) == 0 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
