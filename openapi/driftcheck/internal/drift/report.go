package drift

import "fmt"

// Severity tells whether a finding fails the check.
type Severity int

const (
	// SeverityError marks something ours uses that the server lacks or types differently.
	SeverityError Severity = iota + 1
	// SeverityNote marks an expected difference: newer than the server, or deliberately ignored.
	SeverityNote
)

// String returns "error" or "note".
func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityNote:
		return "note"
	default:
		return fmt.Sprintf("Severity(%d)", int(s))
	}
}

// Finding is one difference between our description and the server's schema.
type Finding struct {
	Severity Severity
	// Operation is "METHOD /path/ (operationId)".
	Operation string
	// Location names the item inside the operation, e.g. `query parameter "state"`
	// or "response 200 body [].limits{}"; empty for the operation itself.
	Location string
	Message  string
}

// String renders the finding on one line.
func (f Finding) String() string {
	if f.Location == "" {
		return fmt.Sprintf("%s: %s: %s", f.Severity, f.Operation, f.Message)
	}
	return fmt.Sprintf("%s: %s: %s: %s", f.Severity, f.Operation, f.Location, f.Message)
}

// Report is the outcome of Compare.
type Report struct {
	// ServerVersion is the server schema's info.version.
	ServerVersion string
	// Operations counts the operations of ours that were compared.
	Operations int
	Findings   []Finding
}

// Errors counts findings of SeverityError.
func (r Report) Errors() int { return r.count(SeverityError) }

// Notes counts findings of SeverityNote.
func (r Report) Notes() int { return r.count(SeverityNote) }

func (r Report) count(s Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == s {
			n++
		}
	}
	return n
}
