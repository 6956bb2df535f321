package waldurtest_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// links parses a Link header into rel → URL.
func links(t *testing.T, h string) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`<([^>]*)>; rel="([a-z]+)"`)
	for _, m := range re.FindAllStringSubmatch(h, -1) {
		out[m[2]] = m[1]
	}
	return out
}

func TestPaginationFollowsLinks(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	other := s.AddOffering(waldurtest.OfferingSpec{})
	want := map[string]bool{}
	for i := range 25 {
		state := "pending-provider"
		if i%2 == 1 {
			state = "executing"
		}
		want[hex(s.AddOrder(waldurtest.OrderSpec{Offering: off, State: state}))] = true
		s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "done"})
		s.AddOrder(waldurtest.OrderSpec{Offering: other, State: "pending-provider"})
	}

	next := "/api/marketplace-orders/?offering_uuid=" + hex(off) + "&state=pending-provider&state=executing&page_size=10"
	got := map[string]bool{}
	pages := 0
	for next != "" {
		pages++
		r := call(t, s, "GET", next, nil)
		require.Equal(t, 200, r.status, "body: %s", r.body)
		assert.Equal(t, "25", r.header.Get("X-Result-Count"))
		var items []map[string]any
		r.json(t, &items)
		for _, o := range items {
			got[o["uuid"].(string)] = true
		}
		l := links(t, r.header.Get("Link"))
		assert.Contains(t, l, "first")
		assert.Contains(t, l, "last")
		if pages == 1 {
			assert.NotContains(t, l, "prev")
		} else {
			assert.Contains(t, l, "prev")
		}
		next = ""
		if n, ok := l["next"]; ok {
			u, err := url.Parse(n)
			require.NoError(t, err)
			assert.True(t, u.IsAbs(), "links are absolute")
			assert.Equal(t, []string{"pending-provider", "executing"}, u.Query()["state"], "links keep the filters")
			assert.Equal(t, hex(off), u.Query().Get("offering_uuid"))
			next = u.RequestURI()
		}
	}
	assert.Equal(t, 3, pages)
	assert.Equal(t, want, got)
}

func TestPageParameters(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for range 12 {
		s.AddOrder(waldurtest.OrderSpec{Offering: off})
	}
	tests := []struct {
		query     string
		status    int
		wantItems int
	}{
		{"", 200, 10},                      // Waldur's default page size
		{"?page=2", 200, 2},                // last page
		{"?page_size=1000", 200, 12},       // clamped to 300, which holds all
		{"?page_size=0", 200, 10},          // invalid size falls back to the default
		{"?page=3", 404, 0},                // beyond the last page
		{"?page=0", 404, 0},                // pages are 1-based
		{"?page=x", 404, 0},                // not a number
		{"?page=last&page_size=5", 200, 2}, // DRF's "last"
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, s, "GET", "/api/marketplace-orders/"+tt.query, nil)
			require.Equal(t, tt.status, r.status, "body: %s", r.body)
			if tt.status != 200 {
				assert.JSONEq(t, `{"detail":"Invalid page."}`, string(r.body))
				return
			}
			var items []map[string]any
			r.json(t, &items)
			assert.Len(t, items, tt.wantItems)
		})
	}
}

func TestMaxPageSize(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for range 301 {
		s.AddResource(waldurtest.ResourceSpec{Offering: off})
	}
	r := call(t, s, "GET", "/api/marketplace-provider-resources/?page_size=1000&field=uuid", nil)
	var items []map[string]any
	r.json(t, &items)
	assert.Len(t, items, 300)
	assert.Equal(t, "301", r.header.Get("X-Result-Count"))
	assert.Contains(t, links(t, r.header.Get("Link")), "next")
}

func TestHeadCountsOrders(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for range 3 {
		s.AddOrder(waldurtest.OrderSpec{Offering: off})
	}
	s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "done"})
	r := call(t, s, "HEAD", "/api/marketplace-orders/?offering_uuid="+hex(off)+"&state=pending-provider", nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, "3", r.header.Get("X-Result-Count"))
	assert.Empty(t, r.body)
	assert.Equal(t, 1, s.CallCount("marketplace_orders_count"))
	assert.Equal(t, 0, s.CallCount("marketplace_orders_list"))
}

func TestSparseFields(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	r := call(t, s, "GET", "/api/marketplace-orders/?field=uuid&field=state&field=no_such_field", nil)
	var items []map[string]any
	r.json(t, &items)
	require.Len(t, items, 1)
	assert.Equal(t, map[string]any{"uuid": hex(id), "state": "pending-provider"}, items[0])

	r = call(t, s, "GET", "/api/marketplace-orders/"+hex(id)+"/?field=type&field=marketplace_resource_uuid", nil)
	var o map[string]any
	r.json(t, &o)
	assert.Len(t, o, 2)
	assert.Equal(t, "Create", o["type"])
	assert.Regexp(t, "^[0-9a-f]{32}$", o["marketplace_resource_uuid"])
}

