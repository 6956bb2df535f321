package apikeys

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Store persists key records. Implementations hold hashes only, must be safe
// for concurrent use, and may truncate times to microseconds. The package
// ships NewMemoryStore and, in apikeys/sqlstore, a database/sql store for
// PostgreSQL and SQLite; apikeys/storetest checks any implementation against
// the contract below.
type Store interface {
	// Create inserts a new record. It returns ErrDuplicate when the id is
	// taken.
	Create(ctx context.Context, rec Record) error
	// Get returns the record with the given id, or ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// List returns the records matching f, oldest first (ties by id).
	List(ctx context.Context, f Filter) ([]Record, error)
	// Revoke marks the record revoked at the given time. Revoking a revoked
	// key succeeds and keeps the first time. Unknown ids give ErrNotFound.
	Revoke(ctx context.Context, id string, at time.Time) error
	// Rotate atomically creates next and marks the record oldID as replaced
	// by next.ID with the given grace deadline. It fails with ErrNotFound,
	// ErrRevoked (old key revoked), ErrRotated (old key already replaced) or
	// ErrDuplicate (next.ID taken), changing nothing.
	Rotate(ctx context.Context, oldID string, next Record, graceUntil time.Time) error
	// TouchLastUsed records last-use times for many keys at once. A time
	// older than the stored one is ignored; unknown ids are skipped.
	TouchLastUsed(ctx context.Context, used map[string]time.Time) error
	// SetSuspended sets the record's SuspendedAt: the key is suspended from
	// that time, or resumed when at is zero. Unknown ids give ErrNotFound.
	SetSuspended(ctx context.Context, id string, at time.Time) error
}

// Filter selects records in Store.List. Zero fields match everything; set
// fields must all match.
type Filter struct {
	// ProjectUUID selects keys of one project.
	ProjectUUID uuid.UUID
	// ResourceUUID selects keys of one marketplace resource.
	ResourceUUID uuid.UUID
	// OfferingUUID selects keys of one offering.
	OfferingUUID uuid.UUID
	// ClientID selects keys carrying this label.
	ClientID string
	// IncludeRevoked also returns revoked keys (left out by default). Keys
	// replaced by rotation are returned either way; see Record.State.
	IncludeRevoked bool
}

// Match reports whether r passes the filter. Store implementations that
// cannot push a filter down may use it.
func (f *Filter) Match(r *Record) bool {
	switch {
	case f.ProjectUUID != uuid.Nil && r.Binding.ProjectUUID != f.ProjectUUID:
	case f.ResourceUUID != uuid.Nil && r.Binding.ResourceUUID != f.ResourceUUID:
	case f.OfferingUUID != uuid.Nil && r.Binding.OfferingUUID != f.OfferingUUID:
	case f.ClientID != "" && r.ClientID != f.ClientID:
	case !f.IncludeRevoked && !r.RevokedAt.IsZero():
	default:
		return true
	}
	return false
}

// MemoryStore is a Store kept in process memory: for tests, examples and
// single-process deployments that can afford to lose keys on restart.
type MemoryStore struct {
	mu   sync.RWMutex
	recs map[string]*Record
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{recs: make(map[string]*Record)}
}

var _ Store = (*MemoryStore)(nil)

// Create implements Store.
func (s *MemoryStore) Create(ctx context.Context, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.recs[rec.ID]; ok {
		return fmt.Errorf("apikeys: create %s: %w", rec.ID, ErrDuplicate)
	}
	c := rec.clone()
	s.recs[rec.ID] = &c
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(ctx context.Context, id string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.recs[id]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r.clone(), nil
}

// List implements Store.
func (s *MemoryStore) List(ctx context.Context, f Filter) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	var out []Record
	for _, r := range s.recs {
		if f.Match(r) {
			out = append(out, r.clone())
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b Record) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Revoke implements Store.
func (s *MemoryStore) Revoke(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return ErrNotFound
	}
	if r.RevokedAt.IsZero() {
		r.RevokedAt = at
	}
	return nil
}

// Rotate implements Store.
func (s *MemoryStore) Rotate(ctx context.Context, oldID string, next Record, graceUntil time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.recs[oldID]
	switch {
	case !ok:
		return ErrNotFound
	case !old.RevokedAt.IsZero():
		return ErrRevoked
	case old.ReplacedBy != "":
		return ErrRotated
	}
	if _, ok := s.recs[next.ID]; ok {
		return fmt.Errorf("apikeys: rotate %s: %w", oldID, ErrDuplicate)
	}
	c := next.clone()
	s.recs[next.ID] = &c
	old.ReplacedBy = next.ID
	old.GraceUntil = graceUntil
	return nil
}

// TouchLastUsed implements Store.
func (s *MemoryStore) TouchLastUsed(ctx context.Context, used map[string]time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range used {
		if r, ok := s.recs[id]; ok && t.After(r.LastUsedAt) {
			r.LastUsedAt = t
		}
	}
	return nil
}

// SetSuspended implements Store.
func (s *MemoryStore) SetSuspended(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok {
		return ErrNotFound
	}
	r.SuspendedAt = at
	return nil
}
