package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// The backend keeps each Waldur resource as a directory, a "space", under a
// root directory:
//
//	<root>/<space id>/space.json         quota, members and state (spaceMeta)
//	<root>/<space id>/users/<username>/  each member's data, for per-user usage
//	<root>/<space id>/...                anything else is shared data
//
// Everything here speaks of directories and siteagent's types only; the agent
// does all talking to Waldur.
const (
	component = "storage" // the offering component: the quota, and the space in use, in GB
	gb        = 1 << 30   // bytes in a GB, as storage systems count them
	metaFile  = "space.json"
	usersDir  = "users"
)

// storage is the processor: one value serves orders, membership, usage and
// resource status (see agentConfig).
type storage struct {
	root       string
	maxQuotaGB int64
	// mu serialises changes to space.json files: the agent runs orders,
	// membership and status work for one resource concurrently.
	mu sync.Mutex
}

// spaceMeta is the content of space.json.
type spaceMeta struct {
	Resource string            `json:"resource"` // the Waldur resource's UUID
	QuotaGB  int64             `json:"quota_gb"`
	Paused   bool              `json:"paused,omitempty"`
	Members  map[string]string `json:"members,omitempty"` // username → kind: user, service_account, course_account
}

func newStorage(root string, maxQuotaGB int64) (*storage, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return &storage{root: root, maxQuotaGB: maxQuotaGB}, nil
}

// agentConfig returns an agent configuration with every processor set; the
// caller adds the Waldur connection.
func (s *storage) agentConfig() siteagent.Config {
	return siteagent.Config{
		Orders: siteagent.OrderTypes{
			Create:    siteagent.OrderProcessorFunc(s.create),
			Update:    siteagent.OrderProcessorFunc(s.update),
			Terminate: siteagent.OrderProcessorFunc(s.terminate),
			Evaluator: siteagent.OrderEvaluatorFunc(s.evaluate),
			Info:      s.ProcessorInfo(),
		},
		Membership:     s,
		Usage:          s,
		ResourceStatus: s,
	}
}

// ProcessorInfo names the processor in Waldur's agent registry.
func (s *storage) ProcessorInfo() siteagent.ProcessorInfo {
	return siteagent.ProcessorInfo{Name: "DirectoryStorage", BackendType: "directory"}
}

// --- orders ----------------------------------------------------------------

// evaluate decides orders waiting for the provider's approval: impossible
// quotas are rejected before anything is provisioned.
func (s *storage) evaluate(_ context.Context, o *siteagent.Order) (siteagent.Decision, error) {
	if err := s.checkQuota(o); err != nil {
		return siteagent.Reject(err.Error()), nil
	}
	return siteagent.Accept(), nil
}

// checkQuota checks the quota a Create or Update order asks for.
func (s *storage) checkQuota(o *siteagent.Order) error {
	if o.Type == waldur.OrderTypeTerminate {
		return nil
	}
	switch q := o.Limits[component]; {
	case q < 1:
		return errors.New("order a storage quota of at least 1 GB")
	case q > s.maxQuotaGB:
		return fmt.Errorf("a space holds at most %d GB, not %d GB", s.maxQuotaGB, q)
	}
	return nil
}

// create makes the space of a Create order. Retries and duplicates happen, so
// it finds the space it made before: by the backend id Waldur has recorded,
// else by the id derived from the resource.
func (s *storage) create(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	// Approved orders are checked again: staff may approve what the
	// evaluator would reject.
	if err := s.checkQuota(o); err != nil {
		return siteagent.Result{}, siteagent.Permanent(err)
	}
	r, err := o.Resource(ctx)
	if err != nil {
		return siteagent.Result{}, err
	}
	id := r.BackendID
	if id == "" {
		id = "space-" + waldur.Hex(o.ResourceUUID)[:12]
	}
	dir, err := s.dir(id)
	if err != nil {
		return siteagent.Result{}, err
	}
	err = s.change(dir, o.ResourceUUID, true, func(m *spaceMeta) error {
		m.QuotaGB = o.Limits[component]
		return os.MkdirAll(filepath.Join(dir, usersDir), 0o755)
	})
	if err != nil {
		return siteagent.Result{}, err
	}
	return siteagent.Result{
		BackendID:       id,
		BackendMetadata: map[string]any{"path": dir},
		Endpoints:       []siteagent.Endpoint{{Name: "Directory", URL: "file://" + dir}},
	}, nil
}

