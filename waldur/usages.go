package waldur

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// UsagesService reports and reads component usage, which Waldur bills.
type UsagesService struct{ c *Client }

// ListUsagesOptions filters [UsagesService.List]. Zero fields do not filter.
type ListUsagesOptions struct {
	// ResourceUUID selects the usage of one marketplace resource.
	ResourceUUID UUID
	// OfferingUUID selects the usage of one offering's resources.
	OfferingUUID UUID
	// BillingPeriod selects one month; any time within it will do.
	BillingPeriod time.Time
	// Type selects one component type, e.g. "cpu".
	Type string
	// Fields, when set, asks for only these fields (sparse fieldset).
	Fields []string
}

// List returns component usage records, fetched page by page as the sequence
// is consumed. The usage amount is read from a JSON number or from a decimal
// string, as Django REST framework renders decimals.
//
// Waldur: GET /api/marketplace-component-usages/
func (s *UsagesService) List(ctx context.Context, opts ListUsagesOptions) iter.Seq2[ComponentUsage, error] {
	seq := list[componentUsageWire](ctx, s.c, func() (*http.Request, error) {
		p := &waldurapi.MarketplaceComponentUsagesListParams{
			ResourceUUID: optUUID(opts.ResourceUUID),
			OfferingUUID: optUUID(opts.OfferingUUID),
			Type:         optString(opts.Type),
			Field:        enums[waldurapi.ComponentUsageField](opts.Fields),
			PageSize:     &s.c.pageSize,
		}
		if !opts.BillingPeriod.IsZero() {
			d := firstOfMonth(opts.BillingPeriod)
			p.BillingPeriod = &d
		}
		return waldurapi.NewMarketplaceComponentUsagesListRequest(s.c.server, p)
	})
	return func(yield func(ComponentUsage, error) bool) {
		for w, err := range seq {
			if err != nil {
				yield(ComponentUsage{}, err)
				return
			}
			u := w.ComponentUsage
			u.Usage = float64(w.Usage)
			if !yield(u, nil) {
				return
			}
		}
	}
}

// componentUsageWire decodes a ComponentUsage whose usage may be a number or
// a string: Waldur's schema says integer, while a DRF DecimalField renders
// "12.25". The outer Usage shadows the embedded one for encoding/json.
type componentUsageWire struct {
	ComponentUsage
	Usage decimal `json:"usage"`
}

// decimal is a JSON number, a string holding one, or null (zero). A value that
// is neither reads as zero without an error, so that one odd field cannot
// abort decoding the rest of the record (encoding/json stops at an
// unmarshaler's error).
type decimal float64

func (d *decimal) UnmarshalJSON(b []byte) error {
	*d = 0
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		b = bytes.TrimSpace([]byte(s))
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		*d = decimal(f)
	}
	return nil
}

// UsageReport is the usage of a resource's components in one billing period,
// for [UsagesService.SetUsage].
type UsageReport struct {
	// Resource is the marketplace resource.
	Resource UUID
	// Date selects the billing period: any moment within it. Zero means now.
	Date time.Time
	// Usages are the totals per component.
	Usages []UsageAmount
}

// UsageAmount is the total usage of one component.
type UsageAmount struct {
	// Type is the component type, e.g. "cpu".
	Type string
	// Amount is a decimal string with at most two fractional digits, e.g.
	// "1234.56"; see [FormatAmount].
	Amount string
	// Description is an optional note shown with the usage.
	Description string
	// MissingUsagePolicy says what to bill when a later report leaves this
	// component out (Waldur 8.1); empty leaves the server's default.
	MissingUsagePolicy MissingUsagePolicy
}

// FormatAmount renders a usage amount the way Waldur accepts it: a decimal
// with two fractional digits.
func FormatAmount(v float64) string {
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// SetUsage reports the usage totals of a resource for a billing period.
// Reporting again replaces the totals (an upsert per resource, component and
// period). Waldur may refuse past periods with a 400.
//
// Waldur: POST /api/marketplace-component-usages/set_usage/
func (s *UsagesService) SetUsage(ctx context.Context, r UsageReport) error {
	ctx = WithRetrySafe(ctx) // upsert in Waldur: repeating it is harmless
	body := waldurapi.SetUsageRequest{Resource: r.Resource, Date: r.Date, Usages: make([]waldurapi.ComponentUsageItem, len(r.Usages))}
	for i, u := range r.Usages {
		body.Usages[i] = waldurapi.ComponentUsageItem{
			Type:               u.Type,
			Amount:             u.Amount,
			Description:        u.Description,
			MissingUsagePolicy: u.MissingUsagePolicy,
		}
	}
	req, err := waldurapi.NewMarketplaceComponentUsagesSetUsageRequest(s.c.server, body)
	return s.c.action(ctx, req, err)
}

// UserUsage is one user's share of a component usage, for
// [UsagesService.SetUserUsages].
type UserUsage struct {
	// Username is the offering username.
	Username string
	// Usage is a decimal string; see [FormatAmount].
	Usage string
	// User is the URL of the offering user, optional.
	User string
	// Date is optional.
	Date time.Time
}

// SetUserUsages reports per-user usage of one component usage record (from
// [UsagesService.List]). The batch is atomic: one invalid item rejects all.
//
// Waldur: POST /api/marketplace-component-usages/{uuid}/set_user_usages/
func (s *UsagesService) SetUserUsages(ctx context.Context, componentUsageID UUID, usages []UserUsage) error {
	body := waldurapi.SetUserUsagesRequest{Usages: make([]waldurapi.UserUsage, len(usages))}
	for i, u := range usages {
		body.Usages[i] = waldurapi.UserUsage{Username: u.Username, Usage: u.Usage, User: u.User, Date: u.Date}
	}
	req, err := waldurapi.NewMarketplaceComponentUsagesSetUserUsagesRequest(s.c.server, componentUsageID, body)
	return s.c.action(ctx, req, err)
}
