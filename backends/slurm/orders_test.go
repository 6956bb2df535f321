package slurm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

const showFmt = "format=Account,Description,Organization"

// hpc is an offering of the fake Waldur with a customer and project whose
// slugs name the accounts.
type hpc struct {
	s        *waldurtest.Server
	offering uuid.UUID
	project  uuid.UUID
}

func newHPC(t *testing.T) hpc {
	s := waldurtest.NewServer(t)
	cust := s.AddCustomer(waldurtest.CustomerSpec{Name: "Physics", Slug: "physics"})
	prj := s.AddProject(waldurtest.ProjectSpec{Customer: cust, Name: "Lasers", Slug: "lasers"})
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{
		{Type: "cpu", BillingType: "limit"}, {Type: "gpu", BillingType: "one"}, {Type: "mem", BillingType: "usage"},
	}})
	return hpc{s: s, offering: off, project: prj}
}

// run starts an agent with b processing orders and waits for the order to
// be done.
func (h hpc) run(t *testing.T, b *slurm.Backend, order uuid.UUID) waldur.Order {
	t.Helper()
	cfg := siteagenttest.Config(h.s, h.offering)
	cfg.Orders = b
	siteagenttest.Start(t, cfg)
	return h.wait(t, order)
}

func (h hpc) wait(t *testing.T, order uuid.UUID) waldur.Order {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var o waldur.Order
	require.NoError(t, h.s.WaitFor(ctx, func() bool {
		o, _ = h.s.Order(order)
		return o.State == waldur.OrderStateDone || o.State == waldur.OrderStateErred
	}), "order %s never finished", order)
	return o
}

func marker(id uuid.UUID) string {
	return "waldur resource " + strings.ReplaceAll(id.String(), "-", "")
}

func TestCreateOrder(t *testing.T) {
	h := newHPC(t)
	order := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Project: h.project,
		Limits: map[string]int64{"cpu": 10, "gpu": 2}, Attributes: map[string]any{"name": "Alloc"}})
	o, _ := h.s.Order(order)
	res := o.MarketplaceResourceUUID

	rec := newRecorded(t)
	// Another resource has a_alloc already.
	rec.on("sacctmgr -i -P -n show account where name=a_alloc "+showFmt, "a_alloc|waldur resource 0123|p_other\n")
	done := h.run(t, newBackend(t, rec), order)
	require.Equal(t, waldur.OrderStateDone, done.State, done.ErrorMessage)

	r, _ := h.s.Resource(res)
	assert.Equal(t, "a_alloc_2", r.BackendID)
	assert.Equal(t, map[string]any{"account": "a_alloc_2", "parent_account": "p_lasers"}, r.BackendMetadata)
	assert.Equal(t, []string{
		"sacctmgr -i -P -n add account c_physics description=Physics organization=c_physics parent=root",
		"sacctmgr -i -P -n add account p_lasers description=Lasers organization=p_lasers parent=c_physics",
		"sacctmgr -i -P -n show account where name=a_alloc " + showFmt,
		"sacctmgr -i -P -n show account where name=a_alloc_2 " + showFmt,
		// cpu 10 h × 60; gpu 2 h × 60 for a one-month term; mem's configured 10 GB-h × 61440.
		"sacctmgr -i -P -n add account a_alloc_2 description=" + marker(res) + " organization=p_lasers parent=p_lasers" +
			" GrpTRESMins=cpu=600,gres/gpu=120,mem=614400",
	}, rec.commands())
}

// TestCreateOrdersOneProject: the customer and project accounts are made
// once; the next allocation of the project costs two commands.
func TestCreateOrdersOneProject(t *testing.T) {
	h := newHPC(t)
	first := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Project: h.project, Attributes: map[string]any{"name": "one"}})
	rec := newRecorded(t)
	b := newBackend(t, rec)
	h.run(t, b, first)
	rec.commands()
	second := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Project: h.project, Attributes: map[string]any{"name": "two"}})
	o, _ := h.s.Order(second)
	done := h.wait(t, second)
	require.Equal(t, waldur.OrderStateDone, done.State, done.ErrorMessage)
	assert.Equal(t, []string{
		"sacctmgr -i -P -n show account where name=a_two " + showFmt,
		"sacctmgr -i -P -n add account a_two description=" + marker(o.MarketplaceResourceUUID) +
			" organization=p_lasers parent=p_lasers GrpTRESMins=mem=614400",
	}, rec.commands())
}

