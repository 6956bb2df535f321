package waldurtest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// newIdentity creates an agent identity over the API and returns its hex UUID.
func newIdentity(t *testing.T, s *waldurtest.Server) string {
	t.Helper()
	off := s.AddOffering(waldurtest.OfferingSpec{})
	r := call(t, s, "POST", "/api/marketplace-site-agent-identities/", map[string]any{
		"offering": off.String(), "name": "agent-" + hex(off), "version": "1.0",
		"dependencies": []map[string]string{{"package": "x", "version": "1"}},
	})
	require.Equal(t, 201, r.status, "body: %s", r.body)
	var id map[string]any
	r.json(t, &id)
	assert.Equal(t, hex(off), id["offering"])
	return id["uuid"].(string)
}

func TestIdentityIsNotGetOrCreate(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	body := map[string]any{"offering": hex(off), "name": "agent-1"}
	for range 2 {
		r := call(t, s, "POST", "/api/marketplace-site-agent-identities/", body)
		assert.Equal(t, 201, r.status)
	}
	r := call(t, s, "GET", "/api/marketplace-site-agent-identities/?name=agent-1&offering_uuid="+hex(off), nil)
	var list []map[string]any
	r.json(t, &list)
	assert.Len(t, list, 2, "a second create makes a second identity")

	r = call(t, s, "POST", "/api/marketplace-site-agent-identities/", map[string]any{"name": "x"})
	assert.Equal(t, 400, r.status)
	assert.JSONEq(t, `{"offering":["This field is required."]}`, string(r.body))

	id := list[0]["uuid"].(string)
	r = call(t, s, "PUT", "/api/marketplace-site-agent-identities/"+id+"/", map[string]any{
		"offering": hex(off), "name": "agent-1", "version": "2.0", "last_restarted": "2026-08-01T10:00:00Z",
	})
	require.Equal(t, 200, r.status, "body: %s", r.body)
	var upd map[string]any
	r.json(t, &upd)
	assert.Equal(t, "2.0", upd["version"])
	assert.Equal(t, "2026-08-01T10:00:00Z", upd["last_restarted"])
}

func TestGetOrCreateAnswers201Then200(t *testing.T) {
	s := waldurtest.NewServer(t)
	id := newIdentity(t, s)
	sub := ""
	svc := ""
	steps := []struct {
		name string
		path func() string
		body any
	}{
		{"register_service", func() string { return "/api/marketplace-site-agent-identities/" + id + "/register_service/" },
			map[string]any{"name": "order_process", "mode": "order_process"}},
		{"register_processor", func() string { return "/api/marketplace-site-agent-services/" + svc + "/register_processor/" },
			map[string]any{"name": "OrderProcessor", "backend_type": "SLURM"}},
		{"register_queue", func() string { return "/api/marketplace-site-agent-identities/" + id + "/register_queue/" },
			map[string]any{"object_types": []string{"order"}}},
		{"register_event_subscription", func() string {
			return "/api/marketplace-site-agent-identities/" + id + "/register_event_subscription/"
		}, map[string]any{"observable_object_type": "order"}},
		{"create_queue", func() string { return "/api/event-subscriptions/" + sub + "/create_queue/" },
			map[string]any{"offering_uuid": s.Identities()[0].Offering.String(), "object_type": "order"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			first := call(t, s, "POST", st.path(), st.body)
			require.Equal(t, 201, first.status, "body: %s", first.body)
			second := call(t, s, "POST", st.path(), st.body)
			require.Equal(t, 200, second.status, "body: %s", second.body)
			var a, b map[string]any
			first.json(t, &a)
			second.json(t, &b)
			switch st.name {
			case "register_service":
				svc = a["uuid"].(string)
				assert.Equal(t, "Active", a["state"])
			case "register_event_subscription":
				sub = a["uuid"].(string)
			case "register_queue":
				assert.Regexp(t, "^consumer_[0-9a-f]{32}$", a["queue_name"])
				assert.Equal(t, hex(s.ProviderUser()), a["vhost"])
				assert.Regexp(t, "^[0-9a-f]{32}$", a["rmq_username"])
				assert.Equal(t, []any{"order"}, a["observable_object_types"])
			case "create_queue":
				assert.Equal(t, "subscription_"+sub+"_offering_"+hex(s.Identities()[0].Offering)+"_order", a["queue_name"])
			}
			if uuid, ok := a["uuid"]; ok {
				assert.Equal(t, uuid, b["uuid"], "the second call returns the same object")
			}
		})
	}
}