func TestOrderFilters(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	prj := s.AddProject(waldurtest.ProjectSpec{})
	create := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	o, _ := s.Order(create)
	update := s.AddOrder(waldurtest.OrderSpec{Offering: off, Type: "Update", Resource: o.MarketplaceResourceUUID, State: "executing"})
	other := s.AddOrder(waldurtest.OrderSpec{Offering: off, Project: prj, State: "done"})

	tests := []struct {
		query string
		want  []uuid.UUID
	}{
		{"offering_uuid=" + hex(off), []uuid.UUID{other, update, create}},
		{"state=executing&state=done", []uuid.UUID{other, update}},
		{"type=Update", []uuid.UUID{update}},
		{"resource_uuid=" + o.MarketplaceResourceUUID.String(), []uuid.UUID{update, create}},
		{"project_uuid=" + hex(prj), []uuid.UUID{other}},
		{"offering_uuid=" + hex(off) + "&o=created", []uuid.UUID{create, update, other}},
		{"offering_uuid=" + hex(uuid.New()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, s, "GET", "/api/marketplace-orders/?"+tt.query, nil)
			require.Equal(t, 200, r.status, "body: %s", r.body)
			var items []map[string]any
			r.json(t, &items)
			var got []string
			for _, it := range items {
				got = append(got, it["uuid"].(string))
			}
			var want []string
			for _, id := range tt.want {
				want = append(want, hex(id))
			}
			assert.Equal(t, want, got)
		})
	}

	r := call(t, s, "GET", "/api/marketplace-orders/?offering_uuid=nope", nil)
	assert.Equal(t, 400, r.status)
	assert.JSONEq(t, `{"offering_uuid":["Enter a valid UUID."]}`, string(r.body))
}

func TestResourceFilters(t *testing.T) {
	s := waldurtest.NewServer(t)
	a := s.AddOffering(waldurtest.OfferingSpec{})
	b := s.AddOffering(waldurtest.OfferingSpec{})
	c := s.AddOffering(waldurtest.OfferingSpec{})
	ra := s.AddResource(waldurtest.ResourceSpec{Offering: a, Name: "alpha", BackendID: "x1"})
	rb := s.AddResource(waldurtest.ResourceSpec{Offering: b, Name: "beta", State: "Erred", Paused: true})
	s.AddResource(waldurtest.ResourceSpec{Offering: c, Name: "gamma", State: "Terminated"})

	tests := []struct {
		query string
		want  []uuid.UUID
	}{
		{"offering_uuid=" + hex(a) + "," + hex(b), []uuid.UUID{rb, ra}}, // comma-separated
		{"state=OK&state=Erred", []uuid.UUID{rb, ra}},
		{"backend_id=x1", []uuid.UUID{ra}},
		{"paused=true", []uuid.UUID{rb}},
		{"name=ALP", []uuid.UUID{ra}},
		{"name_exact=alp", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := call(t, s, "GET", "/api/marketplace-provider-resources/?"+tt.query, nil)
			require.Equal(t, 200, r.status, "body: %s", r.body)
			var items []map[string]any
			r.json(t, &items)
			var got []string
			for _, it := range items {
				got = append(got, it["uuid"].(string))
			}
			var want []string
			for _, id := range tt.want {
				want = append(want, hex(id))
			}
			assert.Equal(t, want, got)
		})
	}
}

func TestTeamIsUnpaged(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	prj := s.AddProject(waldurtest.ProjectSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, Project: prj})
	for i := range 12 {
		u := s.AddUser(waldurtest.UserSpec{Username: fmt.Sprintf("m%02d", i)})
		s.AddProjectMember(prj, u, "")
		if i == 0 {
			s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, User: u, Username: "site_m00"})
		}
	}
	r := call(t, s, "GET", "/api/marketplace-provider-resources/"+hex(res)+"/team/", nil)
	require.Equal(t, 200, r.status)
	var team []map[string]any
	r.json(t, &team)
	assert.Len(t, team, 12)
	assert.Equal(t, "12", r.header.Get("X-Result-Count"))
	assert.Equal(t, "m00", team[0]["username"])
	assert.Equal(t, "site_m00", team[0]["offering_user_username"])
	assert.Equal(t, "OK", team[0]["offering_user_state"])
	assert.Equal(t, "PROJECT.MEMBER", team[0]["role"])
	assert.NotContains(t, team[1], "offering_user_username")
	assert.True(t, strings.HasPrefix(team[0]["url"].(string), s.URL()))
}

func TestChangeResourceEmitsResourceEvent(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "b1"})
	yes := true
	s.ChangeResource(res, waldurtest.ResourceChange{Limits: map[string]int64{"cpu": 5}})
	assert.Empty(t, s.Events(), "limits alone are not announced")
	s.ChangeResource(res, waldurtest.ResourceChange{Paused: &yes})
	ev := s.Events()
	require.Len(t, ev, 1)
	assert.Equal(t, "resource", ev[0].ObjectType)
	assert.Equal(t, true, ev[0].Payload["paused"])
	assert.Equal(t, "b1", ev[0].Payload["resource_backend_id"])
	assert.Equal(t, map[string]any{"cpu": int64(5)}, ev[0].Payload["limits"])
	assert.NotContains(t, ev[0].Legacy(), "resource_name")
	got, _ := s.Resource(res)
	assert.True(t, got.Paused)
}