// TestCreateOrderAgain: an order run again after its account was made (a
// crash before Waldur heard of it) finds its own account and finishes.
func TestCreateOrderAgain(t *testing.T) {
	h := newHPC(t)
	order := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Project: h.project,
		Limits: map[string]int64{"cpu": 10}, Attributes: map[string]any{"name": "alloc"}})
	o, _ := h.s.Order(order)
	res := o.MarketplaceResourceUUID

	rec := newRecorded(t)
	rec.fail("sacctmgr -i -P -n add account c_physics description=Physics organization=c_physics parent=root", "Nothing new added.")
	rec.fail("sacctmgr -i -P -n add account p_lasers description=Lasers organization=p_lasers parent=c_physics", "Nothing new added.")
	rec.on("sacctmgr -i -P -n show account where name=a_alloc "+showFmt, "a_alloc|"+marker(res)+"|p_lasers\n")
	rec.fail("sacctmgr -i -P -n add account a_alloc description="+marker(res)+" organization=p_lasers parent=p_lasers"+
		" GrpTRESMins=cpu=600,mem=614400", "Nothing new added.")
	rec.fail("sacctmgr -i -P -n modify account where name=a_alloc set GrpTRESMins=cpu=600,mem=614400", "Nothing modified")
	done := h.run(t, newBackend(t, rec), order)
	require.Equal(t, waldur.OrderStateDone, done.State, done.ErrorMessage)
	r, _ := h.s.Resource(res)
	assert.Equal(t, "a_alloc", r.BackendID)
}

func TestUpdateTerminateRestoreOrders(t *testing.T) {
	h := newHPC(t)
	res := h.s.AddResource(waldurtest.ResourceSpec{Offering: h.offering, Project: h.project, Name: "alloc",
		BackendID: "a_alloc", Limits: map[string]int64{"cpu": 10}})
	rec := newRecorded(t)
	rec.on("sacctmgr -i -P -n show account where name=a_alloc "+showFmt, "a_alloc|"+marker(res)+"|p_lasers\n")
	b := newBackend(t, rec)

	update := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Type: "Update", Resource: res,
		Limits: map[string]int64{"cpu": 20, "gpu": 1}})
	done := h.run(t, b, update)
	require.Equal(t, waldur.OrderStateDone, done.State, done.ErrorMessage)
	assert.Equal(t, []string{
		"sacctmgr -i -P -n show account where name=a_alloc " + showFmt,
		"sacctmgr -i -P -n modify account where name=a_alloc set GrpTRESMins=cpu=1200,gres/gpu=60,mem=614400",
	}, rec.commands())

	terminate := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Type: "Terminate", Resource: res})
	done = h.wait(t, terminate)
	require.Equal(t, waldur.OrderStateDone, done.State, done.ErrorMessage)
	assert.Equal(t, []string{
		"scancel --account=a_alloc",
		"sacctmgr -i -P -n remove user where account=a_alloc",
		"sacctmgr -i -P -n remove account where name=a_alloc",
	}, rec.commands())

	restore := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Type: "Restore", Resource: res})
	done = h.wait(t, restore)
	require.Equal(t, waldur.OrderStateDone, done.State, done.ErrorMessage)
	assert.Equal(t, []string{
		"sacctmgr -i -P -n add account c_physics description=Physics organization=c_physics parent=root",
		"sacctmgr -i -P -n add account p_lasers description=Lasers organization=p_lasers parent=c_physics",
		"sacctmgr -i -P -n add account a_alloc description=" + marker(res) + " organization=p_lasers parent=p_lasers" +
			" GrpTRESMins=cpu=1200,gres/gpu=60,mem=614400",
	}, rec.commands(), "restored under its old name with its limits")
}

// TestOrderErrorQuotesSlurm: a command Slurm refuses fails the order's
// attempt with Slurm's own message; an account that vanished fails an
// Update for good.
func TestOrderErrorQuotesSlurm(t *testing.T) {
	h := newHPC(t)
	res := h.s.AddResource(waldurtest.ResourceSpec{Offering: h.offering, Project: h.project, BackendID: "a_gone"})
	rec := newRecorded(t)
	update := h.s.AddOrder(waldurtest.OrderSpec{Offering: h.offering, Type: "Update", Resource: res,
		Limits: map[string]int64{"cpu": 20}})
	done := h.run(t, newBackend(t, rec), update)
	assert.Equal(t, waldur.OrderStateErred, done.State)
	assert.Contains(t, done.ErrorMessage, "account a_gone")

	err := (&slurm.CommandError{Name: "sacctmgr", Args: []string{"add", "user", "x", "account=nope"}, ExitCode: 1,
		Message: "This account 'nope' doesn't exist."}).Error()
	assert.Equal(t, "slurm: sacctmgr add user x account=nope: exit status 1: This account 'nope' doesn't exist.", err)
}
