package apikeys

import (
	"errors"
	"time"
)

// Reason is the outcome of a verification.
type Reason uint8

// Verification outcomes. Only ReasonValid lets a request through.
const (
	// ReasonValid: the key is authentic, live, in budget and has the scopes.
	ReasonValid Reason = iota
	// ReasonMalformed: not a key of this Manager's format (grammar, checksum
	// or type prefix).
	ReasonMalformed
	// ReasonNotFound: no such key, or the secret does not match its record.
	ReasonNotFound
	// ReasonExpired: the key's expiry has passed.
	ReasonExpired
	// ReasonRevoked: the key was revoked, or replaced by rotation and its
	// grace period has ended.
	ReasonRevoked
	// ReasonRateLimited: the key is valid but over its rate limit.
	ReasonRateLimited
	// ReasonScopeMissing: the key is valid but lacks a required scope.
	ReasonScopeMissing
	// ReasonSuspended: the key is suspended (Manager.Suspend) until resumed.
	ReasonSuspended
)

// String returns a short snake_case name, stable for logs and metrics.
func (r Reason) String() string {
	switch r {
	case ReasonValid:
		return "valid"
	case ReasonMalformed:
		return "malformed"
	case ReasonNotFound:
		return "not_found"
	case ReasonExpired:
		return "expired"
	case ReasonRevoked:
		return "revoked"
	case ReasonRateLimited:
		return "rate_limited"
	case ReasonScopeMissing:
		return "scope_missing"
	case ReasonSuspended:
		return "suspended"
	}
	return "unknown"
}

// Sentinel errors a caller can branch on with errors.Is. ErrMalformed and
// ErrChecksum are defined with the key format.
var (
	// ErrNotFound: no record for the key (or the secret does not match it).
	ErrNotFound = errors.New("apikeys: key not found")
	// ErrExpired: the key has expired.
	ErrExpired = errors.New("apikeys: key expired")
	// ErrRevoked: the key was revoked (directly or by rotation).
	ErrRevoked = errors.New("apikeys: key revoked")
	// ErrRateLimited: the key is over its rate limit.
	ErrRateLimited = errors.New("apikeys: rate limit exceeded")
	// ErrScopeMissing: the key lacks a required scope.
	ErrScopeMissing = errors.New("apikeys: required scope missing")
	// ErrSuspended: the key is suspended until it is resumed.
	ErrSuspended = errors.New("apikeys: key suspended")
	// ErrRotated: the key was already replaced by rotation; rotate its
	// successor instead.
	ErrRotated = errors.New("apikeys: key already rotated")
	// ErrDuplicate: a store already holds a record with this id.
	ErrDuplicate = errors.New("apikeys: duplicate key id")
	// ErrExpiryRequired: issuing without an expiry while the Manager does
	// not allow keys that never expire.
	ErrExpiryRequired = errors.New("apikeys: expiry required")
)

// Result is the outcome of Manager.Verify.
type Result struct {
	// Reason says whether the key is valid and, if not, why.
	Reason Reason
	// Identity describes the key. It is set only when the key was proven
	// authentic: for ReasonValid, ReasonExpired, ReasonRevoked,
	// ReasonSuspended, ReasonRateLimited and ReasonScopeMissing. Never show it to a client
	// whose key was rejected.
	Identity Identity
	// RetryAfter, for ReasonRateLimited, is how long until a request would be
	// allowed.
	RetryAfter time.Duration
}

// Valid reports whether the request may proceed.
func (r Result) Valid() bool { return r.Reason == ReasonValid }

// Err returns nil for a valid result and otherwise the sentinel error for
// its reason (ErrMalformed, ErrNotFound, ErrExpired, ErrRevoked,
// ErrSuspended, ErrRateLimited, ErrScopeMissing).
func (r Result) Err() error { return r.Reason.Err() }

// Err returns the sentinel error for r, or nil for ReasonValid.
func (r Reason) Err() error {
	switch r {
	case ReasonValid:
		return nil
	case ReasonMalformed:
		return ErrMalformed
	case ReasonNotFound:
		return ErrNotFound
	case ReasonExpired:
		return ErrExpired
	case ReasonRevoked:
		return ErrRevoked
	case ReasonRateLimited:
		return ErrRateLimited
	case ReasonScopeMissing:
		return ErrScopeMissing
	case ReasonSuspended:
		return ErrSuspended
	}
	return errors.New("apikeys: unknown verification result")
}