func TestRegisterProcessorIsTheHeartbeat(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s := waldurtest.NewServer(t, waldurtest.WithClock(clock))
	id := newIdentity(t, s)
	r := call(t, s, "POST", "/api/marketplace-site-agent-identities/"+id+"/register_service/", map[string]any{"name": "report"})
	var svc map[string]any
	r.json(t, &svc)
	path := "/api/marketplace-site-agent-services/" + svc["uuid"].(string) + "/register_processor/"
	body := map[string]any{"name": "P", "backend_type": "SLURM", "backend_version": "23.02"}
	require.Equal(t, 201, call(t, s, "POST", path, body).status)
	mu.Lock()
	now = now.Add(5 * time.Minute)
	mu.Unlock()
	require.Equal(t, 200, call(t, s, "POST", path, body).status)
	procs := s.Processors()
	require.Len(t, procs, 1)
	require.NotNil(t, procs[0].LastRun)
	assert.Equal(t, time.Date(2026, 8, 1, 12, 5, 0, 0, time.UTC), *procs[0].LastRun)

	r = call(t, s, "POST", "/api/marketplace-site-agent-services/"+svc["uuid"].(string)+"/set_statistics/",
		map[string]any{"statistics": map[string]any{"orders": 3}})
	require.Equal(t, 200, r.status)
	assert.Equal(t, map[string]any{"orders": float64(3)}, s.Services()[0].Statistics)

	r = call(t, s, "GET", "/api/marketplace-site-agent-services/?state=1", nil)
	var list []map[string]any
	r.json(t, &list)
	assert.Len(t, list, 1, "the state filter uses 1 for Active")
	assert.Equal(t, 400, call(t, s, "GET", "/api/marketplace-site-agent-services/?state=Active", nil).status)
}

func TestRegisterQueue(t *testing.T) {
	var mu sync.Mutex
	var provisioned []waldurtest.Queue
	prov := waldurtest.QueueProvisionerFunc(func(_ context.Context, q waldurtest.Queue) error {
		mu.Lock()
		defer mu.Unlock()
		provisioned = append(provisioned, q)
		return nil
	})
	s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(prov))
	id := newIdentity(t, s)
	path := "/api/marketplace-site-agent-identities/" + id + "/register_queue/"

	r := call(t, s, "POST", path, nil)
	require.Equal(t, 201, r.status)
	var q map[string]any
	r.json(t, &q)
	assert.Len(t, q["observable_object_types"], len(waldurtest.ObjectTypes()), "a new consumer gets every type")

	r = callAuth(t, s, "POST", path, map[string]any{"object_types": []string{"order", "resource"}}, "Bearer "+s.PAT())
	require.Equal(t, 200, r.status)
	r = call(t, s, "POST", path, map[string]any{})
	require.Equal(t, 200, r.status)
	r.json(t, &q)
	assert.Equal(t, []any{"order", "resource"}, q["observable_object_types"], "an omitted filter is kept")

	mu.Lock()
	require.Len(t, provisioned, 3)
	assert.True(t, provisioned[0].Created)
	assert.False(t, provisioned[1].Created)
	assert.Equal(t, s.Token(), provisioned[0].Password, "the password is the credential of the call")
	assert.Equal(t, s.PAT(), provisioned[1].Password)
	mu.Unlock()

	other := s.AddUser(waldurtest.UserSpec{})
	r = callAuth(t, s, "POST", path, nil, "Token "+s.UserToken(other))
	assert.Equal(t, 409, r.status, "the queue belongs to another user")

	r = call(t, s, "POST", path, map[string]any{"object_types": []string{"nonsense"}})
	assert.Equal(t, 400, r.status)

	require.Equal(t, 204, call(t, s, "DELETE", "/api/marketplace-site-agent-identities/"+id+"/", nil).status)
	assert.Empty(t, s.Queues())
}

func TestRegisterQueueProvisioningFailure(t *testing.T) {
	prov := waldurtest.QueueProvisionerFunc(func(context.Context, waldurtest.Queue) error {
		return errors.New("broker down")
	})
	s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(prov))
	id := newIdentity(t, s)
	r := call(t, s, "POST", "/api/marketplace-site-agent-identities/"+id+"/register_queue/", nil)
	assert.Equal(t, 503, r.status)
}

