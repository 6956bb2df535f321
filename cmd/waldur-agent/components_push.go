package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// componentBody is Waldur's offering component as create_offering_component
// and update_offering_component take it. Waldur's unit_factor is not sent:
// it is Waldur's display conversion, not the backend's unit factor.
type componentBody struct {
	UUID         string `json:"uuid,omitempty"` // update only
	Type         string `json:"type"`
	Name         string `json:"name"`
	MeasuredUnit string `json:"measured_unit"`
	BillingType  string `json:"billing_type"`
	LimitAmount  *int64 `json:"limit_amount,omitempty"`
	LimitPeriod  string `json:"limit_period,omitempty"` // kept on update
}

// pushComponent creates or updates one component of the offering.
//
// Waldur: POST /api/marketplace-provider-offerings/{uuid}/create_offering_component/
// Waldur: POST /api/marketplace-provider-offerings/{uuid}/update_offering_component/
func pushComponent(ctx context.Context, c *waldur.Client, offering waldur.UUID, ch componentChange) error {
	w := ch.want
	body := componentBody{Type: w.Type, Name: w.Label, MeasuredUnit: w.MeasuredUnit, BillingType: w.AccountingType, LimitAmount: roundLimit(w.Limit)}
	action := "create_offering_component"
	if h := ch.have; h != nil {
		action = "update_offering_component"
		body.UUID = waldur.Hex(h.UUID)
		if h.LimitPeriod != nil {
			body.LimitPeriod = *h.LimitPeriod
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	u := c.BaseURL() + "api/marketplace-provider-offerings/" + waldur.Hex(offering) + "/" + action + "/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2<<10))
	return fmt.Errorf("%s: %s %s", action, resp.Status, strings.TrimSpace(string(msg)))
}