// update applies an Update order's quota, unless the space holds more.
func (s *storage) update(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	if err := s.checkQuota(o); err != nil {
		return siteagent.Result{}, siteagent.Permanent(err)
	}
	r, err := o.Resource(ctx)
	if err != nil {
		return siteagent.Result{}, err
	}
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return siteagent.Result{}, err
	}
	used, _, err := diskUsage(dir)
	if err != nil {
		return siteagent.Result{}, err
	}
	quota := o.Limits[component]
	if used > quota*gb {
		return siteagent.Result{}, siteagent.Permanentf("cannot shrink to %d GB: the space holds %.2f GB", quota, float64(used)/gb)
	}
	return siteagent.Result{}, s.change(dir, o.ResourceUUID, false, func(m *spaceMeta) error {
		m.QuotaGB = quota
		return nil
	})
}

// terminate removes the space of a Terminate order with its data. A space
// that is gone already, or was never made, counts as removed.
func (s *storage) terminate(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	r, err := o.Resource(ctx)
	if err != nil {
		return siteagent.Result{}, err
	}
	if r.BackendID == "" {
		return siteagent.Result{}, nil // the Create order never got as far
	}
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return siteagent.Result{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := load(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return siteagent.Result{}, nil
	case err != nil:
		return siteagent.Result{}, err
	case m.Resource != o.ResourceUUID.String():
		return siteagent.Result{}, siteagent.Permanentf("storage: %s belongs to resource %s", dir, m.Resource)
	}
	if err := os.RemoveAll(dir); err != nil {
		return siteagent.Result{}, fmt.Errorf("storage: %w", err)
	}
	return siteagent.Result{}, nil
}

// --- membership --------------------------------------------------------------

// ListMembers reports who may use the space.
func (s *storage) ListMembers(_ context.Context, r *waldur.Resource) ([]siteagent.Member, error) {
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	m, err := load(dir)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	members := make([]siteagent.Member, 0, len(m.Members))
	for name, kind := range m.Members {
		members = append(members, siteagent.Member{Username: name, Kind: parseKind(kind)})
	}
	return members, nil
}

// AddMembers lets members use the space and gives each a directory. Usernames
// that cannot be directory names are left out, and reported.
func (s *storage) AddMembers(_ context.Context, r *waldur.Resource, members []siteagent.Member) error {
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return err
	}
	var bad []string
	err = s.change(dir, r.UUID, false, func(m *spaceMeta) error {
		for _, mb := range members {
			if !validName(mb.Username) {
				bad = append(bad, mb.Username)
				continue
			}
			if err := os.MkdirAll(filepath.Join(dir, usersDir, mb.Username), 0o755); err != nil {
				return err
			}
			if m.Members == nil {
				m.Members = make(map[string]string)
			}
			m.Members[mb.Username] = mb.Kind.String()
		}
		return nil
	})
	if err == nil && bad != nil {
		err = siteagent.Permanentf("storage: usernames unfit for directory names: %q", bad)
	}
	return err
}

// RemoveMembers takes the space away from members. Their data stays: losing
// access must not lose data.
func (s *storage) RemoveMembers(_ context.Context, r *waldur.Resource, members []siteagent.Member) error {
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return err
	}
	return s.change(dir, r.UUID, false, func(m *spaceMeta) error {
		for _, mb := range members {
			delete(m.Members, mb.Username)
		}
		return nil
	})
}

// --- usage -------------------------------------------------------------------

// ReportUsage reports the space in use now, in total and under each member's
// directory. A directory cannot tell what it held in a past month, so past
// months get no report.
func (s *storage) ReportUsage(_ context.Context, r *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	if !p.Current(time.Now()) {
		return siteagent.Usage{}, nil
	}
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return siteagent.Usage{}, err
	}
	total, byUser, err := diskUsage(dir)
	if err != nil {
		return siteagent.Usage{}, err
	}
	users := make(map[string]float64, len(byUser))
	for name, b := range byUser {
		users[name] = float64(b) / gb
	}
	return siteagent.Usage{
		Totals: map[string]float64{component: float64(total) / gb},
		ByUser: map[string]map[string]float64{component: users},
	}, nil
}