func TestLegacyWaldur(t *testing.T) {
	s := waldurtest.NewServer(t, waldurtest.WithLegacyWaldur())
	id := newIdentity(t, s)
	r := call(t, s, "POST", "/api/marketplace-site-agent-identities/"+id+"/register_queue/", nil)
	assert.Equal(t, 404, r.status)
	r = call(t, s, "POST", "/api/marketplace-site-agent-logs/", []map[string]any{})
	assert.Equal(t, 404, r.status)
	r = call(t, s, "GET", "/api/marketplace-resource-api-keys/", nil)
	assert.Equal(t, 404, r.status)
	r = call(t, s, "POST", "/api/marketplace-site-agent-identities/"+id+"/register_event_subscription/",
		map[string]any{"observable_object_type": "order"})
	assert.Equal(t, 201, r.status, "the legacy path still works")
	assert.Equal(t, 1, s.CallCount("marketplace_site_agent_identities_register_queue"))

	s2 := waldurtest.NewServer(t, waldurtest.WithoutOperations("users_me_retrieve"))
	assert.Equal(t, 404, call(t, s2, "GET", "/api/users/me/", nil).status)
}

func TestSiteAgentLogs(t *testing.T) {
	s := waldurtest.NewServer(t)
	id := newIdentity(t, s)
	r := call(t, s, "POST", "/api/marketplace-site-agent-logs/", []map[string]any{
		{"agent_identity_uuid": id, "timestamp": 1754049600.5, "level": "ERROR", "message": "boom", "module": "m"},
		{"agent_identity_uuid": id, "timestamp": 1754049601, "level": "WARNING", "message": "hmm"},
	})
	require.Equal(t, 201, r.status, "body: %s", r.body)
	var created []map[string]any
	r.json(t, &created)
	require.Len(t, created, 2)
	assert.Equal(t, id, created[0]["agent_identity_uuid"])
	assert.Len(t, s.Logs(), 2)

	r = call(t, s, "POST", "/api/marketplace-site-agent-logs/", []map[string]any{
		{"agent_identity_uuid": id, "timestamp": 1, "level": "INFO", "message": "fine"},
		{"agent_identity_uuid": id, "timestamp": 1, "level": "LOUD", "message": "bad"},
	})
	assert.Equal(t, 400, r.status)
	assert.Len(t, s.Logs(), 2, "a batch with an invalid record stores nothing")

	r = call(t, s, "POST", "/api/marketplace-site-agent-logs/", map[string]any{"message": "not an array"})
	assert.Equal(t, 400, r.status)

	r = call(t, s, "GET", "/api/marketplace-site-agent-logs/?level=ERROR", nil)
	var list []map[string]any
	r.json(t, &list)
	assert.Len(t, list, 1)
}

func TestDeleteSubscription(t *testing.T) {
	var mu sync.Mutex
	var removed []string
	prov := &recordingProvisioner{removed: func(q waldurtest.Queue) {
		mu.Lock()
		defer mu.Unlock()
		removed = append(removed, q.Name)
	}}
	s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(prov))
	id := newIdentity(t, s)
	r := call(t, s, "POST", "/api/marketplace-site-agent-identities/"+id+"/register_event_subscription/",
		map[string]any{"observable_object_type": "resource"})
	var sub map[string]any
	r.json(t, &sub)
	r = call(t, s, "POST", "/api/event-subscriptions/"+sub["uuid"].(string)+"/create_queue/",
		map[string]any{"offering_uuid": hex(s.Identities()[0].Offering), "object_type": "resource"})
	require.Equal(t, 201, r.status, "body: %s", r.body)
	require.Len(t, s.Queues(), 1)
	require.Equal(t, 204, call(t, s, "DELETE", "/api/event-subscriptions/"+sub["uuid"].(string)+"/", nil).status)
	assert.Empty(t, s.Queues())
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, removed, 1)
}

type recordingProvisioner struct {
	removed func(waldurtest.Queue)
}

func (p *recordingProvisioner) ProvisionQueue(context.Context, waldurtest.Queue) error { return nil }

func (p *recordingProvisioner) RemoveQueue(_ context.Context, q waldurtest.Queue) error {
	p.removed(q)
	return nil
}
