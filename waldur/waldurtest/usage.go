package waldurtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// billingPeriod is the first day of the month of t in the server's time
// zone, as a date (midnight UTC).
func (s *Server) billingPeriod(t time.Time) time.Time {
	t = t.In(s.loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func decimalFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// decimalRE is Waldur's pattern for usage amounts: at most two decimals.
var decimalRE = regexp.MustCompile(`^-?\d{0,18}(?:\.\d{0,2})?$`)

// parseDecimal accepts a JSON string or number holding a decimal with at most
// two fractional digits, as DRF's DecimalField(decimal_places=2) does.
func parseDecimal(raw json.RawMessage) (string, string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", "This field is required.", false
	}
	v := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &v); err != nil {
			return "", "A valid number is required.", false
		}
	}
	v = strings.TrimSpace(v)
	if _, err := strconv.ParseFloat(v, 64); err != nil || v == "" {
		return "", "A valid number is required.", false
	}
	if !decimalRE.MatchString(v) {
		if i := strings.IndexByte(v, '.'); i >= 0 && len(v)-i-1 > 2 {
			return "", "Ensure that there are no more than 2 decimal places.", false
		}
		return "", "Ensure that there are no more than 20 digits in total.", false
	}
	return v, "", true
}

func (s *Server) setUsage(c *reqCtx) reply {
	var b struct {
		Resource   *string `json:"resource"`
		PlanPeriod *string `json:"plan_period"`
		Date       *string `json:"date"`
		Usages     *[]struct {
			Type               *string         `json:"type"`
			Amount             json.RawMessage `json:"amount"`
			Description        string          `json:"description"`
			MissingUsagePolicy string          `json:"missing_usage_policy"`
			Recurring          bool            `json:"recurring"`
		} `json:"usages"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.Usages == nil {
		return required("usages")
	}
	if b.PlanPeriod != nil {
		// Plan periods are not modelled: any given value names nothing.
		return fieldError("plan_period", fmt.Sprintf("Object with uuid=%s does not exist.", *b.PlanPeriod))
	}
	if b.Resource == nil {
		return jsonReply(http.StatusBadRequest, map[string][]string{
			"non_field_errors": {"Either plan_period or resource should be provided."},
		})
	}
	id, ok := parseID(*b.Resource)
	r := s.st.resources.get(id)
	if !ok || r == nil {
		return fieldError("resource", fmt.Sprintf("Object with uuid=%s does not exist.", *b.Resource))
	}
	date := c.now
	if b.Date != nil {
		t, ok := parseTime(*b.Date)
		if !ok {
			return fieldError("date", "Datetime has wrong format.")
		}
		date = t
	}
	type item struct {
		comp                 *component
		amount, desc, policy string
		recurring            bool
	}
	items := make([]item, 0, len(*b.Usages))
	for _, u := range *b.Usages {
		if u.Type == nil {
			return fieldError("usages", "Component type is required.")
		}
		comp := r.Offering.component(*u.Type)
		if comp == nil {
			return fieldError("usages", fmt.Sprintf("Component %q is not found.", *u.Type))
		}
		amount, msg, ok := parseDecimal(u.Amount)
		if !ok {
			return fieldError("usages", msg)
		}
		switch u.MissingUsagePolicy {
		case "", "none", "reuse", "zero":
		default:
			return fieldError("usages", fmt.Sprintf("%q is not a valid choice.", u.MissingUsagePolicy))
		}
		items = append(items, item{comp, amount, u.Description, u.MissingUsagePolicy, u.Recurring})
	}
	period := s.billingPeriod(date)
	for _, it := range items {
		cu := s.findUsage(r, it.comp, period)
		if cu == nil {
			cu = &componentUsage{UUID: uuid.New(), Resource: r, Component: it.comp, BillingPeriod: period,
				Created: c.now}
			s.st.usages.add(cu.UUID, cu)
			r.usages = append(r.usages, cu)
		}
		cu.Usage, cu.Description, cu.Date, cu.Modified = it.amount, it.desc, date, c.now
		cu.MissingUsagePolicy, cu.Recurring, cu.ModifiedBy = it.policy, it.recurring, c.user
	}
	return reply{status: http.StatusCreated}
}

func (s *Server) findUsage(r *resource, comp *component, period time.Time) *componentUsage {
	for _, cu := range r.usages {
		if cu.Component == comp && cu.BillingPeriod.Equal(period) {
			return cu
		}
	}
	return nil
}

func (s *Server) listUsages(c *reqCtx) reply {
	q := c.query()
	resources, rep, ok := uuidFilter(q, "resource_uuid", false)
	if !ok {
		return rep
	}
	offerings, rep, ok := uuidFilter(q, "offering_uuid", false)
	if !ok {
		return rep
	}
	var period *time.Time
	if v := q.Get("billing_period"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return fieldError("billing_period", "Enter a valid date.")
		}
		period = &t
	}
	year, _ := strconv.Atoi(q.Get("billing_period_year"))
	month, _ := strconv.Atoi(q.Get("billing_period_month"))
	types := stringsFilter(q, "type", false)
	var out []*componentUsage
	for _, cu := range s.st.usages.list {
		bp := cu.BillingPeriod
		switch {
		case !match(resources, cu.Resource.UUID), !match(offerings, cu.Resource.Offering.UUID),
			!match(types, cu.Component.Type), period != nil && !bp.Equal(*period),
			year != 0 && bp.Year() != year, month != 0 && int(bp.Month()) != month:
			continue
		}
		out = append(out, cu)
	}
	// Waldur orders usages by date, newest first, then by component type.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.After(out[j].Date)
		}
		return out[i].Component.Type < out[j].Component.Type
	})
	return listReply(c, out, func(cu *componentUsage) any { return s.renderUsage(cu) })
}

func (s *Server) lookupUsage(c *reqCtx) (*componentUsage, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	cu := s.st.usages.get(id)
	if cu == nil {
		return nil, notFound(), false
	}
	return cu, reply{}, true
}

// userUsageBody is one per-user usage item.
type userUsageBody struct {
	Username *string         `json:"username"`
	Usage    json.RawMessage `json:"usage"`
	User     string          `json:"user"`
	Date     *string         `json:"date"`
}

// validate checks an item; the error is a DRF field-error map.
func (b userUsageBody) validate() (amount string, date *time.Time, errs map[string][]string) {
	switch {
	case b.Username == nil || *b.Username == "":
		return "", nil, map[string][]string{"username": {"This field is required."}}
	case len(*b.Username) > 100:
		return "", nil, map[string][]string{"username": {"Ensure this field has no more than 100 characters."}}
	}
	amount, msg, ok := parseDecimal(b.Usage)
	if !ok {
		return "", nil, map[string][]string{"usage": {msg}}
	}
	if b.Date != nil {
		t, ok := parseTime(*b.Date)
		if !ok {
			return "", nil, map[string][]string{"date": {"Datetime has wrong format."}}
		}
		date = &t
	}
	return amount, date, nil
}

// upsertUserUsage stores one user's usage of cu, replacing an earlier report.
func (s *Server) upsertUserUsage(c *reqCtx, cu *componentUsage, b userUsageBody, amount string, date *time.Time) {
	var uu *userUsage
	for _, x := range cu.userUsages {
		if x.Username == *b.Username {
			uu = x
			break
		}
	}
	if uu == nil {
		uu = &userUsage{UUID: uuid.New(), ComponentUsage: cu, Username: *b.Username, Created: c.now}
		cu.userUsages = append(cu.userUsages, uu)
		s.st.userUsages.add(uu.UUID, uu)
	}
	uu.Usage, uu.User, uu.Modified = amount, b.User, c.now
	uu.Date = cu.Date
	if date != nil {
		uu.Date = *date
	}
}

func (s *Server) setUserUsage(c *reqCtx) reply {
	cu, rep, ok := s.lookupUsage(c)
	if !ok {
		return rep
	}
	var b userUsageBody
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	amount, date, errs := b.validate()
	if errs != nil {
		return jsonReply(http.StatusBadRequest, errs)
	}
	s.upsertUserUsage(c, cu, b, amount, date)
	return reply{status: http.StatusCreated}
}

// setUserUsages stores all items or none: one invalid item rejects the call.
func (s *Server) setUserUsages(c *reqCtx) reply {
	cu, rep, ok := s.lookupUsage(c)
	if !ok {
		return rep
	}
	var b struct {
		Usages *[]userUsageBody `json:"usages"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.Usages == nil {
		return required("usages")
	}
	type valid struct {
		amount string
		date   *time.Time
	}
	checked := make([]valid, len(*b.Usages))
	for i, it := range *b.Usages {
		amount, date, errs := it.validate()
		if errs != nil {
			items := make([]map[string][]string, len(*b.Usages))
			for j := range items {
				items[j] = map[string][]string{}
			}
			items[i] = errs
			return jsonReply(http.StatusBadRequest, map[string]any{"usages": items})
		}
		checked[i] = valid{amount, date}
	}
	for i, it := range *b.Usages {
		s.upsertUserUsage(c, cu, it, checked[i].amount, checked[i].date)
	}
	return reply{status: http.StatusCreated}
}

func (s *Server) renderUserUsage(uu *userUsage) map[string]any {
	cu := uu.ComponentUsage
	r := cu.Resource
	return map[string]any{
		"uuid": hexID(uu.UUID), "user": uu.User, "username": uu.Username,
		"component_usage": s.objURL("marketplace-component-usages", cu.UUID),
		"usage":           uu.Usage, "measured_unit": cu.Component.MeasuredUnit, "component_type": cu.Component.Type,
		"created": uu.Created, "modified": uu.Modified, "date": uu.Date,
		"billing_period": cu.BillingPeriod.Format("2006-01-02"),
		"resource_uuid":  hexID(r.UUID), "resource_name": r.Name,
		"offering_uuid": hexID(r.Offering.UUID), "offering_name": r.Offering.Name,
		"project_uuid": hexID(r.Project.UUID), "project_name": r.Project.Name,
		"customer_uuid": hexID(r.Project.Customer.UUID), "customer_name": r.Project.Customer.Name,
	}
}

func (s *Server) listUserUsages(c *reqCtx) reply {
	q := c.query()
	resources, rep, ok := uuidFilter(q, "resource_uuid", false)
	if !ok {
		return rep
	}
	var period *time.Time
	if v := q.Get("component_usage__billing_period"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return fieldError("component_usage__billing_period", "Enter a valid date.")
		}
		period = &t
	}
	usernames := stringsFilter(q, "username", false)
	var out []*userUsage
	for _, uu := range s.st.userUsages.list {
		cu := uu.ComponentUsage
		if match(resources, cu.Resource.UUID) && match(usernames, uu.Username) &&
			(period == nil || cu.BillingPeriod.Equal(*period)) {
			out = append(out, uu)
		}
	}
	return listReply(c, out, func(uu *userUsage) any { return s.renderUserUsage(uu) })
}