// UsageMayDecrease says that deleting files lowers the usage reported.
func (s *storage) UsageMayDecrease() bool { return true }

// diskUsage sums the sizes of the regular files under dir, in total and under
// each users/<name> directory.
func diskUsage(dir string) (total int64, byUser map[string]int64, err error) {
	byUser = make(map[string]int64)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted while we walk
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		parts := strings.SplitN(filepath.ToSlash(rel), "/", 3)
		user := ""
		if len(parts) > 1 && parts[0] == usersDir {
			user = parts[1]
			byUser[user] += 0 // members with empty directories use 0 GB
		}
		if !d.Type().IsRegular() || rel == metaFile || rel == metaFile+".tmp" {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		total += info.Size()
		if user != "" {
			byUser[user] += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("storage: usage of %s: %w", dir, err)
	}
	return total, byUser, nil
}

// --- resource status ---------------------------------------------------------

// BackendStatus reports the space's state; the agent copies its quota to the
// resource's limits in Waldur when an operator changed it here.
func (s *storage) BackendStatus(_ context.Context, r *waldur.Resource) (siteagent.BackendStatus, error) {
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return siteagent.BackendStatus{}, err
	}
	s.mu.Lock()
	m, err := load(dir)
	s.mu.Unlock()
	if err != nil {
		return siteagent.BackendStatus{}, err
	}
	return siteagent.BackendStatus{
		Paused:   m.Paused,
		Limits:   map[string]int64{component: m.QuotaGB},
		Metadata: map[string]any{"path": dir},
	}, nil
}

// PauseResource marks the space paused when Waldur pauses the resource. A
// real backend would also stop writes, for example by exporting it read-only.
func (s *storage) PauseResource(_ context.Context, r *waldur.Resource) error {
	return s.setPaused(r, true)
}

// RestoreResource ends a pause.
func (s *storage) RestoreResource(_ context.Context, r *waldur.Resource) error {
	return s.setPaused(r, false)
}

func (s *storage) setPaused(r *waldur.Resource, paused bool) error {
	dir, err := s.dir(r.BackendID)
	if err != nil {
		return err
	}
	return s.change(dir, r.UUID, false, func(m *spaceMeta) error {
		m.Paused = paused
		return nil
	})
}

// --- space.json ----------------------------------------------------------------

// dir returns the directory of a space. The backend id comes from Waldur,
// where staff may edit it, so it must be a plain name and not a path.
func (s *storage) dir(backendID string) (string, error) {
	if !validName(backendID) {
		return "", siteagent.Permanentf("storage: backend id %q is not a space name", backendID)
	}
	return filepath.Join(s.root, backendID), nil
}

// change applies fn to the space in dir and saves it. The space must belong
// to the resource; create makes it if it does not exist.
func (s *storage) change(dir string, resource waldur.UUID, create bool, fn func(*spaceMeta) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := load(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		m = spaceMeta{Resource: resource.String()}
	case err != nil:
		return err
	case m.Resource != resource.String():
		return siteagent.Permanentf("storage: %s belongs to resource %s", dir, m.Resource)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := fn(&m); err != nil {
		return fmt.Errorf("storage: %s: %w", dir, err)
	}
	return save(dir, m)
}

func load(dir string) (spaceMeta, error) {
	var m spaceMeta
	b, err := os.ReadFile(filepath.Join(dir, metaFile))
	if err != nil {
		return m, fmt.Errorf("storage: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("storage: %s: %w", filepath.Join(dir, metaFile), err)
	}
	return m, nil
}

// save writes space.json through a temporary file and a rename, so a crash
// leaves the old or the new version, never half of one.
func save(dir string, m spaceMeta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	tmp := filepath.Join(dir, metaFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, metaFile)); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

// validName accepts names safe as one path element: letters, digits and
// . _ - @, not starting with a dot.
func validName(name string) bool {
	if name == "" || len(name) > 100 || name[0] == '.' {
		return false
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@", c)
		if !ok {
			return false
		}
	}
	return true
}

func parseKind(s string) siteagent.MemberKind {
	for _, k := range []siteagent.MemberKind{siteagent.MemberServiceAccount, siteagent.MemberCourseAccount} {
		if s == k.String() {
			return k
		}
	}
	return siteagent.MemberUser
}
