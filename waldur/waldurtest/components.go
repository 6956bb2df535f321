package waldurtest

import (
	"net/http"
	"regexp"

	"github.com/google/uuid"
)

// componentType is Waldur's rule for an offering component's type.
var componentType = regexp.MustCompile(`^[a-zA-Z0-9_\-/:]{1,50}$`)

// componentBody is the body of create_offering_component and
// update_offering_component; pointers tell "absent" from zero. Only what the
// offering component model keeps is read.
type componentBody struct {
	UUID              *string `json:"uuid"`
	BillingType       *string `json:"billing_type"`
	Type              *string `json:"type"`
	Name              *string `json:"name"`
	Description       string  `json:"description"`
	MeasuredUnit      string  `json:"measured_unit"`
	LimitPeriod       *string `json:"limit_period"`
	LimitAmount       *int64  `json:"limit_amount"`
	MinValue          *int64  `json:"min_value"`
	MaxValue          *int64  `json:"max_value"`
	MaxAvailableLimit *int64  `json:"max_available_limit"`
	DefaultLimit      *int64  `json:"default_limit"`
	IsBoolean         bool    `json:"is_boolean"`
	IsPrepaid         bool    `json:"is_prepaid"`
	ArticleCode       string  `json:"article_code"`
}

// check validates the fields both operations require.
func (b *componentBody) check() (reply, bool) {
	switch {
	case b.BillingType == nil:
		return required("billing_type"), false
	case b.Type == nil:
		return required("type"), false
	case b.Name == nil || *b.Name == "":
		return required("name"), false
	}
	switch *b.BillingType {
	case "fixed", "usage", "limit", "one", "few":
	default:
		return fieldError("billing_type", `"`+*b.BillingType+`" is not a valid choice.`), false
	}
	if !componentType.MatchString(*b.Type) {
		return fieldError("type", "Enter a valid value."), false
	}
	if p := b.LimitPeriod; p != nil {
		switch *p {
		case "", "month", "quarterly", "annual", "total":
		default:
			return fieldError("limit_period", `"`+*p+`" is not a valid choice.`), false
		}
	}
	return reply{}, true
}

// apply copies the body onto c.
func (b *componentBody) apply(c *component) {
	c.BillingType, c.Type, c.Name = *b.BillingType, *b.Type, *b.Name
	c.Description, c.MeasuredUnit, c.ArticleCode = b.Description, b.MeasuredUnit, b.ArticleCode
	c.LimitPeriod = ""
	if b.LimitPeriod != nil {
		c.LimitPeriod = *b.LimitPeriod
	}
	c.LimitAmount, c.MinValue, c.MaxValue = b.LimitAmount, b.MinValue, b.MaxValue
	c.MaxAvailableLimit, c.DefaultLimit = b.MaxAvailableLimit, b.DefaultLimit
	c.IsBoolean, c.IsPrepaid = b.IsBoolean, b.IsPrepaid
}

// decodeComponent reads the offering and a valid body of either operation.
func (s *Server) decodeComponent(c *reqCtx) (*offering, *componentBody, reply, bool) {
	o, rep, ok := s.lookupOffering(c)
	if !ok {
		return nil, nil, rep, false
	}
	var b componentBody
	if rep, ok := c.decode(&b); !ok {
		return nil, nil, rep, false
	}
	if rep, ok := b.check(); !ok {
		return nil, nil, rep, false
	}
	return o, &b, reply{}, true
}

func (s *Server) createOfferingComponent(c *reqCtx) reply {
	o, b, rep, ok := s.decodeComponent(c)
	if !ok {
		return rep
	}
	if o.component(*b.Type) != nil {
		return arrayError("Component with type " + *b.Type + " already exists.")
	}
	comp := &component{UUID: uuid.New(), UnitFactor: 1}
	b.apply(comp)
	o.Components = append(o.Components, comp)
	return reply{status: http.StatusCreated}
}

func (s *Server) updateOfferingComponent(c *reqCtx) reply {
	o, b, rep, ok := s.decodeComponent(c)
	if !ok {
		return rep
	}
	if b.UUID == nil {
		return required("uuid")
	}
	id, ok := parseID(*b.UUID)
	if !ok {
		return fieldError("uuid", "Must be a valid UUID.")
	}
	var comp *component
	for _, x := range o.Components {
		if x.UUID == id {
			comp = x
		}
	}
	if comp == nil {
		return notFound()
	}
	if other := o.component(*b.Type); other != nil && other != comp {
		return arrayError("Component with type " + *b.Type + " already exists.")
	}
	b.apply(comp)
	return reply{status: http.StatusOK}
}

func (s *Server) lookupOffering(c *reqCtx) (*offering, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	o := s.st.offerings.get(id)
	if o == nil {
		return nil, notFound(), false
	}
	return o, reply{}, true
}
