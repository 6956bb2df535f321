package slurm

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// component is an offering component as the backend uses it.
type component struct {
	typ        string
	tres       string  // the Slurm TRES it maps to
	unitFactor float64 // Waldur unit × unitFactor = TRES-minutes
	accounting string  // usage, limit or one
	limit      *float64
}

// TRESName is the Slurm TRES a component type stands for: "gpu" is
// "gres/gpu"; any other type (cpu, mem, node, billing, gres/...) is its
// own name.
func TRESName(componentType string) string {
	if componentType == "gpu" {
		return "gres/gpu"
	}
	return componentType
}

func components(cs []agentconfig.Component) ([]component, error) {
	out := make([]component, 0, len(cs))
	for _, c := range cs {
		tres := TRESName(c.Type)
		if !tresName.MatchString(tres) {
			return nil, fmt.Errorf("slurm: backend_components.%s: %q is not a Slurm TRES name", c.Type, tres)
		}
		if c.UnitFactor <= 0 || math.IsInf(c.UnitFactor, 0) {
			return nil, fmt.Errorf("slurm: backend_components.%s: unit_factor must be positive", c.Type)
		}
		out = append(out, component{typ: c.Type, tres: tres, unitFactor: c.UnitFactor,
			accounting: c.AccountingType, limit: c.Limit})
	}
	return out, nil
}

// limited reports whether Waldur's limits of the component are Slurm
// limits: limit-based and prepaid components.
func (c component) limited() bool { return c.accounting == "limit" || c.accounting == "one" }

// grpTRESMins turns Waldur limits into GrpTRESMins: a limit-based
// component's limit × unit_factor; a prepaid ("one") one's also × the
// months of the term; a usage-based one's configured limit, if any, ×
// unit_factor. Components without a limit are absent.
func grpTRESMins(cs []component, limits map[string]int64, months int) map[string]int64 {
	out := make(map[string]int64)
	for _, c := range cs {
		switch {
		case c.limited():
			v, ok := limits[c.typ]
			if !ok {
				continue
			}
			mins := float64(v) * c.unitFactor
			if c.accounting == "one" {
				mins *= float64(months)
			}
			out[c.tres] = int64(math.Round(mins))
		case c.limit != nil:
			out[c.tres] = int64(math.Round(*c.limit * c.unitFactor))
		}
	}
	return out
}

// waldurLimits turns GrpTRESMins back into Waldur limits of limit-based
// and prepaid components; nil when Slurm holds none of them.
func waldurLimits(cs []component, grp map[string]int64, months int) map[string]int64 {
	var out map[string]int64
	for _, c := range cs {
		mins, ok := grp[c.tres]
		if !c.limited() || !ok || mins < 0 {
			continue
		}
		div := c.unitFactor
		if c.accounting == "one" {
			div *= float64(months)
		}
		if out == nil {
			out = make(map[string]int64)
		}
		out[c.typ] = int64(math.Round(float64(mins) / div))
	}
	return out
}

// tresArg formats TRES limits as sacctmgr takes them, sorted:
// "cpu=600,mem=1000".
func tresArg(m map[string]int64) string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatInt(m[k], 10)
	}
	return strings.Join(parts, ",")
}

// termMonths is the length of a prepaid resource's term in whole months,
// counted as Waldur counts them: from its creation to its end date, a
// started month counting in full; 1 without an end date.
func termMonths(r *waldur.Resource) int {
	if r == nil || r.EndDate == nil || r.Created.IsZero() {
		return 1
	}
	c, e := r.Created, r.EndDate.Time
	months := (e.Year()-c.Year())*12 + int(e.Month()-c.Month())
	if e.Day() > c.Day() {
		months++
	}
	return max(1, months)
}

// monthStart is the first instant of t's month in t's location.
func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}
