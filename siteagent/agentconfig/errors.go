package agentconfig

import (
	"fmt"
	"strings"
)

// Error is a problem with one setting of a configuration source. Every
// error about the content of a source is an *Error, so a program can point
// at the line (errors.As). Messages never contain tokens or secrets.
type Error struct {
	// Source is the file name, "environment" for FromEnv and ApplyEnv, or ""
	// for a YAML reader.
	Source string
	// Line is the 1-based line in the YAML source; 0 when not known.
	Line int
	// Key names the setting: an environment variable, or a YAML path such
	// as "offerings[0].waldur_offering_uuid". It may be "" for a problem with
	// the document as a whole.
	Key string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("agentconfig: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Warning is a setting that was read but is not applied, or not known,
// returned with the result so the program decides how to report it.
type Warning struct {
	Line int    // 1-based line in the YAML source
	Key  string // e.g. "offerings[1].mqtt_enabled"
	Msg  string
}

// String formats the warning as "line 12: offerings[1].mqtt_enabled: ...".
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", w.Line, w.Key, w.Msg)
	}
	return w.Key + ": " + w.Msg
}
