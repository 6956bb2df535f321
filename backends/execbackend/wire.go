package execbackend

import (
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Protocol is the version of the JSON exchanged with programs, sent as
// "protocol" in every request.
const Protocol = 1

// request is what a program reads on standard input.
type request struct {
	Protocol int           `json:"protocol"`
	Action   string        `json:"action"`
	Order    *orderInfo    `json:"order,omitempty"`
	Resource *resourceInfo `json:"resource,omitempty"`
	Members  []memberInfo  `json:"members,omitempty"`
	Period   *periodInfo   `json:"period,omitempty"`
}

type orderInfo struct {
	UUID           string           `json:"uuid"`
	Type           string           `json:"type"`
	State          string           `json:"state"`
	OfferingUUID   string           `json:"offering_uuid,omitempty"`
	ResourceUUID   string           `json:"resource_uuid,omitempty"`
	ResourceName   string           `json:"resource_name,omitempty"`
	ProjectUUID    string           `json:"project_uuid,omitempty"`
	ProjectName    string           `json:"project_name,omitempty"`
	CustomerUUID   string           `json:"customer_uuid,omitempty"`
	CustomerName   string           `json:"customer_name,omitempty"`
	PlanUUID       string           `json:"plan_uuid,omitempty"`
	Limits         map[string]int64 `json:"limits,omitempty"`
	Attributes     map[string]any   `json:"attributes,omitempty"`
	BackendOrderID string           `json:"backend_order_id"`
	Attempt        int              `json:"attempt"`
}

type resourceInfo struct {
	UUID         string           `json:"uuid"`
	Name         string           `json:"name,omitempty"`
	BackendID    string           `json:"backend_id"`
	State        string           `json:"state,omitempty"`
	OfferingUUID string           `json:"offering_uuid,omitempty"`
	ProjectUUID  string           `json:"project_uuid,omitempty"`
	ProjectName  string           `json:"project_name,omitempty"`
	CustomerUUID string           `json:"customer_uuid,omitempty"`
	CustomerName string           `json:"customer_name,omitempty"`
	Limits       map[string]int64 `json:"limits,omitempty"`
	Attributes   map[string]any   `json:"attributes,omitempty"`
	Paused       bool             `json:"paused"`
	Downscaled   bool             `json:"downscaled"`
}

type memberInfo struct {
	Username string `json:"username"`
	Kind     string `json:"kind,omitempty"`
	UUID     string `json:"uuid,omitempty"`
	FullName string `json:"full_name,omitempty"`
	Email    string `json:"email,omitempty"`
	Role     string `json:"role,omitempty"`
}

type periodInfo struct {
	Month string    `json:"month"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// orderAnswer is what an order's program writes on standard output.
type orderAnswer struct {
	BackendID       string           `json:"backend_id"`
	BackendMetadata map[string]any   `json:"backend_metadata"`
	Endpoints       []endpointInfo   `json:"endpoints"`
	Limits          map[string]int64 `json:"limits"`
	InProgress      string           `json:"in_progress"`
}

type endpointInfo struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

type decisionAnswer struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

type membersAnswer struct {
	Members []memberInfo `json:"members"`
}

type usageAnswer struct {
	Totals map[string]float64            `json:"totals"`
	ByUser map[string]map[string]float64 `json:"by_user"`
}

func hex(id waldur.UUID) string {
	if id == (waldur.UUID{}) {
		return ""
	}
	return waldur.Hex(id)
}

func newOrderInfo(o *siteagent.Order) *orderInfo {
	return &orderInfo{
		UUID: hex(o.UUID), Type: string(o.Type), State: string(o.State),
		OfferingUUID: hex(o.OfferingUUID), ResourceUUID: hex(o.ResourceUUID), ResourceName: o.ResourceName,
		ProjectUUID: hex(o.ProjectUUID), ProjectName: o.ProjectName,
		CustomerUUID: hex(o.CustomerUUID), CustomerName: o.CustomerName, PlanUUID: hex(o.PlanUUID),
		Limits: o.Limits, Attributes: o.Attributes, BackendOrderID: o.BackendOrderID, Attempt: o.Attempt,
	}
}

func newResourceInfo(r *waldur.Resource) *resourceInfo {
	if r == nil {
		return nil
	}
	return &resourceInfo{
		UUID: hex(r.UUID), Name: r.Name, BackendID: r.BackendID, State: string(r.State),
		OfferingUUID: hex(r.OfferingUUID), ProjectUUID: hex(r.ProjectUUID), ProjectName: r.ProjectName,
		CustomerUUID: hex(r.CustomerUUID), CustomerName: r.CustomerName,
		Limits: r.Limits, Attributes: r.Attributes, Paused: r.Paused, Downscaled: r.Downscaled,
	}
}

var memberKinds = map[siteagent.MemberKind]string{
	siteagent.MemberUser:           "user",
	siteagent.MemberServiceAccount: "service_account",
	siteagent.MemberCourseAccount:  "course_account",
}

func newMemberInfos(ms []siteagent.Member) []memberInfo {
	out := make([]memberInfo, len(ms))
	for i, m := range ms {
		out[i] = memberInfo{Username: m.Username, Kind: memberKinds[m.Kind], UUID: hex(m.UUID),
			FullName: m.FullName, Email: m.Email, Role: m.Role}
	}
	return out
}

func (m memberInfo) member() siteagent.Member {
	out := siteagent.Member{Username: m.Username, FullName: m.FullName, Email: m.Email, Role: m.Role}
	for k, name := range memberKinds {
		if name == m.Kind {
			out.Kind = k
		}
	}
	if id, err := waldur.ParseUUID(m.UUID); err == nil {
		out.UUID = id
	}
	return out
}
