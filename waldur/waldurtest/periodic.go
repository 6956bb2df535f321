package waldurtest

import (
	"slices"

	"github.com/google/uuid"
)

// PeriodicResult is what an agent reported about a periodic usage
// policy's settings (report-command-result).
type PeriodicResult struct {
	Policy           uuid.UUID
	Resource         uuid.UUID
	Success          bool
	ErrorMessage     string
	Mode             string
	CommandsExecuted []string
}

// PeriodicResults returns the reports of report-command-result, oldest
// first. The server keeps no policies: any policy UUID is accepted.
func (s *Server) PeriodicResults() []PeriodicResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.periodicResults)
	for i := range out {
		out[i].CommandsExecuted = slices.Clone(out[i].CommandsExecuted)
	}
	return out
}

func (s *Server) reportCommandResult(c *reqCtx) reply {
	policy, ok := c.pathID()
	if !ok {
		return notFound()
	}
	var b struct {
		ResourceUUID     *string  `json:"resource_uuid"`
		Success          *bool    `json:"success"`
		ErrorMessage     string   `json:"error_message"`
		Mode             string   `json:"mode"`
		CommandsExecuted []string `json:"commands_executed"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	switch {
	case b.ResourceUUID == nil:
		return required("resource_uuid")
	case b.Success == nil:
		return required("success")
	}
	res, ok := parseID(*b.ResourceUUID)
	if !ok {
		return fieldError("resource_uuid", "Must be a valid UUID.")
	}
	if b.Mode == "" {
		b.Mode = "production"
	}
	s.periodicResults = append(s.periodicResults, PeriodicResult{Policy: policy, Resource: res, Success: *b.Success,
		ErrorMessage: b.ErrorMessage, Mode: b.Mode, CommandsExecuted: b.CommandsExecuted})
	return reply{status: 200}
}
